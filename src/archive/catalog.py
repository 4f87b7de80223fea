"""The catalog: one database per archive home, the source of truth for households, documents
and number sequences. SQLite (catalog.sqlite in the home, WAL mode, so readers never block the
writer) by default; a county deployment puts it in a PostgreSQL schema (archive.pgconn,
`database_url` in config.yaml), where the same SQL runs through a sqlite3-shaped adapter.

Its schema is made and changed only by the numbered revisions in archive.migrations
(`archive upgrade`; `init` for a new home)."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from archive.pgconn import PgConnection


class CatalogConnection(sqlite3.Connection):
    """A connection that knows the audit key (None: the audit chain is plain SHA-256)."""

    audit_key: bytes | None = None
    dialect = "sqlite"


# A catalog connection: sqlite3 (CatalogConnection) or PostgreSQL (archive.pgconn.PgConnection),
# both used through execute/executemany and rows read by name or position.
CatalogConn = Union[sqlite3.Connection, "PgConnection"]


def dialect(conn: Any) -> str:
    """'sqlite' or 'postgresql'."""
    return getattr(conn, "dialect", "sqlite")


def now_text(*, fraction: bool = False) -> str:
    """Local time now as the catalog stores it: 2025-07-08 09:30:00, or with `fraction`
    2025-07-08T09:30:00.123 (the audit log's format). Passed as a parameter, so that the same SQL
    runs on SQLite and PostgreSQL (instead of SQLite's datetime('now','localtime'))."""
    import datetime as dt

    moment = dt.datetime.now()
    if fraction:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def group_concat(conn: Any, expression: str, separator_sql: str = "','", order_by: str = "") -> str:
    """SQL for the concatenation of `expression` over a group (separator given as SQL, e.g. "' '",
    "char(31)"). SQLite takes the rows in its scan order; PostgreSQL in `order_by` when given."""
    if dialect(conn) == "postgresql":
        separator_sql = separator_sql.replace("char(", "chr(")
        order = f" ORDER BY {order_by}" if order_by else ""
        return f"string_agg(({expression})::text, {separator_sql}{order})"
    return f"group_concat({expression}, {separator_sql})"


def connect(path: Path, audit_key: bytes | None = None) -> sqlite3.Connection:
    """Open the catalog. Autocommit mode: transactions are explicit (see `transaction`).
    With `audit_key`, new audit rows are chained by HMAC-SHA256 instead of plain SHA-256."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, factory=CatalogConnection)
    conn.audit_key = audit_key
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=60000")
    return conn


def connect_target(target: Path | tuple[str, str], audit_key: bytes | None = None) -> CatalogConn:
    """Open a catalog: a SQLite file, or (url, schema) on PostgreSQL (see home.catalog_target)."""
    if isinstance(target, tuple):
        from archive.pgconn import PgConnection

        url, schema = target
        return PgConnection(url, schema, audit_key)
    return connect(target, audit_key)


@contextmanager
def transaction(conn: CatalogConn) -> Iterator[CatalogConn]:
    """BEGIN IMMEDIATE: take the write lock up front, so two processes that allocate numbers
    serialise here instead of failing later with 'database is locked'. On PostgreSQL: BEGIN and
    the catalog schema's advisory transaction lock, the same one-writer-at-a-time guarantee."""
    if dialect(conn) == "postgresql":
        conn.begin_locked()  # type: ignore[union-attr]
    else:
        conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


HMAC_PREFIX = "hmac:"


def audit_hash(prev: str, at: str, operator: str, action: str, target: str | None, detail: str | None,
               key: bytes | None = None) -> str:
    """The chain hash of an audit row: SHA-256, or with a key HMAC-SHA256 (marked by a prefix)."""
    blob = json.dumps([prev, at, operator, action, target, detail], ensure_ascii=False).encode("utf-8")
    if key:
        return HMAC_PREFIX + hmac.new(key, blob, hashlib.sha256).hexdigest()
    return hashlib.sha256(blob).hexdigest()


def audit(conn: CatalogConn, operator: str, action: str, target: str | None = None,
          detail: dict[str, Any] | None = None) -> None:
    """Append to the audit log. Rows are hash-chained (verify checks the chain), so call this
    inside a write transaction: the last hash read is then the last hash written."""
    text = json.dumps(detail, ensure_ascii=False) if detail else None
    last = conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev = (last[0] if last else None) or ""
    at = now_text(fraction=True)
    conn.execute(
        "INSERT INTO audit(at, operator, action, target, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
        (at, operator, action, target, text, prev,
         audit_hash(prev, at, operator, action, target, text, getattr(conn, "audit_key", None))),
    )


FILE_COLUMNS = ("pdf_path", "docx_path", "xlsx_path", "original_path", "sidecar_path", "stamped_path",
                "void_pdf_path", "void_docx_path")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_files(conn: CatalogConn, root: Path, doc_id: str) -> None:
    """Record the SHA-256 of every file of a document as it is now (authenticity check later)."""
    row = conn.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    for column in FILE_COLUMNS:
        relative = row[column]
        if not relative:
            continue
        path = root / relative
        if column == "pdf_path" and row["original_path"] == relative:
            continue  # a born-digital scan: the PDF is the original, recorded once
        conn.execute(
            "INSERT INTO files(doc_id, kind, sha256, size) VALUES (?,?,?,?) ON CONFLICT(doc_id, kind) "
            "DO UPDATE SET sha256=excluded.sha256, size=excluded.size, recorded_at=?",
            (doc_id, column, file_digest(path), path.stat().st_size, now_text()))


def next_value(conn: CatalogConn, code: str, year: int) -> int:
    """The next number of a sequence; call inside a write transaction (no gaps, no duplicates)."""
    conn.execute(
        "INSERT INTO sequences(code, year, last) VALUES (?,?,1) "
        "ON CONFLICT(code, year) DO UPDATE SET last = sequences.last + 1",
        (code, year),
    )
    return conn.execute("SELECT last FROM sequences WHERE code=? AND year=?", (code, year)).fetchone()[0]


def new_doc_id(conn: CatalogConn, fonds: str) -> str:
    """A document ID unique in the archive home: 全宗号 and a serial, e.g. Z109-0000123."""
    return f"{fonds}-{next_value(conn, '__doc__', 0):07d}"
