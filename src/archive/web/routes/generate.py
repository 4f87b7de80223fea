"""Generate a document in the browser: choose the type by its Chinese name, fill the form built
from the template's own fields (each problem shown beside its field), preview a draft marked 样稿
(no 文号 taken, nothing recorded), and issue it, which takes the 文号. Reprint and void (with a
reason) from the document page.

The household is named by its opaque key; the library does the rest as the logged-in user."""

from __future__ import annotations

import datetime as dt

from starlette.responses import FileResponse, RedirectResponse, Response

from archive.documents.fieldcheck import field_problems
from archive.documents.generate import Generator, parse_day
from archive.errors import ArchiveError, NotFoundError
from archive.household_keys import household_for_key
from archive.previews import keep_preview, preview_image, preview_pdf
from archive.roster.households import get_household
from archive.web import views
from archive.web.doctypes import _template, document_type, household_types
from archive.web.routing import Ctx, guarded
from archive.web.uploads import update_index

FIELD_PREFIX = "f."


def _household(ctx: Ctx, key: str):
    return get_household(ctx.home.db, household_for_key(ctx.home.db, key))


def _values(ctx: Ctx, names: tuple[str, ...]) -> dict[str, str]:
    form = ctx.form or {}
    return {name: str(form.get(FIELD_PREFIX + name) or "").strip() for name in names}


def _form_context(ctx: Ctx, key: str, type_id: str, values: dict[str, str] | None = None,
                  day: str = "", problems: dict[str, str] | None = None) -> dict:
    household = _household(ctx, key) if key else None
    chosen = document_type(ctx.home, type_id) if type_id else None
    return {"types": household_types(ctx.home), "household": household, "key": key, "chosen": chosen,
            "values": values or {}, "day": day or dt.date.today().isoformat(), "problems": problems or {},
            "prefix": FIELD_PREFIX, "message": None, "token": None, "pages": 0}


@guarded("generate", "/generate")
def generate_page(ctx: Ctx) -> Response:
    query = ctx.request.query_params
    context = _form_context(ctx, query.get("household", ""), query.get("type", ""))
    return views.page(ctx.request, "generate.html", context)


def _checked(ctx: Ctx) -> tuple[dict, dict[str, str], dt.date | None]:
    """The submitted form read and checked: (page context, field values, date)."""
    form = ctx.form or {}
    key, type_id = str(form.get("household_key") or ""), str(form.get("type") or "")
    if not key:
        raise ArchiveError("请先选择家庭")
    if not type_id:
        raise ArchiveError("请选择文书类型")
    chosen = document_type(ctx.home, type_id)
    values = _values(ctx, chosen.field_names)
    day_text = str(form.get("date") or "").strip()
    problems = field_problems(_template(ctx.home, type_id), {k: v for k, v in values.items() if v})
    day = None
    try:
        day = parse_day(day_text) if day_text else None
    except ArchiveError as exc:
        problems["date"] = exc.message
    context = _form_context(ctx, key, type_id, values, day_text, problems)
    return context, values, day


def _form_again(ctx: Ctx, context: dict, status: int = 400, message: str | None = None) -> Response:
    context["message"] = message or "表单中有需要改正的内容，请看各项旁边的说明"
    template = "_generate_form.html" if ctx.request.headers.get("hx-request") == "true" else "generate.html"
    return views.page(ctx.request, template, context, status)


def _said(exc: ArchiveError) -> str:
    return f"{exc.message}（{exc.hint}）" if exc.hint else exc.message


@guarded("generate.preview", "/generate/preview", methods=("POST",))
def preview(ctx: Ctx) -> Response:
    context, values, day = _checked(ctx)
    if context["problems"]:
        return _form_again(ctx, context)
    household, chosen = context["household"], context["chosen"]
    try:  # the library's one check for the draft and the issue (Generator.check_household_document)
        pdf, pages = Generator(ctx.home).household_preview(chosen.id, household.id, day,
                                                           {k: v for k, v in values.items() if v})
    except NotFoundError:
        raise
    except ArchiveError as exc:
        return _form_again(ctx, context, message=_said(exc))
    token = keep_preview(ctx.home, ctx.user.name, pdf)
    context.update(token=token, pages=pages)
    template = "_generate_form.html" if ctx.request.headers.get("hx-request") == "true" else "generate.html"
    return views.page(ctx.request, template, context)


@guarded("generate.preview.page", "/generate/previews/{token}/{page:int}.png")
def preview_png(ctx: Ctx) -> Response:
    params = ctx.request.path_params
    size = ctx.request.query_params.get("size", "page")
    return FileResponse(preview_image(ctx.home, ctx.user.name, params["token"], params["page"], size),
                        media_type="image/png")


@guarded("generate.preview.pdf", "/generate/previews/{token}.pdf")
def preview_download(ctx: Ctx) -> Response:
    path = preview_pdf(ctx.home, ctx.user.name, ctx.request.path_params["token"])
    return FileResponse(path, media_type="application/pdf", filename="样稿.pdf", content_disposition_type="inline")


@guarded("generate.issue", "/generate/issue", methods=("POST",))
def issue(ctx: Ctx) -> Response:
    context, values, day = _checked(ctx)
    if context["problems"]:
        return _form_again(ctx, context)
    try:
        result = Generator(ctx.home).household_document(context["chosen"].id, context["household"].id, day,
                                                        {k: v for k, v in values.items() if v})
    except NotFoundError:
        raise
    except ArchiveError as exc:
        return _form_again(ctx, context, message=_said(exc))
    update_index(ctx.home)  # a failure only delays search (reindex catches up); the document stands
    note = "reprinted" if result.reprinted else "issued"
    return RedirectResponse(f"/documents/{result.doc_id}?done={note}", status_code=303)


@guarded("document.reprint", "/documents/{doc_id}/reprint", methods=("POST",))
def reprint(ctx: Ctx) -> Response:
    result = Generator(ctx.home).reprint(ctx.request.path_params["doc_id"])
    return RedirectResponse(f"/documents/{result.doc_id}?done=reprinted", status_code=303)


@guarded("document.void", "/documents/{doc_id}/void", methods=("POST",))
def void(ctx: Ctx) -> Response:
    reason = str((ctx.form or {}).get("reason") or "").strip()
    if not reason:
        raise ArchiveError("作废文书必须说明原因", hint="在「作废原因」中写明为什么作废")
    result = Generator(ctx.home).void(ctx.request.path_params["doc_id"], reason[:500])
    update_index(ctx.home)
    return RedirectResponse(f"/documents/{result.doc_id}?done=voided", status_code=303)


ROUTES = [generate_page, preview, preview_png, preview_download, issue, reprint, void]
