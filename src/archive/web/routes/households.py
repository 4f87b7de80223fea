"""Households: the list (village, 保障类别, status, a name or the last digits of an ID), and a
household's file: members, amount, status, documents with first-page thumbnails.

The list's filters are in its address (GET), so a list can be bookmarked and the back button
works; a typed ID number never appears in an address (see household_list)."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, RedirectResponse, Response

from archive.errors import ArchiveError
from archive.filing.export import export_households
from archive.filing.household_file import open_household_file
from archive.household_keys import household_for_key, keys_for
from archive.household_list import STATUSES, find_households
from archive.web import views
from archive.web.routing import Ctx, guarded


@guarded("household", "/households/{key}")
def household_page(ctx: Ctx) -> Response:
    key = ctx.request.path_params["key"]
    data = open_household_file(ctx.home, household_for_key(ctx.home.db, key))
    return views.page(ctx.request, "household.html", {"h": data, "key": key})


@guarded("export", "/export", methods=("POST",))
def export_chosen(ctx: Ctx) -> Response:
    """The households ticked in the list, as one PDF (卷内目录 first, bookmarks per household and
    document) for an inspection: made by the library (which audits it under the user's name) in a
    temporary folder outside the archive home, sent, then removed."""
    keys = [str(k) for k in ctx.form.getlist("household_key")] if ctx.form else []
    if not keys:
        raise ArchiveError("请先勾选要导出的家庭", hint="在「家庭」列表中勾选一户或几户，再点「导出所选家庭」")
    if len(keys) > EXPORT_MAX:
        raise ArchiveError(f"一次最多导出 {EXPORT_MAX} 户（本次 {len(keys)} 户）", hint="请分几次导出")
    households = list(dict.fromkeys(household_for_key(ctx.home.db, key) for key in keys))
    folder = Path(tempfile.mkdtemp(prefix="archive-export-"))
    out = folder / f"调阅导出-{len(households)}户.pdf"
    try:
        export_households(ctx.home, households, out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(out, media_type="application/pdf", filename=out.name,
                        background=BackgroundTask(shutil.rmtree, folder, True))


EXPORT_MAX = 50
PAGE_SIZE = 50
CATEGORIES = ("低保", "特困", "临时救助", "低保边缘")
FIELDS = ("q", "village", "category", "status", "page")
# more digits than the last six of an ID may be (most of) an ID number: never in an address
_LONG_DIGITS = re.compile(r"\d{7,}")


def _listing(ctx: Ctx, fields: dict[str, str]) -> dict:
    context = {"villages": ctx.home.config.villages, "categories": CATEGORIES, "statuses": STATUSES,
               "values": fields, "message": None, "listing": None, "keys": {}, "page": 1, "pages": 1,
               "by_post": bool(_LONG_DIGITS.search(fields["q"]))}
    try:
        number = max(1, int(fields["page"] or 1))
    except ValueError:
        number = 1
    try:
        listing = find_households(ctx.home, text=fields["q"], village=fields["village"] or None,
                                  category=fields["category"] or None, status=fields["status"] or None,
                                  limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        context.update(listing=listing, page=number, pages=max(1, -(-listing.total // PAGE_SIZE)),
                       keys=keys_for(ctx.home.db, [row.household for row in listing.rows]))
    except ArchiveError as exc:
        context["message"] = exc.message
    return context


def page_link(values: dict[str, str], page: int) -> str:
    """The list's address for these filters and page (never with an ID number: see _LONG_DIGITS)."""
    query = {k: v for k, v in values.items() if v and k != "page"}
    if page > 1:
        query["page"] = str(page)
    return "/households" + (f"?{urlencode(query)}" if query else "")


@guarded("households", "/households", methods=("GET", "POST"))
def household_list(ctx: Ctx) -> Response:
    """GET with the filters in the address (bookmarkable, the back button works). The search box
    is POSTed: a name or the last digits of an ID are sent on to that address; a longer run of
    digits (an ID number) is answered here, or by the household's own page (its key) when one
    household has it, so that no ID number is ever in an address."""
    if ctx.request.method == "POST":
        values = ctx.form or {}
        fields = {k: str(values.get(k) or "").strip() for k in FIELDS}
        if not _LONG_DIGITS.search(fields["q"]):
            return RedirectResponse(page_link(fields, 1), status_code=303)
        context = _listing(ctx, fields)
        listing = context["listing"]
        if listing is not None and listing.total == 1:
            return RedirectResponse(f"/households/{context['keys'][listing.rows[0].household]}", status_code=303)
        return views.page(ctx.request, "households.html", context)
    query = ctx.request.query_params
    fields = {k: str(query.get(k) or "").strip() for k in FIELDS}
    if _LONG_DIGITS.search(fields["q"]):
        fields["q"] = ""  # an ID number typed into the address itself is not searched for
        context = _listing(ctx, fields)
        context["message"] = "身份证号不能放在网址中：请在查找框中输入后点「查找」"
    else:
        context = _listing(ctx, fields)
    context["link"] = lambda page: page_link(fields, page)
    return views.page(ctx.request, "households.html", context)


ROUTES = [household_list, household_page, export_chosen]
