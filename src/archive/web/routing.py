"""Every route goes through `guarded`: it finds the user (401 for an API call without valid
credentials, the login page for a browser), checks the role against roles.ROUTE_ROLES (403),
reads a form or JSON body, and runs the handler in a worker thread as the logged-in user, so
that every audit entry the library writes names that user. Library errors become Chinese
error pages (or JSON under /api/)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from archive.errors import ArchiveError, NotFoundError
from archive.home import Home
from archive.identity import acting_as
from archive.users import User
from archive.web import views
from archive.web.auth import WebSettings, request_user
from archive.web.roles import ROUTE_ROLES


class Forbidden(ArchiveError):
    """The user may not see this (another township's records on a county home): 403."""


@dataclass
class Ctx:
    """What a handler gets: the request, the user, the archive home of this thread, the body."""

    request: Request
    user: User
    home: Home
    form: FormData | None = None
    json: Any = None

    @property
    def settings(self) -> WebSettings:
        return self.request.app.state.settings

    @property
    def accounts(self) -> Home:
        """Where the accounts are: a county's own catalog, or the township home (archive.county)."""
        return self.request.app.state.homes.accounts()

    @property
    def township(self) -> str | None:
        """The township this request works in, on a county home; None on a township home."""
        return self.request.scope.get("archive.township")

    def townships(self) -> list[tuple[str, Home]]:
        """The townships this user may see, with this thread's home of each: every township of a
        county for a county-wide account, the user's own otherwise ([(None, home)] off a county)."""
        pool = self.request.app.state.homes
        if not pool.county:
            return [(None, self.home)]
        names = pool.townships() if self.user.county_wide else [self.user.township]
        return [(name, pool.get(name)) for name in names]


Handler = Callable[[Ctx], Response]


def _who(request: Request) -> User | None:
    app = request.app
    return request_user(request, app.state.homes.accounts(), app.state.settings)


SESSION_TOWNSHIP = "township"
# path parameters that name one township's record: a county-wide user is taken to its township
_LOCATORS = {"key": "SELECT 1 FROM household_keys WHERE key=?", "doc_id": "SELECT 1 FROM documents WHERE doc_id=?"}


def request_home(request: Request, user: User) -> Home:
    """The home a request works in. A township home: itself. A county home: the user's township
    for an account limited to one (another township's household or document is then simply not
    found); for a county-wide account the township of the household or document the address
    names, else the one picked (?township=, or the session's choice from /township), else the first."""
    pool = request.app.state.homes
    if not pool.county:
        return pool.get()
    if user.township:
        name = user.township
    else:
        names = pool.townships()
        if not names:
            raise NotFoundError("县级档案库中还没有乡镇", hint="请先运行 archive township add")
        wanted = request.query_params.get("township") or request.session.get(SESSION_TOWNSHIP)
        name = wanted if wanted in names else names[0]
        for param, sql in _LOCATORS.items():
            value = request.path_params.get(param)
            if value and pool.get(name).db.execute(sql, (value,)).fetchone() is None:
                found = next((other for other in names
                              if pool.get(other).db.execute(sql, (value,)).fetchone() is not None), None)
                name = found or name
                if found and found != request.session.get(SESSION_TOWNSHIP) and not views.is_api(request):
                    # opening another township's household or document enters that township: the
                    # household list, 本月 and 档案架 that follow show it, as the page's picker does
                    request.session[SESSION_TOWNSHIP] = name
    request.scope["archive.township"] = name
    request.scope["archive.townships"] = pool.townships() if user.county_wide else [name]
    return pool.get(name)


def unauthenticated(request: Request) -> Response:
    if views.is_api(request):
        return JSONResponse({"error": "需要登录或 API 令牌（Authorization: Bearer 令牌）"}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="archive"'})
    if request.method == "GET" and request.headers.get("hx-request") != "true":
        return RedirectResponse("/login", status_code=303)
    return views.error(request, "登录已过期，请重新登录", 401)


def guarded(name: str, path: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Handler], Route]:
    rule = ROUTE_ROLES[name]  # KeyError here: a route without a line in the role table

    def decorate(handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            user = await run_in_threadpool(_who, request)
            if user is None:
                return unauthenticated(request)
            request.scope["archive.user"] = user
            if user.role not in rule.roles:
                return views.error(request, f"{user.role_title}没有权限执行此操作", 403)
            form, body = None, None
            kind = request.headers.get("content-type", "").split(";")[0].strip()
            if request.method == "POST":
                if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
                    settings = request.app.state.settings
                    try:
                        form = await request.form(max_files=settings.upload_files, max_fields=50)
                    except Exception as exc:  # multipart errors: too many files or fields, malformed
                        detail = getattr(exc, "detail", None) or "无法解析"
                        return views.error(request, f"提交的表单有误：{detail}", 400)
                elif kind == "application/json":
                    try:
                        body = json.loads(await request.body())
                    except (ValueError, UnicodeDecodeError):
                        return views.error(request, "请求内容不是有效的 JSON", 400)
            try:
                return await run_in_threadpool(_run, handler, request, user, form, body)
            finally:
                if form is not None:
                    await form.close()

        return Route(path, endpoint, methods=list(methods), name=name)

    return decorate


def _run(handler: Handler, request: Request, user: User, form: FormData | None, body: Any) -> Response:
    with acting_as(user.name):
        try:
            home = request_home(request, user)
            return handler(Ctx(request, user, home, form, body))
        except NotFoundError as exc:
            return views.error(request, exc.message, 404, exc.hint)
        except Forbidden as exc:
            return views.error(request, exc.message, 403, exc.hint)
        except ArchiveError as exc:
            return views.error(request, exc.message, 400, exc.hint)
