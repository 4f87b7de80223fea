"""Build the web application for one archive home.

Middleware, outermost first:
    SecurityHeaders   CSP without inline scripts, no-store on everything but static files,
                      nosniff, no framing, a Referer only to this site (no address holds an ID
                      number; the error page links back to the page the user came from)
    BodyLimit         request bodies need a Content-Length within the route's limit
    CSRF              asgi-csrf: a signed double-submit token (cookie + form field or
                      X-CSRFToken header) on every POST; Bearer-token calls are exempt
    Sessions          Starlette's signed-cookie sessions, expiring (see auth.WebSettings)
"""

from __future__ import annotations

import os
import secrets
from contextlib import asynccontextmanager
from pathlib import Path

from asgi_csrf import asgi_csrf
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from archive.county import accounts_home
from archive.home import Home
from archive.web import csrfcompat, views
from archive.web.auth import WebSettings
from archive.web.homes import HomePool
from archive.web.routes import (
    admin,
    api,
    batch,
    documents,
    generate,
    households,
    inspection,
    jobs,
    monthfiling,
    office,
    overview,
    roster,
    scans,
    search,
    session,
    townships,
)

SECRET_NAME = "web-secret.key"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def web_secret(home: Home) -> str:
    """The key that signs session and CSRF cookies: made once, kept in secure/ (0600)."""
    from archive.signing.keys import secure_dir

    path = secure_dir(home) / SECRET_NAME
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class SecurityHeaders:
    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"
                           or static]
                headers += [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin")]
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                if self.https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)


UPLOAD_PATHS = ("/api/scans", "/scans/upload", "/roster/import")


class BodyLimit:
    """A request with a body must say its length (no chunked uploads) and stay within the
    limit: uploads (UPLOAD_PATHS) get `upload_limit`, everything else 1 MB."""

    def __init__(self, app: ASGIApp, upload_limit: int, default_limit: int = 1024 * 1024) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.default_limit = default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].startswith(UPLOAD_PATHS) else self.default_limit
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if headers.get(b"transfer-encoding") or (length is not None and not length.isdigit()):
            await _plain(send, 411, "请求需要 Content-Length")
            return
        if length is not None and int(length) > limit:
            await _plain(send, 413, f"上传内容太大：不能超过 {limit // (1024 * 1024)} MB")
            return
        await self.app(scope, receive, send)


async def _plain(send: Send, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": text.encode("utf-8")})


async def _csrf_failed(scope: Scope, send: Send, message_id) -> None:
    await _plain(send, 403, "请求缺少有效的防伪令牌（CSRF），请刷新页面后重试")


def create_app(root: Path, settings: WebSettings | None = None) -> Starlette:
    """The application serving the archive home at `root`."""
    csrfcompat.install()
    root = Path(root)
    home = accounts_home(root)
    _ = home.db  # a folder that is no archive home is said so now, not at the first request
    secret = web_secret(home)
    from archive.jobs import mark_interrupted

    mark_interrupted(home)  # jobs this server was running when it stopped: shown as interrupted
    home.close()
    settings = settings or WebSettings(root=root)
    pool = HomePool(root)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        pool.close()

    routes = [*session.ROUTES, *search.ROUTES, *households.ROUTES, *documents.ROUTES, *generate.ROUTES, *batch.ROUTES, *overview.ROUTES, *roster.ROUTES, *scans.ROUTES, *admin.ROUTES, *office.ROUTES, *api.ROUTES, *townships.ROUTES,
              *jobs.ROUTES, *monthfiling.ROUTES, *inspection.ROUTES,
              Mount("/static", app=StaticFiles(directory=views.STATIC_DIR), name="static")]
    middleware = [
        Middleware(SecurityHeaders, https=settings.https),
        Middleware(BodyLimit, upload_limit=settings.upload_limit),
        Middleware(asgi_csrf, signing_secret=secret, always_protect={"/login", "/logout"},
                   cookie_secure=settings.https, cookie_samesite="Strict", send_csrf_failed=_csrf_failed),
        Middleware(SessionMiddleware, secret_key=secret, session_cookie="archive_session",
                   max_age=settings.max_seconds, same_site="strict", https_only=settings.https),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={404: _not_found, 405: _not_allowed, Exception: _server_error})
    app.state.settings = settings
    app.state.homes = pool
    return app


async def _not_found(request: Request, exc: Exception):
    return views.error(request, "页面不存在", 404)


async def _not_allowed(request: Request, exc: Exception):
    return views.error(request, "不支持这种请求方式", 405)


async def _server_error(request: Request, exc: Exception):
    # the traceback goes to the server's log (uvicorn); the user gets a Chinese page, no details
    # (this answer is sent outside the other middleware, so it carries their headers itself)
    response = views.error(request, "服务器内部错误，请稍后再试；如果一直出现，请联系管理员", 500)
    response.headers.update({"cache-control": "no-store", "content-security-policy": CSP,
                             "x-content-type-options": "nosniff", "x-frame-options": "DENY"})
    return response
