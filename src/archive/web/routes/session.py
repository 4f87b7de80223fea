"""Login and logout. Failed logins are slowed down per user name and per client address."""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from archive.users import AuthError, authenticate
from archive.web import views
from archive.web.auth import SESSION_USER, client_address, end_session, start_session


def _authenticate(homes, name: str, password: str):
    # in the worker thread, with that thread's home: a SQLite connection belongs to its thread
    return authenticate(homes.accounts(), name, password)


async def login(request: Request) -> Response:
    if request.method == "GET":
        if request.session.get(SESSION_USER):
            return RedirectResponse("/", status_code=303)  # the guarded page checks the session
        return views.page(request, "login.html", {"message": None, "name": ""})
    settings = request.app.state.settings
    form = await request.form(max_files=0, max_fields=5)
    name = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")[:256]
    keys = ("user:" + name, "ip:" + client_address(request))
    wait = settings.throttle.wait_seconds(*keys)
    if wait > 0:
        return views.page(request, "login.html", {
            "message": f"登录失败次数过多，请 {math.ceil(wait)} 秒后再试", "name": name}, 429)
    if not name or not password:
        return views.page(request, "login.html", {"message": "请输入用户名和密码", "name": name}, 400)
    try:
        user = await run_in_threadpool(_authenticate, request.app.state.homes, name, password)
    except AuthError as exc:
        settings.throttle.failed(*keys)
        return views.page(request, "login.html", {"message": exc.message, "name": name}, 401)
    settings.throttle.succeeded(keys[0])
    start_session(request, user)
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    end_session(request)
    return RedirectResponse("/login", status_code=303)


ROUTES = [
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
