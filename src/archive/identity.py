"""Who is acting: the seam through which audit entries name the user.

The library writes every audit entry with `home.operator`. A command-line run acts as the
operator from ARCHIVE_OPERATOR or config `operator` (falling back to the OS login); the web
application wraps each request in `acting_as(user)`, so every entry written while handling it
names the logged-in user. A context variable, so concurrent requests in threads or tasks never
see each other's user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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
