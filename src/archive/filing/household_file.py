"""A household's file (一户一档): the household, its members, and its documents in order with
where each one is kept."""

from __future__ import annotations

from typing import Any

from archive.home import Home
from archive.roster.households import get_household
from archive.search.engine import location_label


def cross_reference(row, village: str) -> str | None:
    """A document moved here from another village whose paper is still in that village's box."""
    if row["box_no"] and row["box_village"] != village:
        return f"参见 {location_label(row)}（纸质件在{row['box_village']}的档案盒，待移入{village}）"
    return None


def household_file(home: Home, household_id: str) -> dict[str, Any]:
    household = get_household(home.db, household_id)
    rows = home.db.execute(
        """SELECT d.*, b.box_no, b.year AS box_year, b.village AS box_village
           FROM documents d LEFT JOIN boxes b ON b.id = d.box_id
           WHERE d.household_id = ?
           ORDER BY d.item_no IS NULL, b.year, b.box_no, d.item_no, d.doc_date, d.doc_id""",
        (household.id,),
    ).fetchall()
    documents = []
    for row in rows:
        path = row["pdf_path"] or row["xlsx_path"]
        documents.append({
            "doc_id": row["doc_id"], "type": row["type"], "title": row["title"], "date": row["doc_date"],
            "number": row["number"], "pages": row["pages"], "status": row["status"],
            "archival_code": row["archival_code"], "box": row["box_no"], "item": row["item_no"],
            "location": location_label(row), "path": str(home.root / path) if path else None,
            "cross_reference": cross_reference(row, household.village),
        })
    moves = [dict(row) for row in home.db.execute(
        "SELECT at, operator, kind, target, from_value, to_value, reason FROM moves "
        "WHERE target = ? OR target IN (SELECT doc_id FROM documents WHERE household_id = ?) ORDER BY id",
        (household.id, household.id))]
    return {
        "household": household.id, "name": household.head_name, "village": household.village,
        "category": household.category, "covered": household.covered, "amount": household.amount,
        "status": household.status,
        "members": [{"name": m.name, "relation": m.relation, "id_number": m.id_number} for m in household.members],
        "documents": documents, "moves": moves,
    }


def format_household_file(data: dict[str, Any]) -> str:
    lines = [f"{data['name']}（户主身份证号 {data['household']}）{data['village']} {data['category']} "
             f"保障{data['covered']}人 月{data['amount']:.2f}元",
             "成员：" + "、".join(f"{m['name']}（{m['relation']}）" for m in data["members"]),
             f"档案共 {len(data['documents'])} 件："]
    for index, doc in enumerate(data["documents"], start=1):
        number = f" {doc['number']}" if doc["number"] else ""
        void = "【已作废】" if doc["status"] == "voided" else ""
        code = f" 档号 {doc['archival_code']}" if doc["archival_code"] else ""
        where = doc["cross_reference"] or doc["location"]
        lines.append(f"  {index:>3}. {doc['date']} {doc['title']}{number}{void}  {where}{code}  （{doc['doc_id']}）")
    for move in data["moves"]:
        lines.append(f"  调整记录：{move['at']} {move['operator']} 将 {move['target']} 从「{move['from_value']}」调到「{move['to_value']}」：{move['reason'] or ''}")
    return "\n".join(lines)


def open_household_file(home: Home, household_id: str) -> dict[str, Any]:
    """A household's file as a user opens it: the data, and an audit entry naming the acting
    user (inspectors' access to personal data must be traceable)."""
    from archive.catalog import audit, transaction

    data = household_file(home, household_id)
    with transaction(home.db):
        audit(home.db, home.operator, "show", data["household"])
    return data
