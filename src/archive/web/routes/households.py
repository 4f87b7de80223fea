"""Households: the list (village, 保障类别, status, a name or the last digits of an ID), and a
household's file: members, amount, status, documents with first-page thumbnails.

The list's filters are sent by POST (htmx), like the search: a typed ID number never appears
in a web address."""

from __future__ import annotations

from starlette.responses import Response

from archive.errors import ArchiveError
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


PAGE_SIZE = 50
CATEGORIES = ("低保", "特困", "临时救助", "低保边缘")


@guarded("households", "/households", methods=("GET", "POST"))
def household_list(ctx: Ctx) -> Response:
    values = ctx.form if ctx.form is not None else {}
    fields = {k: str(values.get(k) or "") for k in ("q", "village", "category", "status", "page")}
    context = {"villages": ctx.home.config.villages, "categories": CATEGORIES, "statuses": STATUSES,
               "values": fields, "message": None, "listing": None, "keys": {}}
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
    if ctx.request.headers.get("hx-request") == "true":
        return views.page(ctx.request, "_household_rows.html", context)
    return views.page(ctx.request, "households.html", context)


ROUTES = [household_list, household_page]
