"""Read-only overviews: the month dashboard (documents made, scans waiting, filing state, what is
due or overdue, materials missing by household) and the shelves (year → village → box → 件,
with 档号 and the page viewer one click away)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from starlette.responses import Response

from archive.casework.due import KIND_NAMES, due_list, select_due
from archive.dates import parse_month
from archive.errors import ArchiveError
from archive.filing.completeness import check_month
from archive.filing.month_files import month_filing
from archive.filing.overview import box_contents, boxes, month_overview, shelf_years
from archive.household_keys import keys_for
from archive.jobs import running_job
from archive.web import views
from archive.web.routing import Ctx, guarded


def _month(value: str | None) -> dt.date:
    if not value:
        return dt.date.today().replace(day=1)
    try:
        return parse_month(value)
    except ValueError as exc:
        raise ArchiveError(str(exc)) from None


DUE_PAGE = 50


@guarded("month", "/month")
def month_page(ctx: Ctx) -> Response:
    month = _month(ctx.request.query_params.get("month"))
    overview = month_overview(ctx.home, month)
    every = due_list(ctx.home, month)
    # the due list filtered by kind, village and state, and paged (GET: bookmarkable)
    query = ctx.request.query_params
    chosen = {k: query.get(k) or "" for k in ("kind", "village", "state")}
    due = select_due(ctx.home, every, kind=chosen["kind"] or None, village=chosen["village"] or None,
                     state=chosen["state"] or None)
    pages = max(1, -(-len(due) // DUE_PAGE))
    try:
        number = min(max(1, int(query.get("page") or 1)), pages)
    except ValueError:
        number = 1
    shown = due[(number - 1) * DUE_PAGE:number * DUE_PAGE]
    findings = check_month(ctx.home, month)
    keys = keys_for(ctx.home.db, [i.household for i in shown if i.household] + [f.household for f in findings])
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    key = month.strftime("%Y-%m")

    def due_link(page: int) -> str:
        params = {"month": key, **{k: v for k, v in chosen.items() if v}}
        if page > 1:
            params["page"] = str(page)
        return "/month?" + urlencode(params) + "#due"

    return views.page(ctx.request, "month.html", {
        "month": month, "o": overview, "due": shown, "due_total": len(every), "due_found": len(due),
        "due_page": number, "due_pages": pages, "due_link": due_link, "chosen": chosen,
        "villages": ctx.home.config.villages, "month_key": key,
        "findings": findings, "keys": keys, "kinds": KIND_NAMES,
        "overdue": sum(1 for i in every if i.state == "逾期"), "previous": previous.strftime("%Y-%m"),
        "following": following.strftime("%Y-%m"), "filing": month_filing(ctx.home, month),
        "filing_job": running_job(ctx.home, "file-month")})


@guarded("shelves", "/shelves")
def shelves_page(ctx: Ctx) -> Response:
    years = shelf_years(ctx.home)
    query = ctx.request.query_params
    year = None
    if query.get("year"):
        if not query["year"].isdigit():
            raise ArchiveError(f"年度应为数字：「{query['year']}」")
        year = int(query["year"])
    elif years:
        year = years[0]
    village = query.get("village") or None
    if village:
        village = ctx.home.config.require_village(village)
    found = boxes(ctx.home, year, village) if year else []
    by_village: dict[str, list] = {}
    for box in found:
        by_village.setdefault(box.village, []).append(box)
    return views.page(ctx.request, "shelves.html", {"years": years, "year": year, "village": village,
                                                    "villages": ctx.home.config.villages, "by_village": by_village})


@guarded("shelves.box", "/shelves/boxes/{box_id:int}")
def box_page(ctx: Ctx) -> Response:
    box, items = box_contents(ctx.home, ctx.request.path_params["box_id"])
    keys = keys_for(ctx.home.db, [i.household for i in items if i.household])
    return views.page(ctx.request, "box.html", {"box": box, "items": items, "keys": keys})


ROUTES = [month_page, shelves_page, box_page]
