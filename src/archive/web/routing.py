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


Handler = Callable[[Ctx], Response]


def _who(request: Request) -> User | None:
    app = request.app
    return request_user(request, app.state.homes.get(), app.state.settings)


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
    home = request.app.state.homes.get()
    with acting_as(user.name):
        try:
            return handler(Ctx(request, user, home, form, body))
        except NotFoundError as exc:
            return views.error(request, exc.message, 404, exc.hint)
        except ArchiveError as exc:
            return views.error(request, exc.message, 400, exc.hint)
