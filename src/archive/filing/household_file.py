"""A household's file (一户一档): the household, its members, and its documents in order with
where each one is kept (the same rule as search, filing/location.py) and the file to open."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from archive.casework.history import STATUS_NAMES, apply_events, describe, events_for
from archive.errors import ArchiveError, NotFoundError
from archive.filing.location import COLUMNS as LOCATION_COLUMNS
from archive.filing.location import JOINS as LOCATION_JOINS
from archive.filing.location import copy_kind, location_label, open_path
from archive.home import Home
from archive.index.analysis import is_han
from archive.roster.households import HouseholdRecord, get_household
from archive.search.names import one_off


def _candidates(rows) -> str:
    return "；".join(f"{r['name']}（{r['relation']}）户主 {r['head_name']} {r['household_id']} {r['village']}"
                    for r in rows[:20])


def resolve_household(home: Home, text: str) -> HouseholdRecord:
    """A household from what the user typed: the 户主's (or any member's) ID number, the last 4 to 6
    digits of one, or a member's name, when it names exactly one household; otherwise the
    candidates are listed."""
    conn = home.db
    key = (text or "").strip().upper()
    if not key:
        raise ArchiveError("请给出户主身份证号或姓名")
    people = ("SELECT m.name, m.relation, m.household_id, h.head_name, h.village FROM members m "
              "JOIN households h ON h.id = m.household_id ")
    if re.fullmatch(r"\d{3,17}[\dX]", key):
        if len(key) >= 15:
            # two indexed lookups: with OR between the two tables SQLite scans every member
            rows = (conn.execute(people + "WHERE h.id = ?", (key,)).fetchall()
                    + conn.execute(people + "WHERE m.id_number = ?", (key,)).fetchall())
        else:
            rows = conn.execute(people + "WHERE substr(m.id_number, length(m.id_number) - ? + 1) = ?", (len(key), key)).fetchall()
    elif all(is_han(c) or c == "·" for c in key):
        rows = conn.execute(people + "WHERE m.name = ?", (key,)).fetchall()
        if not rows:
            near = [r for r in conn.execute(people + "WHERE length(m.name) = ?", (len(key),)) if one_off(r["name"], key)]
            if near:
                raise NotFoundError(f"花名册中没有叫「{key}」的人；差一个字的有：{_candidates(near)}",
                                    hint="请用户主身份证号查看，如 archive show 户主身份证号")
    else:
        rows = []
    households = list(dict.fromkeys(r["household_id"] for r in rows))
    if len(households) == 1:
        return get_household(conn, households[0])
    if len(households) > 1:
        raise ArchiveError(f"「{text}」对应 {len(households)} 户：{_candidates(rows)}",
                           hint="请用户主身份证号查看，如 archive show 户主身份证号")
    imported = conn.execute("SELECT 1 FROM households LIMIT 1").fetchone() is not None
    hint = ("请核对号码或姓名，或用 archive search 查找" if imported
            else "档案库还没有花名册：请先用 archive roster import 导入花名册")
    raise NotFoundError(f"花名册中找不到「{text}」（户主身份证号、成员身份证号或姓名）", hint=hint)


def cross_reference(row, village: str) -> str | None:
    """A document moved here from another village whose paper is still in that village's box."""
    if row["box_no"] and row["box_village"] != village:
        return f"参见 {location_label(row)}（纸质件在{row['box_village']}的档案盒，待移入{village}）"
    return None


# a document's text and its generation context are not listed: reading them for every document of
# a household was most of the time a household page took on a large archive
_NOT_LISTED = frozenset({"body_text", "context", "params"})


def _listed_columns(conn) -> str:
    """The documents table's columns but the large ones (read from a query's description, which
    the SQLite and the PostgreSQL catalog both give)."""
    cursor = conn.execute("SELECT * FROM documents WHERE 1 = 0")
    names = [column[0] for column in cursor.description if column[0] not in _NOT_LISTED]
    cursor.fetchall()
    return ", ".join(f"d.{name}" for name in names)


def household_file(home: Home, household_id: str) -> dict[str, Any]:
    household = resolve_household(home, household_id)
    rows = home.db.execute(
        f"""SELECT {_listed_columns(home.db)}, {LOCATION_COLUMNS}
           FROM documents d {LOCATION_JOINS}
           WHERE d.household_id = ?
           ORDER BY coalesce(d.item_no, p.item_no) IS NULL, b.year, b.box_no, coalesce(d.item_no, p.item_no), d.attached_to IS NOT NULL, d.doc_date, d.doc_id""",
        (household.id,),
    ).fetchall()
    documents = []
    for row in rows:
        documents.append({
            "doc_id": row["doc_id"], "type": row["type"], "title": row["title"], "date": row["doc_date"],
            "number": row["number"], "pages": row["pages"], "status": row["status"],
            "voided": row["status"] == "voided", "copy": copy_kind(row),
            "archival_code": row["filed_code"], "box": row["box_no"], "item": row["filed_item"],
            "location": location_label(row), "path": open_path(home.root, row),
            "original": row["source_doc"], "signed_copy": row["signed_copy"],
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
        **_history(home, household),
    }


def _history(home: Home, household) -> dict[str, Any]:
    """The household's history and its state this month (roster baseline plus decisions)."""
    events = events_for(home.db, household.id)
    today = dt.date.today()
    state = apply_events(household, events, today)
    return {"history": [event.to_json() for event in events],
            "state": {"month": today.strftime("%Y-%m"), "status": state.status, "amount": state.amount,
                      "covered": state.covered, "start_date": state.start_date}}


def format_household_file(data: dict[str, Any]) -> str:
    lines = [f"{data['name']}（户主身份证号 {data['household']}）{data['village']} {data['category']} "
             f"保障{data['covered']}人 月{data['amount']:.2f}元",
             "成员：" + "、".join(f"{m['name']}（{m['relation']}）" for m in data["members"]),
             f"档案共 {len(data['documents'])} 件：" if data["documents"] else "花名册中有此户，暂无文书。"]
    for index, doc in enumerate(data["documents"], start=1):
        number = f" {doc['number']}" if doc["number"] else ""
        void = "【已作废】" if doc["voided"] else ""
        code = f" 档号 {doc['archival_code']}" if doc["archival_code"] else ""
        where = doc["cross_reference"] or doc["location"]
        lines.append(f"  {index:>3}. {doc['date']} {doc['title']}{number}（{doc['copy']}）{void}  "
                     f"{where}{code}  （{doc['doc_id']}）")
        if doc["path"]:
            lines.append(f"       文件：{doc['path']}")
    state = data.get("state")
    if state:
        lines.append(f"本月（{state['month']}）状态：{STATUS_NAMES.get(state['status'], state['status'])} "
                     f"保障{state['covered']}人 月{state['amount']:.2f}元")
    if data.get("history"):
        lines.append(f"经历（{len(data['history'])} 项）：")
        lines += [f"  {describe(event)}" for event in data["history"]]
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
