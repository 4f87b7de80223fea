"""A household's file: members, amount, status, documents with first-page thumbnails."""

from __future__ import annotations

from starlette.responses import Response

from archive.filing.household_file import open_household_file
from archive.household_keys import household_for_key
from archive.web import views
from archive.web.routing import Ctx, guarded


@guarded("household", "/households/{key}")
def household_page(ctx: Ctx) -> Response:
    key = ctx.request.path_params["key"]
    data = open_household_file(ctx.home, household_for_key(ctx.home.db, key))
    return views.page(ctx.request, "household.html", {"h": data, "key": key})


ROUTES = [household_page]
