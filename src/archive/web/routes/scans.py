"""The archivist's pages: upload scans (drag and drop several files; each file's outcome: filed
to whom, waiting for review, duplicate, quarantined and why), and the review queue, where a scan
the pipeline could not place is assigned to a household and a type, or rejected with a reason."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from archive.errors import ArchiveError
from archive.household_keys import household_for_key, keys_for
from archive.household_list import find_households
from archive.roster.households import get_household
from archive.scans.identify import TYPE_TITLES
from archive.scans.ingest import STATUS_ZH
from archive.scans.review import (
    proposed_household,
    review_accept,
    review_assign,
    review_list,
    review_reject,
)
from archive.web import views
from archive.web.routing import Ctx, guarded
from archive.web.uploads import ingest_uploads

OUTCOME_CLASS = {"filed": "ok", "linked": "ok", "review": "wait", "duplicate": "same"}


def _outcomes(ctx: Ctx, records) -> list[dict]:
    households = [r.household for r in records if r.household]
    keys = keys_for(ctx.home.db, households)
    names = {h: get_household(ctx.home.db, h).head_name for h in set(households)}
    return [{"name": r.source.replace("\\", "/").rsplit("/", 1)[-1].split("-", 1)[-1], "status": r.status,
             "status_title": STATUS_ZH.get(r.status, r.status), "css": OUTCOME_CLASS.get(r.status, "bad"),
             "household": names.get(r.household or ""), "key": keys.get(r.household or ""),
             "type": TYPE_TITLES.get(r.type or "", "未识别类型" if r.type == "scan" else (r.type or "")), "doc_id": r.doc_id, "reason": r.reason,
             "pages": r.pages} for r in records]


@guarded("scans", "/scans")
def scans_page(ctx: Ctx) -> Response:
    return views.page(ctx.request, "scans.html", {"outcomes": [], "warning": None,
                                                  "waiting": len(review_list(ctx.home))})


@guarded("scans.upload", "/scans/upload", methods=("POST",))
def scans_upload(ctx: Ctx) -> Response:
    uploads = [item for item in (ctx.form.getlist("files") if ctx.form else [])
               if isinstance(item, UploadFile) and item.filename]
    records, warning = ingest_uploads(ctx.home, uploads)
    context = {"outcomes": _outcomes(ctx, records), "warning": warning, "waiting": len(review_list(ctx.home))}
    if ctx.request.headers.get("x-upload-rows") == "1":  # one file sent by static/upload.js
        return views.page(ctx.request, "_scan_rows.html", context)
    return views.page(ctx.request, "scans.html", context)


@guarded("review", "/review")
def review_page(ctx: Ctx) -> Response:
    items = review_list(ctx.home)
    done = ctx.request.query_params.get("done", "")
    note = "已退回。" if done == "rejected" else (f"已归入：文书 {done}。" if done else "")
    # what identification proposed (a QR code's original, an ID number's household) is preselected
    proposed = [item["proposed_household"] for item in items if item["proposed_household"]]
    keys = keys_for(ctx.home.db, proposed)
    heads = {h: get_household(ctx.home.db, h) for h in set(proposed)}
    return views.page(ctx.request, "review.html", {"items": items, "types": TYPE_TITLES, "done": note,
                                                   "keys": keys, "heads": heads})


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
    if household == proposed_household(ctx.home, doc_id):
        # the proposal confirmed: accepted as identified, a QR code's link to its original kept
        result = review_accept(ctx.home, doc_id, household, doc_type)
    else:
        result = review_assign(ctx.home, doc_id, household, doc_type)
    return RedirectResponse(f"/review?done={result['doc_id']}", status_code=303)


@guarded("review.reject", "/review/{doc_id}/reject", methods=("POST",))
def reject(ctx: Ctx) -> Response:
    reason = str((ctx.form or {}).get("reason") or "").strip()
    if not reason:
        raise ArchiveError("退回扫描件必须说明原因")
    review_reject(ctx.home, ctx.request.path_params["doc_id"], reason[:500])
    return RedirectResponse("/review?done=rejected", status_code=303)


ROUTES = [scans_page, scans_upload, review_page, review_pick, assign, reject]
