"""Who is acting: the seam through which audit entries name the user.

The library writes every audit entry with `home.operator`. A command-line run acts as the
operator from ARCHIVE_OPERATOR or config `operator` (falling back to the OS login); the web
application wraps each request in `acting_as(user)`, so every entry written while handling it
names the logged-in user. A context variable, so concurrent requests in threads or tasks never
see each other's user."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from archive.errors import BadInputError

OPERATOR_NAME_MAX = 30

_acting: ContextVar[str | None] = ContextVar("archive_acting_user", default=None)


def acting_user() -> str | None:
    """The user set by `acting_as` in this context, or None."""
    return _acting.get()


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Run a block as `name`: audit entries written inside it name this user."""
    if not name:
        raise ValueError("acting_as needs a user name")
    token = _acting.set(name)
    try:
        yield
    finally:
        _acting.reset(token)


def check_operator_name(raw: str) -> str:
    """An operator's name as printed on forms (整理人 on the 备考表) and named in the audit log:
    stripped, not empty, no control or invisible characters, at most OPERATOR_NAME_MAX characters."""
    name = (raw or "").strip()
    if not name:
        raise BadInputError("整理人（操作员）姓名不能为空", hint="请用 --operator 姓名 指定，例如 --operator 王敏")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise BadInputError(f"整理人（操作员）姓名「{name!r}」含有控制字符或不可见字符")
    if len(name) > OPERATOR_NAME_MAX:
        raise BadInputError(f"整理人（操作员）姓名过长（{len(name)} 个字，最多 {OPERATOR_NAME_MAX} 个）")
    return name
