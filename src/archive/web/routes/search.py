"""The search page: the CLI's filters, results grouped by household with highlighted snippets
and where the paper is. The query is sent by POST so that an ID number typed into the box
never appears in a web address (history, proxy logs)."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from archive.county import search_homes
from archive.errors import ArchiveError, NotFoundError
from archive.household_keys import household_for_key, keys_for
from archive.roster.households import get_household
from archive.search.engine import TYPE_TITLES, search
from archive.web import views
from archive.web.routing import Ctx, Forbidden, guarded

CATEGORIES = ("低保", "特困", "临时救助", "低保边缘")
LIMITS = (20, 50, 100)


@guarded("home", "/")
def home(ctx: Ctx) -> Response:
    return RedirectResponse("/search", status_code=303)


def _int(value: object, name: str) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ArchiveError(f"{name}应为数字：「{text}」")
    return int(text)


def run_search(ctx: Ctx, values) -> dict:
    """Run the library's search with the form's (or query string's) filters. On a county home the
    search covers the townships the user may see (archive.county.search_homes; `township` narrows
    it to one), and each hit names its township."""
    get = values.get
    homes = _search_homes(ctx, str(get("township") or "").strip())
    household = None
    if get("household_key"):
        key = str(get("household_key"))
        owner = [(name, home) for name, home in homes if home.db.execute(
            "SELECT 1 FROM household_keys WHERE key=?", (key,)).fetchone()]
        homes = owner or homes[:1]
        household = household_for_key(homes[0][1].db, key)
    limit = _int(get("limit"), "显示条数") or 20
    filters = dict(village=get("village") or None, doc_type=get("type") or None, category=get("category") or None,
                   year=_int(get("year"), "年度"), month=get("month") or None, household=household,
                   limit=max(1, min(limit, 200)))
    text = str(get("q") or "").strip()[:200]
    if homes[0][0] is None:  # a township home
        result = search(ctx.home, text, **filters)
    else:
        result = search_homes(homes, text, **filters)
    keys: dict[str, str] = {}
    for name, home in homes:
        keys.update(keys_for(home.db, [hit.household for hit in result.hits if hit.household and hit.township == name]
                             + [found.household for found in result.households if found.township == name]))
    return {"result": result, "groups": result.groups(), "keys": keys}


def _search_homes(ctx: Ctx, township: str) -> list:
    """(township, home) to search: a township home alone; on a county the visible townships, or
    the one asked for (an account limited to one township is refused any other)."""
    homes = ctx.townships()
    if not township or homes[0][0] is None:
        return homes
    chosen = [(name, home) for name, home in homes if name == township]
    if not chosen:
        if township in ctx.request.app.state.homes.townships():
            raise Forbidden(f"您的账号只能查看{ctx.user.township}")
        raise NotFoundError(f"没有乡镇「{township}」")
    return chosen


def household_name(conn, household_id: str) -> str:
    household = get_household(conn, household_id)
    return f"{household.head_name}户（{household.village}）"


def _form_context(ctx: Ctx, values) -> dict:
    visible = [name for name, _ in ctx.townships() if name]
    villages = ctx.home.config.villages if len(visible) < 2 else list(dict.fromkeys(
        village for _, home in ctx.townships() for village in home.config.villages))
    return {"villages": villages, "types": TYPE_TITLES, "categories": CATEGORIES,
            "limits": LIMITS, "townships": visible if len(visible) > 1 else [],
            "values": {k: values.get(k) or "" for k in
                       ("q", "village", "type", "category", "year", "month", "limit", "household_key", "township")}}


@guarded("search", "/search", methods=("GET", "POST"))
def search_page(ctx: Ctx) -> Response:
    values = ctx.form if ctx.form is not None else {}
    context = _form_context(ctx, values)
    context.update(searched=False, message=None)
    context["only"] = None
    if ctx.request.method == "POST":
        try:
            context.update(run_search(ctx, values), searched=True)
            if values.get("household_key"):  # searching within one household's file
                household = household_for_key(ctx.home.db, str(values.get("household_key")))
                context["only"] = household_name(ctx.home.db, household)
        except ArchiveError as exc:
            context.update(message=exc.message)
    if ctx.request.headers.get("hx-request") == "true":
        return views.page(ctx.request, "_search_results.html", context)
    return views.page(ctx.request, "search.html", context)


ROUTES = [home, search_page]
