"""The households of the archive as a list: filtered by village, 保障类别 and status, found by a
name (the head's or any member's) or the last digits of any member's ID number. A household
with no documents yet is listed like any other. Every listing is audited (it shows personal
data)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from archive.catalog import audit, transaction
from archive.errors import ArchiveError
from archive.home import Home
from archive.search.query import is_name

STATUSES = {"active": "在保", "applicant": "申请中", "stopped": "停保"}
_DIGITS = re.compile(r"\d{4,17}[\dXx]?")


@dataclass
class HouseholdRow:
    household: str
    name: str
    village: str
    category: str
    status: str
    covered: int
    amount: float
    documents: int
    approximate: bool = False   # found by a name one character off the one typed (「近似」)
    matched: str | None = None  # that name

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class HouseholdPage:
    rows: list[HouseholdRow]
    total: int
    offset: int
    limit: int


def find_households(home: Home, *, text: str = "", village: str | None = None, category: str | None = None,
                    status: str | None = None, limit: int = 50, offset: int = 0) -> HouseholdPage:
    text = (text or "").strip()[:40]
    if village:
        village = home.config.require_village(village)
    if status and status not in STATUSES:
        status = next((key for key, title in STATUSES.items() if title == status), None) or _bad_status(status)
    where, args = [], []
    if village:
        where.append("h.village = ?")
        args.append(village)
    if category:
        where.append("h.category = ?")
        args.append(category)
    if status:
        where.append("h.status = ?")
        args.append(status)
    if text:
        if _DIGITS.fullmatch(text):
            where.append("EXISTS (SELECT 1 FROM members m WHERE m.household_id = h.id AND upper(m.id_number) LIKE ?)")
            args.append("%" + text.upper())
        else:
            where.append("(h.head_name LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM members m "
                         "WHERE m.household_id = h.id AND m.name LIKE ? ESCAPE '\\'))")
            pattern = "%" + re.sub(r"([%_\\\\])", r"\\\1", text) + "%"
            args += [pattern, pattern]
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    limit, offset = max(1, min(limit, 200)), max(0, offset)
    total = home.db.execute(f"SELECT count(*) FROM households h {clause}", args).fetchone()[0]
    order, order_args = home.config.village_order_sql("h.village")  # villages in the configured order
    rows = home.db.execute(
        f"""SELECT h.id, h.head_name, h.village, h.category, h.status, h.covered, h.amount,
                   (SELECT count(*) FROM documents d WHERE d.household_id = h.id) AS documents
            FROM households h {clause} ORDER BY {order}, h.head_name, h.id LIMIT ? OFFSET ?""",
        [*args, *order_args, limit, offset]).fetchall()
    found = [HouseholdRow(r["id"], r["head_name"], r["village"], r["category"], r["status"],
                          r["covered"], r["amount"], r["documents"]) for r in rows]
    if total == 0 and is_name(text):
        found, total = _near(home, text, village, category, status, limit, offset)
    with transaction(home.db):
        audit(home.db, home.operator, "household.list", text or None,
              {"village": village, "category": category, "status": status, "total": total})
    return HouseholdPage(found, total, offset, limit)


def _near(home: Home, text: str, village: str | None, category: str | None, status: str | None,
          limit: int, offset: int) -> tuple[list[HouseholdRow], int]:
    """Households with a member whose name is one character off `text`, as the search finds
    them (archive.search.names; a two-character name only within one village), marked 近似."""
    from archive.search import names

    match = names.match(home.db, text, allow_near=len(text) >= 3 or village is not None,
                        village=village, category=category)
    matched: dict[str, str] = {}
    for person in match.near:
        matched.setdefault(person.household, person.name)
    if not matched:
        return [], 0
    marks = ",".join("?" * len(matched))
    rows = home.db.execute(
        f"""SELECT h.id, h.head_name, h.village, h.category, h.status, h.covered, h.amount,
                   (SELECT count(*) FROM documents d WHERE d.household_id = h.id) AS documents
            FROM households h WHERE h.id IN ({marks}) {"AND h.status = ?" if status else ""}
            ORDER BY h.village, h.head_name, h.id""", [*matched, *([status] if status else [])]).fetchall()
    found = [HouseholdRow(r["id"], r["head_name"], r["village"], r["category"], r["status"], r["covered"],
                          r["amount"], r["documents"], approximate=True, matched=matched[r["id"]]) for r in rows]
    found.sort(key=lambda row: home.config.village_rank(row.village))  # stable: names within a village
    return found[offset:offset + limit], len(found)


def _bad_status(value: str) -> str:
    raise ArchiveError(f"状态「{value}」不存在，可选：{'、'.join(STATUSES.values())}")
