"""The JSON API: the same objects as the CLI's --json, for a browser session or a script with
`Authorization: Bearer TOKEN`. Households are named by their opaque key, never an ID number."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from archive.documents.generate import Generator, parse_day
from archive.documents.records import generated_record
from archive.documents.types import registry
from archive.errors import ArchiveError, BadInputError
from archive.filing.household_file import open_household_file
from archive.household_keys import household_for_key
from archive.web.routes.documents import pdf_response
from archive.web.routes.search import run_search
from archive.web.routing import Ctx, guarded

UPLOAD_FOLDER = "网页上传"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def update_index(home) -> str | None:
    """Bring the full-text index up to date; a failure is a warning (reindex catches up)."""
    from archive.index.store import sync

    try:
        sync(home)
    except ArchiveError as exc:
        return f"全文索引未更新：{exc.message}"
    return None


@guarded("api.me", "/api/me")
def me(ctx: Ctx) -> Response:
    return JSONResponse(ctx.user.to_json())


@guarded("api.search", "/api/search")
def api_search(ctx: Ctx) -> Response:
    found = run_search(ctx, ctx.request.query_params)
    result, keys = found["result"], found["keys"]
    hits = [dict(hit.to_json(), household_key=keys.get(hit.household)) for hit in result.hits]
    households = [dict(found.to_json(), household_key=keys.get(found.household)) for found in result.households]
    return JSONResponse({"query": result.query, "total": result.total, "exact": result.exact, "hits": hits,
                         "households": households})


@guarded("api.household", "/api/households/{key}")
def api_household(ctx: Ctx) -> Response:
    key = ctx.request.path_params["key"]
    data = open_household_file(ctx.home, household_for_key(ctx.home.db, key))
    return JSONResponse(dict(data, key=key))


@guarded("api.documents.create", "/api/documents", methods=("POST",))
def api_generate(ctx: Ctx) -> Response:
    body = ctx.json
    if not isinstance(body, dict):
        raise ArchiveError("请求内容应为 JSON 对象：{\"type\", \"household\", \"date\", \"fields\"}")
    types = registry(ctx.home)
    try:
        kind = types.resolve(str(body.get("type") or ""), generated=True)
    except BadInputError:
        kind = None
    if kind is None or kind.scope != "household":
        raise ArchiveError(f"文书类型「{body.get('type')}」不能用此接口生成",
                           hint="可用类型：" + "、".join(f"{t.id}（{t.title}）" for t in types.generated() if t.scope == "household"))
    doc_type = kind.id
    household = body.get("household")
    if not isinstance(household, str) or not household:
        raise ArchiveError("缺少 household（户主身份证号）")
    fields = body.get("fields") or {}
    if not isinstance(fields, dict) or not all(isinstance(k, str) and isinstance(v, str | int | float)
                                               for k, v in fields.items()):
        raise ArchiveError("fields 应为「字段: 文字」的对象")
    date = body.get("date")
    day = parse_day(str(date)) if date else None
    result = Generator(ctx.home).household_document(doc_type, household, day,
                                                    {k: str(v) for k, v in fields.items()})
    warning = update_index(ctx.home)
    record = generated_record(ctx.home, result)
    if warning:
        record["warning"] = warning
    return JSONResponse(record, status_code=200 if result.reprinted else 201)


@guarded("api.documents.pdf", "/api/documents/{doc_id}/pdf")
def api_pdf(ctx: Ctx) -> Response:
    return pdf_response(ctx)


def _safe_name(name: str, index: int) -> str:
    base = _UNSAFE.sub("_", Path(name or "").name).strip(" .") or "上传文件"
    return f"{index:02d}-{base[-120:]}"


@guarded("api.scans.upload", "/api/scans", methods=("POST",))
def api_scans(ctx: Ctx) -> Response:
    """Uploaded scans go into the inbox (a folder of their own) and through the same ingest as
    the inbox: a bad file is quarantined with its reason, nothing is lost."""
    from archive.scans.ingest import Ingester

    uploads = [item for item in (ctx.form.getlist("files") if ctx.form else []) if isinstance(item, UploadFile)]
    if not uploads:
        raise ArchiveError("没有收到文件：请用 multipart/form-data 的 files 字段上传")
    home = ctx.home
    folder = home.inbox_dir / UPLOAD_FOLDER / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True)
    for index, upload in enumerate(uploads, start=1):
        target = folder / _safe_name(upload.filename or "", index)
        with open(target, "wb") as out:
            while block := upload.file.read(1 << 20):
                out.write(block)
    ingester = Ingester(home, "rapidocr", 1)
    if home.config.ocr_model_dir:  # as `archive ingest` does: the home's own OCR model folder
        ingester.model_dir = home.config.ocr_model_dir
    records = ingester.run([folder])
    try:
        folder.rmdir()  # empty once every file was filed or quarantined
    except OSError:
        pass
    warning = update_index(home)
    response = {"records": [record.to_json() for record in records]}
    if warning:
        response["warning"] = warning
    return JSONResponse(response)


ROUTES = [me, api_search, api_household, api_generate, api_pdf, api_scans]
