"""The document viewer: page images (rendered once, cached), previous and next, zoom, and the
PDF to download."""

from __future__ import annotations

from starlette.responses import FileResponse, Response

from archive.errors import ArchiveError
from archive.household_keys import key_for
from archive.page_images import document_pdf, open_document, page_count, page_image
from archive.web import views
from archive.web.doctypes import is_household_type
from archive.web.routing import Ctx, guarded


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        raise ArchiveError(f"页码应为数字：「{value}」") from None


@guarded("document", "/documents/{doc_id}")
def document_page(ctx: Ctx) -> Response:
    doc_id = ctx.request.path_params["doc_id"]
    document = open_document(ctx.home, doc_id)
    pages = page_count(document.pdf) if document.pdf and document.pdf.is_file() else 0
    number = min(_page_number(ctx.request.query_params.get("page")), max(pages, 1))
    zoom = ctx.request.query_params.get("zoom") == "1"
    key = key_for(ctx.home.db, document.household) if document.household else None
    done = DONE_NOTES.get(ctx.request.query_params.get("done", ""))
    return views.page(ctx.request, "document.html", {
        "d": document, "pages": pages, "number": number, "zoom": zoom, "household_key": key, "done": done,
        "generated": document.origin == "generated" and is_household_type(ctx.home, document.type)})


DONE_NOTES = {"issued": "已签发：文号已取，文书已存入本户档案。", "reprinted": "已重印：文号不变，文件已重新生成。",
              "voided": "已作废：原件保留，作废标记的副本已生成。"}


@guarded("document.page", "/documents/{doc_id}/pages/{page:int}.png")
def page_png(ctx: Ctx) -> Response:
    size = ctx.request.query_params.get("size", "page")
    path = page_image(ctx.home, ctx.request.path_params["doc_id"], ctx.request.path_params["page"], size)
    return FileResponse(path, media_type="image/png")


def pdf_response(ctx: Ctx) -> Response:
    doc_id = ctx.request.path_params["doc_id"]
    path = document_pdf(ctx.home, doc_id)
    return FileResponse(path, media_type="application/pdf", filename=f"{doc_id}.pdf",
                        content_disposition_type="attachment")


@guarded("document.pdf", "/documents/{doc_id}/pdf")
def document_pdf_download(ctx: Ctx) -> Response:
    return pdf_response(ctx)


ROUTES = [page_png, document_pdf_download, document_page]
