"""A PostgreSQL catalog connection that looks like the sqlite3 one the library is written against.

The catalog code speaks portable SQL with `?` placeholders through `conn.execute(sql, params)` and
reads rows by name or by position (sqlite3.Row). This module gives a psycopg 3 connection that
shape, and nothing cleverer:
- `?` placeholders become `%s`, outside string literals, quoted identifiers and comments only;
  a `%` anywhere becomes `%%` (psycopg's own escape) when parameters are given;
- rows are `Row`s: a tuple addressable by column name too, with `keys()` (dict(row) works);
- SQLite's loose values are kept: a bool parameter is stored as 0/1, dates and datetimes as the
  same ISO text sqlite3 writes, and a NUMERIC result (sum() of a bigint) reads back as int or
  float, never Decimal;
- the connection is in autocommit mode, as the SQLite catalog is (isolation_level=None):
  archive.catalog.transaction sends BEGIN, takes the home's advisory lock, and COMMIT/ROLLBACK.

SQL that only SQLite understands (datetime('now', …), group_concat, rowid, INSERT OR …) is not
translated here: the call sites write it portably (see archive.catalog for the small helpers).
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from archive.errors import ConfigError, UnavailableError

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?|%", re.S)


def translate(sql: str) -> str:
    """`?` → `%s` and `%` → `%%`, leaving literals, quoted names and comments as they are
    (except that a `%` inside them is doubled too: psycopg reads every `%` of a query)."""

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            return "%s"
        return text.replace("%", "%%")

    return _TOKEN.sub(replace, sql)


class Row(tuple):
    """A result row: by position like a tuple, by column name like sqlite3.Row."""

    __slots__ = ()
    _names: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key])
            except KeyError:
                lowered = key.lower()
                for position, name in enumerate(self._names):
                    if name.lower() == lowered:
                        return tuple.__getitem__(self, position)
                raise IndexError(f"No item with that key: {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_class(names: Sequence[str]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_names": tuple(names),
                                "_index": {name: i for i, name in enumerate(names)}})


def _row_factory(cursor: Any):
    names = [column.name for column in cursor.description or ()]
    cls = _row_class(names)

    def make(values: Sequence[Any]) -> Row:
        return cls(values)

    return make


class Cursor:
    """What the library uses of sqlite3.Cursor."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def fetchone(self) -> Row | None:
        if self._cursor.description is None:
            return None
        return self._cursor.fetchone()

    def fetchall(self) -> list[Row]:
        if self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def fetchmany(self, size: int = 1) -> list[Row]:
        if self._cursor.description is None:
            return []
        return self._cursor.fetchmany(size)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall()) if self._cursor.description is None else iter(self._cursor)

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> None:
        raise AttributeError("lastrowid: on PostgreSQL write INSERT … RETURNING id")

    def close(self) -> None:
        self._cursor.close()


def _adapters(conn: Any) -> None:
    from psycopg.adapt import Dumper, Loader
    from psycopg.pq import Format

    class BoolAsInt(Dumper):
        format = Format.TEXT
        oid = 20  # int8: SQLite stores True as 1

        def dump(self, obj: bool) -> bytes:
            return b"1" if obj else b"0"

    class IsoText(Dumper):
        format = Format.TEXT
        oid = 0  # unknown: the server takes it as the text column's value, as SQLite does

        def dump(self, obj: Any) -> bytes:
            text = obj.isoformat(" ") if isinstance(obj, dt.datetime) else obj.isoformat()
            return text.encode()

    class NumberLoader(Loader):
        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return float(text) if any(c in text for c in ".eEN") else int(text)

    conn.adapters.register_dumper(bool, BoolAsInt)
    conn.adapters.register_dumper(dt.date, IsoText)
    conn.adapters.register_dumper(dt.datetime, IsoText)
    conn.adapters.register_loader("numeric", NumberLoader)


def schema_lock_key(schema: str) -> int:
    """The advisory lock key of a catalog schema (a signed 64-bit number; CRC32 namespaced)."""
    return (0x41524348 << 32) | zlib.crc32(schema.encode("utf-8"))  # 'ARCH' in the high half


def where(url: str) -> str:
    """host:port/database of a URL, without user or password (for messages)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(url)
    except Exception:
        return "（地址格式不对）"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


def check_schema_name(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ConfigError(f"PostgreSQL 模式名「{name}」不可用",
                          hint="只用小写字母、数字和下划线，以字母或下划线开头，最多 63 个字符")
    return name


def open_psycopg(url: str, **kw: Any) -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the county extra is not installed
        raise ConfigError("目录数据库在 PostgreSQL 中，但未安装 psycopg",
                          hint="请安装：pip install 'township-archive[county]'") from exc
    try:
        return psycopg.connect(url, connect_timeout=10, **kw)
    except psycopg.OperationalError as exc:
        raise UnavailableError(f"无法连接目录数据库 {where(url)}",
                              hint="请检查 PostgreSQL 是否在运行，以及 config.yaml 的 database_url 或环境变量 "
                                   "ARCHIVE_DATABASE_URL") from exc


class PgConnection:
    """A catalog connection on PostgreSQL (schema `schema`), shaped like sqlite3.Connection."""

    dialect = "postgresql"

    def __init__(self, url: str, schema: str, audit_key: bytes | None = None, *, raw: Any = None) -> None:
        self.url = url
        self.schema = check_schema_name(schema)
        self.audit_key = audit_key
        self.lock_key = schema_lock_key(schema)
        if raw is None:
            raw = open_psycopg(url, autocommit=True)
            raw.execute(f'SET search_path TO "{self.schema}"')
        self.raw = raw
        _adapters(self.raw)

    @classmethod
    def wrap(cls, raw: Any, schema: str, audit_key: bytes | None = None) -> PgConnection:
        """This shape over an open psycopg connection (e.g. Alembic's, inside its transaction)."""
        return cls("", schema, audit_key, raw=raw)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Cursor:
        cursor = self.raw.cursor(row_factory=_row_factory)
        with self._connection_errors():
            if params is None:
                cursor.execute(sql)
            else:
                cursor.execute(translate(sql), tuple(params))
        return Cursor(cursor)

    def executemany(self, sql: str, seq: Any) -> Cursor:
        cursor = self.raw.cursor(row_factory=_row_factory)
        with self._connection_errors():
            cursor.executemany(translate(sql), [tuple(p) for p in seq])
        return Cursor(cursor)

    @contextmanager
    def _connection_errors(self) -> Iterator[None]:
        """A lost server or connection is said in Chinese (the transaction, if any, did not commit);
        other database errors are the program's and propagate as they are."""
        import psycopg

        try:
            yield
        except psycopg.OperationalError as exc:
            raise UnavailableError(f"与目录数据库 {where(self.url) if self.url else ''} 的连接中断，本次操作未完成（未提交的改动已撤销）",
                                  hint="请检查 PostgreSQL 服务器和网络后重新运行") from exc

    def begin_locked(self) -> None:
        """BEGIN, then wait for the schema's transaction-level advisory lock: writers of one
        catalog queue here, as BEGIN IMMEDIATE makes them queue on SQLite."""
        # one round trip (no parameters: the simple protocol takes both statements; the key is an int)
        self.raw.execute(f"BEGIN; SELECT pg_advisory_xact_lock({int(self.lock_key)})")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        self.raw.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    @property
    def closed(self) -> bool:
        return bool(self.raw.closed)

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
