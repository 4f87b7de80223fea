"""The month's filing in the browser (archivist): month-end filing started as a background job,
reopening a filed month with a reason (when documents came after it was filed), and the
month's files to download: 归档文件目录, 盒脊与备考表 and 完整性报告 as PDF and XLSX, the 花名册
and 统计表 XLSX. The rules are the library's (filing/month.py, filing/month_files.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.responses import FileResponse, RedirectResponse, Response

from archive.errors import ArchiveError, ConflictError
from archive.filing.month import reopen_month
from archive.filing.month_files import month_file, month_filing
from archive.jobwork import start_file_month
from archive.page_images import document_xlsx
from archive.web.routes.jobs import started
from archive.web.routes.overview import _month
from archive.web.routing import Ctx, guarded

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _form_month(ctx: Ctx):
    return _month(str((ctx.form or {}).get("month") or "") or "-")


@guarded("month.file", "/month/file", methods=("POST",))
def file_start(ctx: Ctx) -> Response:
    month = _form_month(ctx)
    filing = month_filing(ctx.home, month)
    if not filing.can_file:  # said before anything runs: filing a closed month changes nothing
        if filing.late:
            raise ConflictError(filing.late_message.replace(
                f"archive reopen-month {filing.month} --reason 原因", "本页的「重新打开本月」（写明原因）"),
                hint="重新打开后再开始月末归档，新来的文书作为补充归档编号")
        raise ConflictError(f"{filing.month} 已归档，没有需要归档的新文书")
    return started(ctx, lambda: start_file_month(ctx.home, month))


@guarded("month.reopen", "/month/reopen", methods=("POST",))
def reopen(ctx: Ctx) -> Response:
    month = _form_month(ctx)
    reason = str((ctx.form or {}).get("reason") or "").strip()
    if not reason:
        raise ArchiveError("重新打开已归档的月份必须说明原因")
    reopen_month(ctx.home, month, reason[:500])
    return RedirectResponse(f"/month?month={month:%Y-%m}#filing", status_code=303)


@guarded("month.download", "/month/{month}/files/{name}")
def download(ctx: Ctx) -> Response:
    month = _month(ctx.request.path_params["month"])
    name = ctx.request.path_params["name"]
    content, media = month_file(ctx.home, month, name)
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    if isinstance(content, Path):
        return FileResponse(content, media_type=media, headers={"content-disposition": disposition})
    return Response(content, media_type=media, headers={"content-disposition": disposition})


@guarded("document.xlsx", "/documents/{doc_id}/xlsx")
def sheet_download(ctx: Ctx) -> Response:
    doc_id = ctx.request.path_params["doc_id"]
    path = document_xlsx(ctx.home, doc_id)
    return FileResponse(path, media_type=XLSX,
                        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(path.name)}"})


ROUTES = [file_start, reopen, download, sheet_download]
