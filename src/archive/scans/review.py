"""The review queue: scans the pipeline could not place with confidence. The archivist assigns a
household (and a type), or rejects the scan; either is recorded, and no file is deleted."""

from __future__ import annotations

from typing import Any

from archive.catalog import audit, transaction
from archive.documents import storage
from archive.documents.types import registry
from archive.errors import ArchiveError, ConflictError, NotFoundError
from archive.filing.moves import relocate
from archive.home import Home
from archive.roster.households import get_household
from archive.sealing import seal_documents


def review_list(home: Home) -> list[dict[str, Any]]:
    rows = home.db.execute(
        """SELECT s.sha256, s.source_name, s.reason, s.detected_type, s.pages, s.created_at, d.doc_id, d.pdf_path,
                  substr(d.body_text, 1, 80) AS excerpt
           FROM scans s JOIN documents d ON d.doc_id = s.doc_id WHERE s.status = 'review' ORDER BY s.created_at""")
    return [{**dict(row), "path": str(home.root / row["pdf_path"]) if row["pdf_path"] else None} for row in rows]


def _scan_row(home: Home, key: str):
    row = home.db.execute(
        "SELECT * FROM scans WHERE doc_id = ? OR sha256 LIKE ? ORDER BY created_at", (key, f"{key}%")).fetchall()
    if not row:
        raise NotFoundError(f"待分拣队列中找不到 {key}", hint="用 archive review list 查看文书编号")
    if len(row) > 1:
        raise ArchiveError(f"「{key}」对应多份扫描件，请给出完整的文书编号")
    if row[0]["status"] != "review":
        raise ConflictError(f"扫描件 {row[0]['source_name']} 不在待分拣队列中（状态：{row[0]['status']}）")
    return row[0]


def review_assign(home: Home, key: str, household_id: str, doc_type: str | None = None) -> dict[str, Any]:
    scan = _scan_row(home, key)
    household = get_household(home.db, household_id)
    types = registry(home)
    if doc_type is not None:
        doc_type = types.resolve(doc_type).id  # id, title or alias; unknown: the list of types
    doc = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (scan["doc_id"],)).fetchone()
    doc_type = doc_type or doc["type"]
    folder = storage.document_folder(home, int(doc["doc_date"][:4]), household.village, household)
    with transaction(home.db):
        paths = {col: relocate(home, doc[col], folder) for col in ("pdf_path", "original_path", "sidecar_path")}
        home.db.execute(
            """UPDATE documents SET household_id=?, village=?, type=?, title=?, pdf_path=?, original_path=?,
               sidecar_path=?, rev=rev+1 WHERE doc_id=?""",
            (household.id, household.village, doc_type, types.title(doc_type, doc["title"]), paths["pdf_path"],
             paths["original_path"], paths["sidecar_path"], doc["doc_id"]))
        home.db.execute("UPDATE scans SET status='filed', household_id=?, detected_type=?, reason=?, "
                        "updated_at=datetime('now','localtime') WHERE sha256=?",
                        (household.id, doc_type, f"人工分拣：{home.operator}", scan["sha256"]))
        audit(home.db, home.operator, "review.assign", doc["doc_id"], {"household": household.id, "type": doc_type})
        seal_documents(home.db, home.operator, [doc["doc_id"]])
    return {"doc_id": doc["doc_id"], "household": household.id, "type": doc_type}


def review_reject(home: Home, key: str, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise ArchiveError("退回扫描件必须说明原因（--reason）")
    scan = _scan_row(home, key)
    with transaction(home.db):
        home.db.execute("UPDATE scans SET status='rejected', reason=?, updated_at=datetime('now','localtime') WHERE sha256=?",
                        (reason, scan["sha256"]))
        home.db.execute("UPDATE documents SET status='rejected', void_reason=?, rev=rev+1 WHERE doc_id=?",
                        (reason, scan["doc_id"]))
        audit(home.db, home.operator, "review.reject", scan["doc_id"], {"reason": reason})
        seal_documents(home.db, home.operator, [scan["doc_id"]])
    return {"doc_id": scan["doc_id"], "reason": reason}
