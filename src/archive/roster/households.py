"""Households and members as read back from the catalog."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field

from archive import idcard
from archive.catalog import dialect
from archive.errors import NotFoundError


@dataclass
class MemberRecord:
    seq: int
    name: str
    relation: str
    id_number: str

    def as_context(self, on: dt.date) -> dict[str, object]:
        birth = idcard.birth_date(self.id_number)
        age = idcard.age_on(self.id_number, on)
        return {
            "index": self.seq, "name": self.name, "relation": self.relation,
            "id_number": self.id_number, "sex": idcard.sex(self.id_number),
            "birth": birth.isoformat() if birth else "", "age": age,
            "is_adult": age is not None and age >= 18,
        }


@dataclass
class HouseholdRecord:
    id: str
    village: str
    head_name: str
    category: str
    covered: int
    amount: float
    start_date: str | None
    status: str
    kin_filed: bool
    phone: str
    address: str
    members: list[MemberRecord] = field(default_factory=list)

    @property
    def folder_name(self) -> str:
        """户主姓名-身份证后4位: readable, and unique enough within a village."""
        return f"{self.head_name}-{self.id[-4:]}"

    def digest_fields(self) -> dict[str, object]:
        return {
            "village": self.village, "head_name": self.head_name, "category": self.category,
            "covered": self.covered, "amount": self.amount, "start_date": self.start_date,
            "members": [(m.name, m.relation, m.id_number) for m in self.members],
        }


def _from_row(row: sqlite3.Row) -> HouseholdRecord:
    return HouseholdRecord(
        id=row["id"], village=row["village"], head_name=row["head_name"], category=row["category"],
        covered=row["covered"], amount=row["amount"], start_date=row["start_date"], status=row["status"],
        kin_filed=bool(row["kin_filed"]), phone=row["phone"] or "", address=row["address"] or "",
    )


def _attach_members(conn: sqlite3.Connection, households: list[HouseholdRecord]) -> None:
    by_id = {h.id: h for h in households}
    if not by_id:
        return
    marks = ",".join("?" * len(by_id))
    for row in conn.execute(
        f"SELECT * FROM members WHERE household_id IN ({marks}) ORDER BY household_id, seq", list(by_id)
    ):
        by_id[row["household_id"]].members.append(
            MemberRecord(row["seq"], row["name"], row["relation"], row["id_number"])
        )


def get_household(conn: sqlite3.Connection, household_id: str) -> HouseholdRecord:
    key = idcard.normalize(household_id)
    row = conn.execute("SELECT * FROM households WHERE id=?", (key,)).fetchone()
    if row is None:
        member = conn.execute(
            "SELECT h.head_name, h.id FROM members m JOIN households h ON h.id=m.household_id WHERE m.id_number=?",
            (key,),
        ).fetchone()
        if member:
            raise NotFoundError(
                f"{key} 不是户主的身份证号，而是户主 {member['head_name']} 家的成员",
                hint=f"请用户主身份证号 {member['id']}",
            )
        raise NotFoundError(f"找不到户主身份证号为 {key} 的家庭", hint="请先用 archive roster import 导入花名册")
    household = _from_row(row)
    _attach_members(conn, [household])
    return household


def _in_order(conn) -> str:
    """The order households were first imported in: SQLite's rowid; PostgreSQL has no insertion
    order, so there the time of creation (to the second), then the ID."""
    return "created_at, id" if dialect(conn) == "postgresql" else "rowid"


def list_households(conn: sqlite3.Connection, village: str | None = None) -> list[HouseholdRecord]:
    if village:
        rows = conn.execute(f"SELECT * FROM households WHERE village=? ORDER BY {_in_order(conn)}", (village,)).fetchall()
    else:
        rows = conn.execute(f"SELECT * FROM households ORDER BY village, {_in_order(conn)}").fetchall()
    households = [_from_row(row) for row in rows]
    _attach_members(conn, households)
    return households
