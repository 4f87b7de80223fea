"""Templates and responses: Jinja2 with autoescaping, Chinese dates, and every page rendered
with the user, the CSRF token and the navigation of the user's role."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.templating import Jinja2Templates

from archive.users import ROLES
from archive.web.roles import allowed

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")

STATUS_TITLES = {"active": "在保", "applicant": "申请中", "stopped": "停保", "voided": "已作废"}


def cn_date(value: object) -> str:
    """2025-07-08 (or a datetime string) as 2025年7月8日; anything else unchanged."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        match = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
        if not match:
            return value
        value = dt.date(int(match[1]), int(match[2]), int(match[3]))
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    return "" if value is None else str(value)


def highlight(snippet: str) -> Markup:
    """A search snippet with its 【matches】 as <mark>, everything else escaped."""
    text = str(escape(snippet or ""))
    text = re.sub(r"【(.*?)】", r"<mark>\1</mark>", text)
    return Markup(text)


def money(value: object) -> str:
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return ""


def _environment() -> jinja2.Environment:
    # the templates ship with the package: no check of their files' times on every page
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, auto_reload=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(cn_date=cn_date, highlight=highlight, money=money,
                       status_title=lambda s: STATUS_TITLES.get(s, s))
    return env


def _globals(request: Request) -> dict[str, Any]:
    token_factory = request.scope.get("csrftoken")
    user = request.scope.get("archive.user")
    return {
        "csrf_token": token_factory() if token_factory else "",
        "current_user": user,
        "current_township": request.scope.get("archive.township"),     # a county home (archive.county)
        "current_townships": request.scope.get("archive.townships") or [],
        "role_titles": ROLES,
        "can": (lambda name: user is not None and allowed(name, user.role)),
    }


templates = Jinja2Templates(env=_environment(), context_processors=[_globals])


def page(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context or {}, status_code=status)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


# the list a page belongs to, by the start of its address: an error page links to it
RELEVANT_LISTS = (  # (address prefix, list address, its route's name, its title)
    ("/households", "/households", "households", "家庭列表"), ("/generate", "/households", "households", "家庭列表"),
    ("/documents", "/search", "search", "检索"), ("/search", "/search", "search", "检索"),
    ("/batch", "/batch", "batch", "批量生成"), ("/roster", "/roster", "roster", "导入花名册"),
    ("/scans", "/scans", "scans", "上传扫描件"), ("/review", "/review", "review", "待分拣扫描件"),
    ("/month", "/month", "month", "本月"), ("/shelves", "/shelves", "shelves", "档案架"),
    ("/admin/settings", "/admin/settings", "admin.settings", "办公设置"),
    ("/admin/signers", "/admin/signers", "admin.signers", "印章与签名人"),
    ("/admin", "/admin/users", "admin.users", "用户管理"),
)


def _may(route: str, role: str) -> bool:
    try:
        return allowed(route, role)
    except KeyError:  # a list not (yet) in the role table
        return False


def way_back(request: Request) -> dict[str, str | None]:
    """Where an error page leads: the page the user came from (this site's own Referer, path and
    query only) and the list the failed address belongs to."""
    from urllib.parse import urlsplit

    back = None
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc == request.url.netloc and referer.path.startswith("/") \
            and not referer.path.startswith("//") and referer.path not in ("/login", request.url.path):
        back = referer.path + (f"?{referer.query}" if referer.query else "")
    path = request.url.path
    user = request.scope.get("archive.user")
    for prefix, target, route, title in RELEVANT_LISTS:
        if path == prefix or path.startswith(prefix + "/"):
            if user is None or not _may(route, user.role):
                break  # no link to a list this user may not open
            return {"back": back, "list": target, "list_title": title}
    return {"back": back, "list": None, "list_title": None}


def error(request: Request, message: str, status: int, hint: str | None = None) -> HTMLResponse | JSONResponse:
    if is_api(request):
        body: dict[str, Any] = {"error": message}
        if hint:
            body["hint"] = hint
        return JSONResponse(body, status_code=status)
    # an htmx request swaps the answer into part of the page: a fragment, not a whole page
    name = "_error.html" if request.headers.get("hx-request") == "true" else "error.html"
    return page(request, name, {"message": message, "hint": hint, "status": status, **way_back(request)}, status)
