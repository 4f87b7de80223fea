"""Who is asking: a browser session (signed cookie, expiring) or an API token
(`Authorization: Bearer …`). A request that carries an Authorization header is judged by it
alone, never by a cookie that happens to come along."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from starlette.requests import Request

from archive.home import Home
from archive.users import LoginThrottle, User, active_user, user_for_token

SESSION_USER = "user"
SESSION_START = "since"
SESSION_SEEN = "seen"


@dataclass
class WebSettings:
    """What the application needs to know, set once when it is built."""

    root: object                       # the archive home's folder (Path)
    idle_seconds: int = 30 * 60        # a session ends after 30 minutes without a request
    max_seconds: int = 10 * 3600       # and after 10 hours whatever happens
    upload_limit: int = 100 * 1024 * 1024
    upload_files: int = 20
    https: bool = False
    throttle: LoginThrottle = field(default_factory=LoginThrottle)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def bearer_token(request: Request) -> str | None:
    """The token of an Authorization header ('' for a malformed one), None without the header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def request_user(request: Request, home: Home, settings: WebSettings) -> User | None:
    token = bearer_token(request)
    if token is not None:
        return user_for_token(home, token) if token else None
    session = request.session
    name = session.get(SESSION_USER)
    if not name:
        return None
    now = time.time()
    since, seen = session.get(SESSION_START, 0), session.get(SESSION_SEEN, 0)
    if now - seen > settings.idle_seconds or now - since > settings.max_seconds:
        session.clear()
        return None
    user = active_user(home, name)
    if user is None:  # disabled or removed since login
        session.clear()
        return None
    if now - seen > 30:
        session[SESSION_SEEN] = now
    return user


def start_session(request: Request, user: User) -> None:
    now = time.time()
    request.session.clear()
    request.session.update({SESSION_USER: user.name, SESSION_START: now, SESSION_SEEN: now})


def end_session(request: Request) -> None:
    request.session.clear()
