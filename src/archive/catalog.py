"""The catalog: one SQLite database per archive home, the source of truth for households,
documents and number sequences. WAL mode, so readers never block the writer.

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
from typing import Any


class CatalogConnection(sqlite3.Connection):
    """A connection that knows the audit key (None: the audit chain is plain SHA-256)."""

    audit_key: bytes | None = None


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


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE: take the write lock up front, so two processes that allocate numbers
    serialise here instead of failing later with 'database is locked'."""
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


def audit(conn: sqlite3.Connection, operator: str, action: str, target: str | None = None,
          detail: dict[str, Any] | None = None) -> None:
    """Append to the audit log. Rows are hash-chained (verify checks the chain), so call this
    inside a write transaction: the last hash read is then the last hash written."""
    text = json.dumps(detail, ensure_ascii=False) if detail else None
    last = conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev = (last[0] if last else None) or ""
    at = conn.execute("SELECT strftime('%Y-%m-%dT%H:%M:%f','now','localtime')").fetchone()[0]
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


def record_files(conn: sqlite3.Connection, root: Path, doc_id: str) -> None:
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
            "DO UPDATE SET sha256=excluded.sha256, size=excluded.size, recorded_at=datetime('now','localtime')",
            (doc_id, column, file_digest(path), path.stat().st_size))


def next_value(conn: sqlite3.Connection, code: str, year: int) -> int:
    """The next number of a sequence; call inside a write transaction (no gaps, no duplicates)."""
    conn.execute(
        "INSERT INTO sequences(code, year, last) VALUES (?,?,1) "
        "ON CONFLICT(code, year) DO UPDATE SET last = last + 1",
        (code, year),
    )
    return conn.execute("SELECT last FROM sequences WHERE code=? AND year=?", (code, year)).fetchone()[0]


def new_doc_id(conn: sqlite3.Connection, fonds: str) -> str:
    """A document ID unique in the archive home: 全宗号 and a serial, e.g. Z109-0000123."""
    return f"{fonds}-{next_value(conn, '__doc__', 0):07d}"
