"""What ties the catalog to its audit chain, so that editing the catalog directly is seen.

- A document's seal: a digest of its record (household, type, 文号, title, text, 档号, box, dates,
  void state, paths and the digests of its files). Every change made by the software writes the
  new seal into the audit log (action `document.seal`), so a row edited by hand no longer matches
  the last seal the chain holds for it.
- An output's registration: filing outputs (归档文件目录, 卷内目录, 盒脊与备考表, 完整性报告, …)
  are registered with their digest in the `outputs` table and in the audit log (`output.register`).
- The anchor: the audit chain's head (row number and hash), printed into each month's
  归档文件目录 when it is written. A catalog rolled back to before that point, or an audit row
  rewritten with the chain recomputed, no longer matches a catalogue that was printed and signed.

All functions that write are called inside a write transaction (see catalog.transaction).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from archive.catalog import FILE_COLUMNS, audit, file_digest, now_text

SEAL_ACTION = "document.seal"
OUTPUT_ACTION = "output.register"

# the record fields a seal covers (rev, indexed_rev and timestamps of bookkeeping are left out)
SEALED_COLUMNS = ("doc_id", "type", "title", "household_id", "village", "doc_date", "number", "number_code",
                  "number_year", "number_seq", "status", "void_reason", "replaces", "archival_code", "class_code",
                  "retention", "item_no", "box_id", "filed_month", "attached_to", "signed_by", "signature_kind",
                  "origin", "source_doc", "scan_sha256", *FILE_COLUMNS)

ANCHOR_PREFIX = "archive-audit-head"
_ANCHOR = re.compile(ANCHOR_PREFIX + r":(\d+):((?:hmac:)?[0-9a-f]{64})")


def _sha(text: str | None) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def _digest(row: sqlite3.Row, box: sqlite3.Row | None, files: list) -> str:
    record = {
        "record": {column: row[column] for column in SEALED_COLUMNS},
        "body_text": _sha(row["body_text"]), "params": _sha(row["params"]), "context": _sha(row["context"]),
        "box": list(box) if box else None,
        "files": [list(f) for f in files],
    }
    return _sha(json.dumps(record, ensure_ascii=False, sort_keys=True))


_RECORD_QUERY = f"SELECT {', '.join(SEALED_COLUMNS)}, body_text, params, context FROM documents"
_FILES_QUERY = "SELECT doc_id, kind, sha256, size FROM files"


def record_digest(conn: sqlite3.Connection, doc_id: str) -> str | None:
    """The digest of a document's record as the catalog holds it now; None if there is no such document."""
    row = conn.execute(_RECORD_QUERY + " WHERE doc_id=?", (doc_id,)).fetchone()
    if row is None:
        return None
    box = conn.execute("SELECT year, village, retention, box_no FROM boxes WHERE id=?", (row["box_id"],)).fetchone()
    files = conn.execute(_FILES_QUERY + " WHERE doc_id=? ORDER BY kind", (doc_id,)).fetchall()
    return _digest(row, box, [f[1:] for f in files])


def all_record_digests(conn: sqlite3.Connection) -> dict[str, str]:
    """record_digest of every document, read in three queries (for verify)."""
    boxes = {row[0]: row[1:] for row in conn.execute("SELECT id, year, village, retention, box_no FROM boxes")}
    files: dict[str, list] = {}
    for row in conn.execute(_FILES_QUERY + " ORDER BY doc_id, kind"):
        files.setdefault(row[0], []).append(row[1:])
    return {row["doc_id"]: _digest(row, boxes.get(row["box_id"]), files.get(row["doc_id"], []))
            for row in conn.execute(_RECORD_QUERY)}


def seal_documents(conn: sqlite3.Connection, operator: str, doc_ids: Iterable[str]) -> None:
    """Write the current seal of each document into the audit log (one row for all of them)."""
    seals = {doc_id: record_digest(conn, doc_id) for doc_id in dict.fromkeys(doc_ids)}
    seals = {doc_id: digest for doc_id, digest in seals.items() if digest}
    if seals:
        target = next(iter(seals)) if len(seals) == 1 else f"{len(seals)}份文书"
        audit(conn, operator, SEAL_ACTION, target, {"seals": seals})


def register_output(conn: sqlite3.Connection, root: Path, path: Path, kind: str, operator: str) -> str:
    """Register a written output (a catalogue, a report) with its digest; returns its path relative to the home."""
    relative = str(path.relative_to(root))
    digest, size = file_digest(path), path.stat().st_size
    conn.execute(
        "INSERT INTO outputs(path, kind, sha256, size) VALUES (?,?,?,?) ON CONFLICT(path) DO UPDATE SET "
        "kind=excluded.kind, sha256=excluded.sha256, size=excluded.size, recorded_at=?",
        (relative, kind, digest, size, now_text()))
    audit(conn, operator, OUTPUT_ACTION, relative, {"kind": kind, "sha256": digest, "size": size})
    return relative


def audit_head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(row number, hash) of the last audit row: what an anchor records."""
    row = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return (row["id"], row["hash"] or "") if row else (0, "")


def anchor_token(head: tuple[int, str]) -> str:
    """The machine-readable anchor, kept in a catalogue's metadata and printed in its footer."""
    return f"{ANCHOR_PREFIX}:{head[0]}:{head[1]}"


def anchor_line(head: tuple[int, str]) -> str:
    """The printed anchor: a person can compare it with the signed paper copy."""
    return f"操作日志校验值（第{head[0]}条）：{anchor_token(head)}"


def parse_anchor(text: str) -> tuple[int, str] | None:
    match = _ANCHOR.search(re.sub(r"\s+", "", text or ""))
    return (int(match[1]), match[2]) if match else None


def register_written(conn: sqlite3.Connection, root: Path, operator: str, kind: str, *paths: Path) -> None:
    """Register outputs a command wrote (a sample list, a reconciliation) if they lie inside the home."""
    from archive.catalog import transaction

    inside = [p for p in paths if p.resolve().is_relative_to(root.resolve())]
    if inside:
        with transaction(conn):
            for path in inside:
                register_output(conn, root.resolve(), path.resolve(), kind, operator)


def sealed_ids(conn: sqlite3.Connection) -> set[str]:
    """Documents the audit log holds a seal for."""
    out: set[str] = set()
    for (detail,) in conn.execute("SELECT detail FROM audit WHERE action=?", (SEAL_ACTION,)):
        try:
            out.update(json.loads(detail or "{}").get("seals", {}))
        except (ValueError, AttributeError):
            continue
    return out


def seal_existing(conn: sqlite3.Connection, operator: str, reason: str) -> int:
    """Seal the documents of a catalog made before seals existed (never one that already has a seal:
    a record that no longer matches its seal stays reported). Recorded with the reason."""
    from archive.catalog import transaction
    from archive.errors import ArchiveError

    if not reason.strip():
        raise ArchiveError("封存旧文书记录必须说明原因（--reason）")
    with transaction(conn):
        have = sealed_ids(conn)
        missing = [row[0] for row in conn.execute("SELECT doc_id FROM documents ORDER BY doc_id") if row[0] not in have]
        for start in range(0, len(missing), 500):
            seal_documents(conn, operator, missing[start:start + 500])
        audit(conn, operator, "document.seal_existing", None, {"documents": len(missing), "reason": reason})
    return len(missing)
