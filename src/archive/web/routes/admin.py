"""The administrator's user page: add a user with a role, change a role, set a new password,
disable an account. The library checks and audits every change (archive.users)."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from archive.errors import ArchiveError
from archive.users import ROLES, add_user, disable_user, list_users, set_password, set_role
from archive.web import views
from archive.web.routing import Ctx, Forbidden, guarded

DONE = {"added": "已添加用户。", "role": "已修改角色。", "password": "已设置新密码；请当面或电话告知本人。",
        "disabled": "已停用：该用户的登录和 API 令牌立即失效。"}


def _field(ctx: Ctx, name: str) -> str:
    return str((ctx.form or {}).get(name) or "")


def _accounts(ctx: Ctx):
    """The accounts this administrator manages: a county's are managed by its county-wide
    administrators only (an administrator limited to one township is refused)."""
    if not ctx.user.county_wide:
        raise Forbidden(f"账号由县级管理员管理；您的账号只限{ctx.user.township}")
    return ctx.accounts


def _passwords(ctx: Ctx) -> str:
    password = _field(ctx, "password")
    if password != _field(ctx, "password2"):
        raise ArchiveError("两次输入的密码不一致")
    return password


@guarded("admin.users", "/admin/users")
def users_page(ctx: Ctx) -> Response:
    done = DONE.get(ctx.request.query_params.get("done", ""))
    return views.page(ctx.request, "admin_users.html", {"users": list_users(_accounts(ctx)), "roles": ROLES, "done": done,
                                                        "townships": ctx.request.app.state.homes.townships()})


@guarded("admin.users.add", "/admin/users", methods=("POST",))
def users_add(ctx: Ctx) -> Response:
    add_user(_accounts(ctx), _field(ctx, "name").strip(), _field(ctx, "role"), _passwords(ctx),
             _field(ctx, "township") or None)
    return RedirectResponse("/admin/users?done=added", status_code=303)


@guarded("admin.users.role", "/admin/users/{name}/role", methods=("POST",))
def users_role(ctx: Ctx) -> Response:
    set_role(_accounts(ctx), ctx.request.path_params["name"], _field(ctx, "role"))
    return RedirectResponse("/admin/users?done=role", status_code=303)


@guarded("admin.users.password", "/admin/users/{name}/password", methods=("POST",))
def users_password(ctx: Ctx) -> Response:
    set_password(_accounts(ctx), ctx.request.path_params["name"], _passwords(ctx))
    return RedirectResponse("/admin/users?done=password", status_code=303)


@guarded("admin.users.disable", "/admin/users/{name}/disable", methods=("POST",))
def users_disable(ctx: Ctx) -> Response:
    disable_user(_accounts(ctx), ctx.request.path_params["name"])
    return RedirectResponse("/admin/users?done=disabled", status_code=303)


ROUTES = [users_page, users_add, users_role, users_password, users_disable]
