"""The catalog: one SQLite database per archive home, the source of truth for households,
documents and number sequences. WAL mode, so readers never block the writer."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS households (
    id              TEXT PRIMARY KEY,          -- 户主身份证号
    village         TEXT NOT NULL,
    head_name       TEXT NOT NULL,
    category        TEXT NOT NULL,             -- 低保 / 特困 / 临时救助 / 低保边缘
    covered         INTEGER NOT NULL,          -- 保障人数
    amount          REAL NOT NULL,             -- 月保障金额(元)
    start_date      TEXT,                      -- 开始日期 (ISO)
    status          TEXT NOT NULL DEFAULT 'active',
    kin_filed       INTEGER NOT NULL DEFAULT 0,-- 近亲属备案
    phone           TEXT,
    address         TEXT,
    data_sha        TEXT NOT NULL,             -- digest of the imported fields, to see changes
    created_at      TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    updated_at      TEXT NOT NULL DEFAULT (datetime('now','localtime'))
);
CREATE INDEX IF NOT EXISTS households_village ON households(village);

CREATE TABLE IF NOT EXISTS members (
    household_id    TEXT NOT NULL REFERENCES households(id),
    seq             INTEGER NOT NULL,
    name            TEXT NOT NULL,
    relation        TEXT NOT NULL,
    id_number       TEXT NOT NULL UNIQUE,
    PRIMARY KEY (household_id, seq)
);

CREATE TABLE IF NOT EXISTS roster_imports (
    sha256          TEXT PRIMARY KEY,
    file_name       TEXT NOT NULL,
    imported_at     TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    households      INTEGER NOT NULL,
    members         INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sequences (
    code            TEXT NOT NULL,             -- 文号 type code, e.g. 不批
    year            INTEGER NOT NULL,
    last            INTEGER NOT NULL,
    PRIMARY KEY (code, year)
);

CREATE TABLE IF NOT EXISTS documents (
    doc_id          TEXT PRIMARY KEY,
    type            TEXT NOT NULL,             -- template id: refusal, approval, ...
    title           TEXT NOT NULL,
    household_id    TEXT REFERENCES households(id),
    village         TEXT,
    doc_date        TEXT NOT NULL,             -- ISO date printed on the document
    number          TEXT,                      -- 文号, e.g. 青岩民不批〔2025〕7号
    number_code     TEXT,
    number_year     INTEGER,
    number_seq      INTEGER,
    request_key     TEXT NOT NULL,             -- same request again = reprint, same number
    params          TEXT NOT NULL,             -- JSON of the values given with --set etc.
    context         TEXT NOT NULL,             -- JSON snapshot of what was printed, for reprints
    body_text       TEXT NOT NULL DEFAULT '',  -- the generated text, for search
    pages           INTEGER NOT NULL DEFAULT 0,
    pdf_path        TEXT,
    docx_path       TEXT,
    xlsx_path       TEXT,
    status          TEXT NOT NULL DEFAULT 'active',  -- active / voided
    void_reason     TEXT,
    replaces        TEXT REFERENCES documents(doc_id),
    created_at      TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    rev             INTEGER NOT NULL DEFAULT 1,       -- bumped on every change; the index keeps its own copy
    indexed_rev     INTEGER NOT NULL DEFAULT 0,       -- the rev last written to the full-text index
    -- filing (DA/T 22): set by file-month
    archival_code   TEXT UNIQUE,                      -- 档号
    class_code      TEXT,                             -- 机构(问题)代码
    retention       TEXT,                             -- 保管期限 Y / D30 / D10
    item_no         INTEGER,                          -- 件号
    box_id          INTEGER REFERENCES boxes(id),
    filed_month     TEXT,
    filed_at        TEXT,
    stamped_path    TEXT,                              -- the filed copy with the 归档章
    signed_by       TEXT,                              -- approver whose seal and signature are on it
    signed_at       TEXT,
    signature_kind  TEXT,                              -- seal (image only) / pades (with a digital signature)
    attached_to     TEXT,                              -- filed as an attachment of this 件
    filing_round    INTEGER,                           -- 1: the month's first filing; 2…: supplements after reopen-month
    -- scans (ingest)
    origin          TEXT NOT NULL DEFAULT 'generated',  -- generated / scan
    source_doc      TEXT REFERENCES documents(doc_id),  -- a signed scan's generated original
    scan_sha256     TEXT,
    original_path   TEXT,                              -- the scan as it came, unchanged
    sidecar_path    TEXT,                              -- OCR lines, boxes, confidences (JSON)
    -- voiding: copies marked 作废 (the originals stay as they were)
    void_pdf_path   TEXT,
    void_docx_path  TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS documents_number ON documents(number_code, number_year, number_seq)
    WHERE number_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS documents_household ON documents(household_id);
CREATE INDEX IF NOT EXISTS documents_request ON documents(request_key);

CREATE TABLE IF NOT EXISTS boxes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    year            INTEGER NOT NULL,
    village         TEXT NOT NULL,
    retention       TEXT NOT NULL,
    box_no          INTEGER NOT NULL,
    UNIQUE (year, village, retention, box_no)
);

CREATE TABLE IF NOT EXISTS moves (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    operator        TEXT NOT NULL,
    kind            TEXT NOT NULL,             -- document / household
    target          TEXT NOT NULL,
    from_value      TEXT,
    to_value        TEXT,
    reason          TEXT
);

CREATE TABLE IF NOT EXISTS scans (
    sha256          TEXT PRIMARY KEY,
    source_name     TEXT NOT NULL,
    source_path     TEXT NOT NULL,
    status          TEXT NOT NULL,             -- processing / filed / linked / review / rejected / quarantined
    doc_id          TEXT,                      -- reserved when processing starts, so a rerun reuses it
    pages           INTEGER,
    reason          TEXT,
    detected_type   TEXT,
    household_id    TEXT,
    quarantine_path TEXT,
    -- times processing started without finishing (a worker killed for memory): see ingest max_attempts
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    updated_at      TEXT NOT NULL DEFAULT (datetime('now','localtime'))
);
CREATE INDEX IF NOT EXISTS scans_status ON scans(status);

CREATE TABLE IF NOT EXISTS audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f','now','localtime')),
    operator        TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT,
    detail          TEXT,
    prev_hash       TEXT,                      -- hash chain: altering or removing a row breaks it
    hash            TEXT
);

CREATE TABLE IF NOT EXISTS files (
    doc_id          TEXT NOT NULL,
    kind            TEXT NOT NULL,             -- pdf_path / docx_path / xlsx_path / original_path / sidecar_path / stamped_path
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    recorded_at     TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    PRIMARY KEY (doc_id, kind)
);

CREATE TABLE IF NOT EXISTS signers (
    name            TEXT PRIMARY KEY,
    role            TEXT NOT NULL,
    signature_file  TEXT,                      -- under secure/, 0600
    cert_file       TEXT,                      -- PKCS#12 under secure/, 0600; its password never stored
    cert_subject    TEXT,
    cert_not_after  TEXT,
    added_at        TEXT NOT NULL DEFAULT (datetime('now','localtime'))
);

CREATE TABLE IF NOT EXISTS filing_months (
    month           TEXT PRIMARY KEY,          -- YYYY-MM
    status          TEXT NOT NULL,             -- filed / reopened
    items           INTEGER NOT NULL DEFAULT 0,
    filed_at        TEXT,
    operator        TEXT,
    report          TEXT                       -- JSON summary of the last filing
);

CREATE TABLE IF NOT EXISTS outputs (
    path            TEXT PRIMARY KEY,          -- relative to the home: catalogues, reports, 卷内目录
    kind            TEXT NOT NULL,             -- 归档文件目录 / 卷内目录 / 盒脊与备考表 / 完整性报告 / …
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    recorded_at     TEXT NOT NULL DEFAULT (datetime('now','localtime'))
);

-- the web application's accounts (archive user add); passwords as argon2 hashes
CREATE TABLE IF NOT EXISTS users (
    name            TEXT PRIMARY KEY,
    role            TEXT NOT NULL,             -- caseworker / archivist / inspector / admin
    password_hash   TEXT,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    last_login      TEXT
);

-- API tokens for scripts: only the SHA-256 of each token is kept
CREATE TABLE IF NOT EXISTS api_tokens (
    token_sha256    TEXT PRIMARY KEY,
    user_name       TEXT NOT NULL REFERENCES users(name),
    created_at      TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    last_used       TEXT
);

-- an opaque key per household, so that no ID number appears in a web address
CREATE TABLE IF NOT EXISTS household_keys (
    key             TEXT PRIMARY KEY,
    household_id    TEXT NOT NULL UNIQUE
);

-- casework: a household's history; decisions take effect from effective_month (archive.casework)
CREATE TABLE IF NOT EXISTS case_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id    TEXT NOT NULL REFERENCES households(id),
    kind            TEXT NOT NULL,             -- application / investigation / publicity / approval / refusal / adjustment / suspension / review
    event_date      TEXT NOT NULL,             -- ISO date of the act (the document's date)
    effective_month TEXT,                      -- YYYY-MM the effect starts (decisions only)
    status          TEXT,                      -- status from then on: active / stopped / refused
    amount          REAL,                      -- 月保障金额 from then on
    covered         INTEGER,                   -- 保障人数 from then on
    doc_id          TEXT REFERENCES documents(doc_id),
    operator        TEXT NOT NULL,
    detail          TEXT,                      -- JSON: dates cited, reason, flags
    recorded_at     TEXT NOT NULL DEFAULT (datetime('now','localtime'))
);
CREATE INDEX IF NOT EXISTS case_events_household ON case_events(household_id, effective_month);

-- a re-imported roster that differs from what a decision set: held for a person to accept or
-- reject (archive.roster.differences); nothing in households changes until accepted
CREATE TABLE IF NOT EXISTS roster_differences (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id    TEXT NOT NULL REFERENCES households(id),
    field           TEXT NOT NULL,             -- amount / covered / status / category / village / head_name / members
    roster_value    TEXT NOT NULL,             -- JSON: what the roster says
    archive_value   TEXT NOT NULL,             -- JSON: what the archive holds
    basis           TEXT,                      -- JSON: the decisions (doc_id, number, title) that set it
    import_sha      TEXT NOT NULL,             -- the roster file (roster_imports.sha256)
    file_name       TEXT,
    state           TEXT NOT NULL DEFAULT 'pending',  -- pending / accepted / rejected / superseded
    created_at      TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    created_by      TEXT NOT NULL,
    resolved_at     TEXT,
    resolved_by     TEXT,
    reason          TEXT
);
CREATE INDEX IF NOT EXISTS roster_differences_state ON roster_differences(state, household_id);
"""


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


def create_schema(conn: sqlite3.Connection) -> None:
    with transaction(conn):
        for statement in _split_sql(_SCHEMA):
            if statement.lstrip().upper().startswith("CREATE TABLE"):
                conn.execute(statement)
                _add_missing_columns(conn, statement)
        for statement in _split_sql(_SCHEMA):
            if not statement.lstrip().upper().startswith("CREATE TABLE"):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _add_missing_columns(conn: sqlite3.Connection, create: str) -> None:
    """Bring a catalog made by an older version up to date: add the columns it lacks."""
    table = re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", create)[1]
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for line in create.splitlines()[1:]:
        match = re.match(r"\s+([a-z_][a-z0-9_]*)\s+(TEXT|INTEGER|REAL)\b(.*?),?\s*$", line)
        if not match or match[1] in have:
            continue
        # ALTER TABLE cannot add UNIQUE or PRIMARY KEY columns; their indexes are made apart
        rest = re.sub(r"\b(UNIQUE|PRIMARY KEY( AUTOINCREMENT)?)\b", "", match[3])
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {match[1]} {match[2]}{rest}")
        if "UNIQUE" in match[3]:
            conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_{match[1]}_unique ON {table}({match[1]})")


def _split_sql(script: str) -> list[str]:
    statements, current = [], []
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        current.append(code)
        if code.rstrip().endswith(";"):
            statements.append("\n".join(current))
            current = []
    return [s for s in statements if s.strip()]


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
