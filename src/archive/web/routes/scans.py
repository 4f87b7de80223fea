"""The archivist's pages: upload scans (drag and drop several files; each file's outcome: filed
to whom, waiting for review, duplicate, quarantined and why), and the review queue, where a scan
the pipeline could not place is assigned to a household and a type, or rejected with a reason."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, RedirectResponse, Response

from archive.errors import ArchiveError, NotFoundError
from archive.household_keys import household_for_key, keys_for
from archive.household_list import find_households
from archive.jobs import get_job
from archive.jobwork import start_ingest
from archive.roster.households import get_household
from archive.scans.identify import TYPE_TITLES
from archive.scans.ingest import STATUS_ZH
from archive.scans.review import (
    REVIEW_EDITABLE,
    review_file,
    review_list,
    review_reject,
    review_show,
)
from archive.web import views
from archive.web.routes.jobs import started
from archive.web.routing import Ctx, guarded
from archive.web.uploads import batch_folder, new_batch, save_upload

KEPT = "上传的文件已存入收件箱，不会丢失，下次导入时一并处理"
OUTCOME_CLASS = {"filed": "ok", "linked": "ok", "review": "wait", "duplicate": "same"}


def outcomes(ctx: Ctx, records: list[dict]) -> list[dict]:
    """Each file's outcome row from ingest records (as JSON: an ingest job keeps them so)."""
    households = [r["household"] for r in records if r.get("household")]
    keys = keys_for(ctx.home.db, households)
    names = {h: get_household(ctx.home.db, h).head_name for h in set(households)}
    rows = []
    for r in records:
        saved = r["source"].replace("\\", "/").rsplit("/", 1)[-1]
        kind = r.get("type") or ""
        rows.append({"name": saved.split("-", 1)[-1], "saved": saved, "status": r["status"],
                     "status_title": STATUS_ZH.get(r["status"], r["status"]), "css": OUTCOME_CLASS.get(r["status"], "bad"),
                     "household": names.get(r.get("household") or ""), "key": keys.get(r.get("household") or ""),
                     "type": TYPE_TITLES.get(kind, "未识别类型" if kind == "scan" else kind), "doc_id": r.get("doc_id"),
                     "reason": r.get("reason") or "", "pages": r.get("pages") or 0})
    return rows


@guarded("scans", "/scans")
def scans_page(ctx: Ctx) -> Response:
    return views.page(ctx.request, "scans.html", {"outcomes": [], "warning": None,
                                                  "waiting": len(review_list(ctx.home))})


@guarded("scans.upload", "/scans/upload", methods=("POST",))
def scans_upload(ctx: Ctx) -> Response:
    """The files are written into a folder of the inbox and ingested by a background job, whose
    page shows each file's progress and outcome. static/upload.js sends one file per request
    (header X-Upload-Batch: the folder, empty for the first file), then starts the job itself
    (scans.ingest)."""
    uploads = [item for item in (ctx.form.getlist("files") if ctx.form else [])
               if isinstance(item, UploadFile) and item.filename]
    if not uploads:
        raise ArchiveError("没有收到文件：请选择或拖入扫描件")
    staged = ctx.request.headers.get("x-upload-batch")
    if staged is not None:  # one file from static/upload.js: kept until the job is started
        folder = batch_folder(ctx.home, staged) if staged else new_batch(ctx.home)
        return JSONResponse({"batch": folder.name, "saved": [save_upload(folder, u) for u in uploads]})
    folder = new_batch(ctx.home)
    names = [save_upload(folder, upload) for upload in uploads]
    return started(ctx, lambda: start_ingest(ctx.home, folder, names), KEPT)


@guarded("scans.ingest", "/scans/ingest", methods=("POST",))
def scans_ingest(ctx: Ctx) -> Response:
    """Ingest the files static/upload.js sent (one folder) as a background job."""
    folder = batch_folder(ctx.home, str((ctx.form or {}).get("batch") or ""))
    names = sorted(path.name for path in folder.iterdir())
    return started(ctx, lambda: start_ingest(ctx.home, folder, names), KEPT)


@guarded("job.rows", "/jobs/{job_id:int}/rows")
def job_rows(ctx: Ctx) -> Response:
    """The outcome rows of an ingest job, as the upload page shows them."""
    job = get_job(ctx.home, ctx.request.path_params["job_id"])
    if job.kind != "ingest":
        raise NotFoundError("这项任务不是导入扫描件")
    return views.page(ctx.request, "_scan_rows.html", {"outcomes": outcomes(ctx, job.result.get("records", []))})


@guarded("review", "/review")
def review_page(ctx: Ctx) -> Response:
    items = review_list(ctx.home)
    done = ctx.request.query_params.get("done", "")
    note = "已退回。" if done == "rejected" else (f"已归入：文书 {done}。" if done else "")
    if done and ctx.request.query_params.get("late") == "1":  # the library's warning (review_assign)
        note += "注意：这份文书的月份已归档，它已登记但未归档；请在「本月」页面重新打开该月（写明原因）后补充归档。"
    # what identification proposed (a QR code's original, an ID number's household) is preselected
    proposed = [item["proposed_household"] for item in items if item["proposed_household"]]
    keys = keys_for(ctx.home.db, proposed)
    heads = {h: get_household(ctx.home.db, h) for h in set(proposed)}
    # the lines read with low confidence, marked, each to be corrected in place (handwriting)
    uncertain = {item["doc_id"]: review_show(ctx.home, item["doc_id"])["uncertain_lines"] for item in items}
    return views.page(ctx.request, "review.html", {"items": items, "types": TYPE_TITLES, "done": note,
                                                   "keys": keys, "heads": heads, "uncertain": uncertain,
                                                   "editable": REVIEW_EDITABLE})


@guarded("review.pick", "/review/pick", methods=("POST",))
def review_pick(ctx: Ctx) -> Response:
    """Households matching a name or the last digits of an ID, as choices (POST: an ID typed
    into the box never goes into an address)."""
    text = str((ctx.form or {}).get("q") or "").strip()
    listing = find_households(ctx.home, text=text, limit=10) if text else None
    rows = listing.rows if listing else []
    keys = keys_for(ctx.home.db, [row.household for row in rows])
    return views.page(ctx.request, "_review_pick.html", {
        "rows": rows, "keys": keys, "text": text, "doc_id": str((ctx.form or {}).get("doc_id") or ""),
        "total": listing.total if listing else 0})


@guarded("review.assign", "/review/{doc_id}/assign", methods=("POST",))
def assign(ctx: Ctx) -> Response:
    form = ctx.form or {}
    key = str(form.get("household_key") or "")
    if not key:
        raise ArchiveError("请先选择这份扫描件属于哪一户", hint="在「查找家庭」中输入户主姓名或身份证号后几位，再选中一户")
    doc_type = str(form.get("type") or "") or None
    doc_id = ctx.request.path_params["doc_id"]
    household = household_for_key(ctx.home.db, key)
    # corrected lines (fields fix-PAGE-LINE); the proposal confirmed is accepted as identified,
    # a QR code's link to its original kept
    fixes = []
    for name, value in (ctx.form.multi_items() if ctx.form else []):
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "fix" and parts[1].isdigit() and parts[2].isdigit():
            fixes.append((int(parts[1]), int(parts[2]), str(value).strip()))
    result = review_file(ctx.home, doc_id, household, doc_type, fixes)
    late = "&late=1" if result.get("warning") else ""
    return RedirectResponse(f"/review?done={result['doc_id']}{late}", status_code=303)


@guarded("review.reject", "/review/{doc_id}/reject", methods=("POST",))
def reject(ctx: Ctx) -> Response:
    reason = str((ctx.form or {}).get("reason") or "").strip()
    if not reason:
        raise ArchiveError("退回扫描件必须说明原因")
    review_reject(ctx.home, ctx.request.path_params["doc_id"], reason[:500])
    return RedirectResponse("/review?done=rejected", status_code=303)


ROUTES = [scans_page, scans_upload, scans_ingest, job_rows, review_page, review_pick, assign, reject]
