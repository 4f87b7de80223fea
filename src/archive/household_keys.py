"""Opaque household keys: the web application names a household by a random key, never by
the head's ID number (an ID number in a web address ends up in browser history, proxy logs
and Referer headers). Keys are made once per household and kept in the catalog."""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Iterable

from archive.catalog import transaction
from archive.errors import NotFoundError

_KEY = re.compile(r"h[A-Za-z0-9_-]{16}")


def _make() -> str:
    return "h" + secrets.token_urlsafe(12)  # 16 characters after the prefix


def keys_for(conn: sqlite3.Connection, household_ids: Iterable[str]) -> dict[str, str]:
    """The key of each household ID (made on first use)."""
    wanted = sorted({h for h in household_ids if h})
    if not wanted:
        return {}
    found = _lookup(conn, wanted)
    missing = [h for h in wanted if h not in found]
    if missing:
        with transaction(conn):
            for household_id in missing:
                conn.execute("INSERT INTO household_keys(key, household_id) VALUES (?,?) ON CONFLICT DO NOTHING",
                             (_make(), household_id))
        found = _lookup(conn, wanted)
    return found


def key_for(conn: sqlite3.Connection, household_id: str) -> str:
    return keys_for(conn, [household_id])[household_id]


def household_for_key(conn: sqlite3.Connection, key: str) -> str:
    """The household ID behind a key; NotFoundError for an unknown or malformed key."""
    row = None
    if _KEY.fullmatch(key or ""):
        row = conn.execute("SELECT household_id FROM household_keys WHERE key=?", (key,)).fetchone()
    if row is None:
        raise NotFoundError("没有这个家庭（链接无效或已过期）")
    return row[0]


def _lookup(conn: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT household_id, key FROM household_keys WHERE household_id IN ({marks})", chunk):
            found[row[0]] = row[1]
    return found
