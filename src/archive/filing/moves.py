"""Moving a document filed to the wrong household, or a household that moved village. The
move is recorded (who, when, from, to, why), files are renamed into their new folder, and
nothing is deleted."""

from __future__ import annotations

import os
from pathlib import Path

from archive import files
from archive.catalog import audit, now_text, transaction
from archive.documents import storage
from archive.errors import ArchiveError, ConflictError, NotFoundError
from archive.home import Home
from archive.roster.households import get_household
from archive.sealing import seal_documents


def relocate(home: Home, relative: str | None, folder: Path) -> str | None:
    if not relative:
        return None
    source = home.root / relative
    target = folder / source.name
    if source.exists() and source != target:
        files.ensure_dir(target.parent)
        os.replace(source, target)  # a rename within the archive home: never a copy-and-delete
    return str(target.relative_to(home.root))


MOVED_FILES = ("pdf_path", "docx_path", "xlsx_path", "original_path", "sidecar_path", "stamped_path")


def paper_location(home: Home, doc_id: str) -> dict[str, object] | None:
    """Where a filed document's paper is (its box), or None when it is not filed."""
    row = home.db.execute(
        """SELECT d.item_no, b.year, b.village, b.box_no FROM documents d JOIN boxes b ON b.id = d.box_id
           WHERE d.doc_id = ?""", (doc_id,)).fetchone()
    if row is None:
        return None
    return {"year": row["year"], "village": row["village"], "box": row["box_no"], "item": row["item_no"],
            "label": f"{row['year']}年 {row['village']} 第{row['box_no']}盒 第{row['item_no']:04d}件"}


def paper_note(paper: dict[str, object] | None, village: str, head_name: str) -> str:
    """What to do with the paper after a move: nothing when it is in the right village's box."""
    if paper is None:
        return ""
    if paper["village"] == village:
        return f"纸质件在 {paper['label']}（同村，无需移盒）"
    return (f"纸质件仍在 {paper['label']}，应移入 {village} {head_name}户的档案"
            f"（{village} {paper['year']}年的档案盒）；移盒前，{head_name}户的档案以「参见 {paper['label']}」列出")


def move_document(home: Home, doc_id: str, household_id: str, reason: str) -> dict[str, str]:
    if not reason.strip():
        raise ArchiveError("调整文书归属必须说明原因（--reason）")
    target = get_household(home.db, household_id)
    row = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"找不到文书 {doc_id}")
    if row["household_id"] == target.id:
        raise ConflictError(f"文书 {doc_id} 已经属于户主 {target.head_name} 的家庭")
    year = int(row["doc_date"][:4])
    folder = storage.document_folder(home, year, target.village, target)
    paper = paper_location(home, doc_id)
    note = paper_note(paper, target.village, target.head_name)
    with transaction(home.db):
        paths = {col: relocate(home, row[col], folder) for col in MOVED_FILES}
        home.db.execute(
            f"UPDATE documents SET household_id=?, village=?, {', '.join(f'{c}=?' for c in MOVED_FILES)} "
            "WHERE doc_id=?", (target.id, target.village, *(paths[c] for c in MOVED_FILES), doc_id))
        home.db.execute("INSERT INTO moves(operator, kind, target, from_value, to_value, reason) VALUES (?,?,?,?,?,?)",
                        (home.operator, "document", doc_id, row["household_id"], target.id, reason))
        audit(home.db, home.operator, "document.move", doc_id,
              {"from": row["household_id"], "to": target.id, "reason": reason,
               **({"paper": paper["label"], "belongs": target.village} if paper else {})})
        seal_documents(home.db, home.operator, [doc_id])
    return {"doc_id": doc_id, "from": row["household_id"] or "", "to": target.id, "paper": note}


def move_household(home: Home, household_id: str, village: str, reason: str) -> dict[str, object]:
    if not reason.strip():
        raise ArchiveError("调整家庭所在村必须说明原因（--reason）")
    village = home.config.require_village(village)
    household = get_household(home.db, household_id)
    if household.village == village:
        raise ConflictError(f"户主 {household.head_name} 的家庭已在 {village}")
    old_village = household.village
    household.village = village
    rows = home.db.execute("SELECT * FROM documents WHERE household_id=?", (household.id,)).fetchall()
    papers = [p["label"] for p in (paper_location(home, r["doc_id"]) for r in rows) if p and p["village"] != village]
    with transaction(home.db):
        home.db.execute("UPDATE households SET village=?, updated_at=? WHERE id=?",
                        (village, now_text(), household.id))
        for row in rows:
            folder = storage.document_folder(home, int(row["doc_date"][:4]), village, household)
            paths = {col: relocate(home, row[col], folder) for col in MOVED_FILES}
            home.db.execute(
                f"UPDATE documents SET village=?, {', '.join(f'{c}=?' for c in MOVED_FILES)} WHERE doc_id=?",
                (village, *(paths[c] for c in MOVED_FILES), row["doc_id"]))
        home.db.execute("INSERT INTO moves(operator, kind, target, from_value, to_value, reason) VALUES (?,?,?,?,?,?)",
                        (home.operator, "household", household.id, old_village, village, reason))
        audit(home.db, home.operator, "household.move", household.id,
              {"from": old_village, "to": village, "reason": reason, "documents": len(rows), "papers": papers})
        seal_documents(home.db, home.operator, [row["doc_id"] for row in rows])
    note = (f"{len(papers)} 件纸质件仍在 {old_village} 的档案盒（{'、'.join(papers[:5])}{'等' if len(papers) > 5 else ''}），"
            f"应移入 {village} {household.head_name}户的档案" if papers else "")
    return {"household": household.id, "village": village, "documents": len(rows), "papers": papers, "paper": note}
