"""Import a roster file in the browser: the file is checked by the library's importer, which
imports nothing unless every row is clean; its problems are shown as a table (row, column,
reason, how to fix). The upload is kept only in a private temporary folder while it is read."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.responses import Response

from archive.errors import ArchiveError, RosterError
from archive.roster.importer import import_roster
from archive.web import views
from archive.web.routing import Ctx, guarded
from archive.web.uploads import update_index

SUFFIXES = (".xlsx", ".csv", ".yaml", ".yml", ".json")
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def _file_name(upload: UploadFile) -> str:
    name = _UNSAFE.sub("_", Path(upload.filename or "").name).strip(" .") or "花名册"
    if Path(name).suffix.lower() not in SUFFIXES:
        raise ArchiveError(f"不支持的花名册格式：「{name}」", hint="请上传 .xlsx 或 .csv 文件（旧版 .xls 请先另存为 .xlsx）")
    return name[-120:]


@guarded("roster", "/roster")
def roster_page(ctx: Ctx) -> Response:
    return views.page(ctx.request, "roster.html", {"result": None, "problems": None, "summary": None, "file": None})


@guarded("roster.import", "/roster/import", methods=("POST",))
def roster_import(ctx: Ctx) -> Response:
    upload = (ctx.form or {}).get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ArchiveError("请选择要导入的花名册文件")
    name = _file_name(upload)
    context = {"result": None, "problems": None, "summary": None, "file": name}
    with tempfile.TemporaryDirectory(prefix="archive-roster-") as folder:
        path = Path(folder) / name
        with open(path, "wb") as out:
            while block := upload.file.read(1 << 20):
                out.write(block)
        try:
            result = import_roster(ctx.home.db, path, ctx.home.config, ctx.home.operator)
        except RosterError as exc:
            context.update(problems=exc.problems, summary=exc.summary)
            return views.page(ctx.request, "roster.html", context, 400)
    warning = update_index(ctx.home)
    context.update(result=result, warning=warning)
    return views.page(ctx.request, "roster.html", context)


ROUTES = [roster_page, roster_import]
