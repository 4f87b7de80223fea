"""A re-imported roster compared with what the archive's decisions set.

The provincial roster is re-imported every month or so. Where a household's history holds a
decision (审核确认, 调整, 停发, or a roster difference accepted earlier), the roster's amount,
people covered and status are compared with the state those decisions give; where a household
has decisions or documents, its category, village, 户主 and members are compared with the
catalog. Each value that differs is not written: it becomes a difference, pending until a person
accepts or rejects it (`archive roster diff / accept / reject`). Nothing a decision set changes
silently; households with no conflicting decision import as before.

Accepting a difference changes the household from the month it is accepted: amount, people
covered and status through an event in the history (kind `roster`, naming the difference and the
operator), category, 户主 and members in the catalog, the village through `household move`
(documents and folders follow). Rejecting keeps the archive's value; the same roster value is
not raised again while the archive's value stays the same. Every resolution is audited."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from archive.casework.history import (
    EFFECTS,
    STATUS_NAMES,
    Event,
    apply_events,
    events_for,
    record_roster_change,
)
from archive.catalog import audit, now_text, transaction
from archive.errors import ArchiveError, ConflictError, NotFoundError, UsageError
from archive.roster.households import HouseholdRecord, get_household

if TYPE_CHECKING:
    from archive.home import Home
    from archive.roster.importer import Household

FIELD_NAMES = {"amount": "月保障金额", "covered": "保障人数", "status": "状态", "category": "保障类别",
               "village": "村(社区)", "head_name": "户主姓名", "members": "家庭成员"}
STATE_NAMES = {"pending": "待确认", "accepted": "已接受", "rejected": "已拒绝", "superseded": "已被新花名册取代"}
# set by decisions (compared with the history's state) / kept by the catalog (compared with it)
DECIDED_FIELDS = ("amount", "covered", "status")
RECORD_FIELDS = ("category", "village", "head_name", "members")


def show_value(name: str, value: Any) -> str:
    """A value as a person reads it."""
    if value is None:
        return "（无）"
    if name == "amount":
        return f"{float(value):.2f}元"
    if name == "covered":
        return f"{value}人"
    if name == "status":
        return STATUS_NAMES.get(value, str(value))
    if name == "members":
        return "、".join(f"{m[0]}（{m[1]}）" for m in value)
    return str(value)


@dataclass
class Difference:
    household_id: str
    head_name: str
    village: str
    field: str
    roster: Any
    archive: Any
    basis: list[dict[str, Any]] = field(default_factory=list)
    id: int | None = None
    state: str = "pending"
    file_name: str | None = None
    created_at: str | None = None
    created_by: str | None = None
    resolved_at: str | None = None
    resolved_by: str | None = None
    reason: str | None = None

    @property
    def basis_text(self) -> str:
        parts = []
        for item in self.basis:
            if item.get("doc_id"):
                parts.append(f"「{item.get('title') or ''}」{item.get('number') or ''}（{item['doc_id']}）")
            elif item.get("difference"):
                parts.append(f"已接受的花名册差异#{item['difference']}")
            elif item.get("documents"):
                parts.append(f"已有文书 {item['documents']} 份")
        return "、".join(parts) or "档案记录"

    def describe(self) -> str:
        number = f"#{self.id} " if self.id is not None else ""
        return (f"{number}{self.village} {self.head_name}（{self.household_id}）{FIELD_NAMES[self.field]}："
                f"花名册 {show_value(self.field, self.roster)}，档案 {show_value(self.field, self.archive)}"
                f"（依据 {self.basis_text}）")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "field_cn": FIELD_NAMES[self.field], "state_cn": STATE_NAMES[self.state],
                "message": self.describe()}


def _members(record: HouseholdRecord | Household) -> list[list[str]]:
    return [[m.name, m.relation, m.id_number] for m in record.members]


def _month_of(events: list[Event], today: dt.date) -> dt.date:
    """The month whose state a roster is compared with: this month, or a later one a decision
    already reaches (a stop effective next month is what the archive holds)."""
    months = [today.strftime("%Y-%m")] + [e.effective_month for e in events if e.effective_month]
    return dt.date.fromisoformat(f"{max(months)}-01")


def _basis(event: Event) -> dict[str, Any]:
    if event.doc_id:
        return {"doc_id": event.doc_id, "number": event.number, "title": event.title, "kind": event.kind,
                "effective_month": event.effective_month}
    return {"difference": event.detail.get("difference"), "kind": event.kind,
            "effective_month": event.effective_month}


def compare(conn: sqlite3.Connection, new: Household, *, today: dt.date | None = None) -> list[Difference]:
    """The values of a roster household that a decision (or the household's documents) stands
    against; an empty list for a new household or one with nothing decided."""
    try:
        current = get_household(conn, new.id)
    except NotFoundError:
        return []
    events = events_for(conn, current.id)
    decided = [e for e in events if e.kind in EFFECTS]
    documents = conn.execute("SELECT count(*) FROM documents WHERE household_id=? AND status='active'",
                             (current.id,)).fetchone()[0]
    if not decided and not documents:
        return []
    state = apply_events(current, events, _month_of(events, today or dt.date.today()))
    found: list[Difference] = []

    def add(name: str, roster: Any, archive: Any, basis: list[dict[str, Any]]) -> None:
        found.append(Difference(current.id, current.head_name, current.village, name, roster, archive, basis))

    for name in DECIDED_FIELDS:
        setters = [e for e in decided if getattr(e, name) is not None]
        roster, archive = getattr(new, name), getattr(state, name)
        if name == "amount":
            roster, archive = round(float(roster), 2), round(float(archive), 2)
        if setters and roster != archive:
            add(name, roster, archive, [_basis(setters[-1])])
    standing = [_basis(decided[-1])] if decided else [{"documents": documents}]
    for name in RECORD_FIELDS:
        roster = _members(new) if name == "members" else getattr(new, name)
        archive = _members(current) if name == "members" else getattr(current, name)
        if (sorted(roster) != sorted(archive)) if name == "members" else roster != archive:
            add(name, roster, archive, standing)
    return found


def _load(row: sqlite3.Row) -> Difference:
    head = row["head_name"] if "head_name" in row.keys() else None
    return Difference(
        household_id=row["household_id"], head_name=head or "", village=row["village"] or "",
        field=row["field"], roster=json.loads(row["roster_value"]), archive=json.loads(row["archive_value"]),
        basis=json.loads(row["basis"] or "[]"), id=row["id"], state=row["state"], file_name=row["file_name"],
        created_at=row["created_at"], created_by=row["created_by"], resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"], reason=row["reason"])


_SELECT = """SELECT r.*, h.head_name, h.village FROM roster_differences r
             LEFT JOIN households h ON h.id = r.household_id"""


def held(conn: sqlite3.Connection, found: list[Difference]) -> tuple[list[Difference], list[Difference]]:
    """Split a household's differences into those to record and those a person already
    rejected (same roster value, same archive value): both keep the archive's value."""
    fresh, rejected = [], []
    for difference in found:
        row = conn.execute(
            "SELECT 1 FROM roster_differences WHERE household_id=? AND field=? AND state='rejected' "
            "AND roster_value=? AND archive_value=?",
            (difference.household_id, difference.field, _dump(difference.roster), _dump(difference.archive))).fetchone()
        (rejected if row else fresh).append(difference)
    return fresh, rejected


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def record(conn: sqlite3.Connection, operator: str, household_id: str, found: list[Difference], *,
           import_sha: str, file_name: str) -> list[Difference]:
    """Inside the import's transaction: this roster's differences for one household. One still
    pending with the same values stays as it is (same number); the other pending ones of the
    household are marked superseded by this roster. Returns the differences newly recorded."""
    pending = {(row["field"], row["roster_value"], row["archive_value"]): row["id"] for row in conn.execute(
        "SELECT id, field, roster_value, archive_value FROM roster_differences WHERE household_id=? AND state='pending'",
        (household_id,))}
    keep = {pending[k] for d in found if (k := (d.field, _dump(d.roster), _dump(d.archive))) in pending}
    for number in set(pending.values()) - keep:
        conn.execute("UPDATE roster_differences SET state='superseded', resolved_at=?, "
                     "resolved_by=?, reason=? WHERE id=?", (now_text(), operator, f"被花名册 {file_name} 取代", number))
    stored = []
    for difference in found:
        if (difference.field, _dump(difference.roster), _dump(difference.archive)) in pending:
            continue
        cursor = conn.execute(
            "INSERT INTO roster_differences(household_id, field, roster_value, archive_value, basis, import_sha, "
            "file_name, created_by) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (household_id, difference.field, _dump(difference.roster), _dump(difference.archive),
             _dump(difference.basis), import_sha, file_name, operator))
        difference.id = cursor.fetchone()[0]
        difference.file_name = file_name
        stored.append(difference)
    return stored


def list_differences(conn: sqlite3.Connection, *, every: bool = False,
                     household: str | None = None) -> list[Difference]:
    """Pending differences (or every one, resolved too), in the order they were found."""
    sql, args = _SELECT + " WHERE 1=1", []
    if not every:
        sql += " AND r.state='pending'"
    if household:
        sql += " AND r.household_id=?"
        args.append(household.upper())
    return [_load(row) for row in conn.execute(sql + " ORDER BY r.id", args)]


@dataclass
class Resolution:
    difference: Difference
    done: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {**self.difference.to_json(), "done": self.done, "result": self.message}


def _chosen(conn: sqlite3.Connection, ids: list[int], every: bool) -> list[Difference]:
    if every == bool(ids):
        raise UsageError("请给出差异编号，或用 --all 处理全部待确认的差异（二者选一）",
                         hint="先用 archive roster diff 查看待确认的差异及其编号")
    if every:
        return list_differences(conn)
    chosen = []
    for number in ids:
        row = conn.execute(_SELECT + " WHERE r.id=?", (number,)).fetchone()
        if row is None:
            raise NotFoundError(f"找不到花名册差异 #{number}", hint="用 archive roster diff 查看待确认的差异")
        chosen.append(_load(row))
    return chosen


def _close(conn: sqlite3.Connection, operator: str, difference: Difference, state: str, reason: str) -> None:
    conn.execute("UPDATE roster_differences SET state=?, resolved_at=?, resolved_by=?, "
                 "reason=? WHERE id=?", (state, now_text(), operator, reason or None, difference.id))
    audit(conn, operator, f"roster.{'accept' if state == 'accepted' else 'reject'}", difference.household_id,
          {"difference": difference.id, "field": difference.field, "roster": difference.roster,
           "archive": difference.archive, "reason": reason or None})
    difference.state, difference.resolved_by, difference.reason = state, operator, reason or None


def reject(home: Home, ids: list[int], *, every: bool = False, reason: str = "") -> list[Resolution]:
    """Keep the archive's values; the roster's are recorded as rejected, by whom and why."""
    out = []
    for difference in _chosen(home.db, ids, every):
        if difference.state != "pending":
            out.append(Resolution(difference, False, f"差异 #{difference.id} {STATE_NAMES[difference.state]}，未再处理"))
            continue
        with transaction(home.db):
            _close(home.db, home.operator, difference, "rejected", reason)
        out.append(Resolution(difference, True, f"已拒绝，档案保留 {show_value(difference.field, difference.archive)}"))
    return out


def accept(home: Home, ids: list[int], *, every: bool = False, reason: str = "",
           today: dt.date | None = None, month: dt.date | None = None) -> list[Resolution]:
    """Take the roster's values, from this month on (or from `month`: the roster's own month);
    one difference that cannot be applied (a member who belongs to another household) is
    reported and the others go ahead."""
    day = today or dt.date.today()
    since = (month or day).replace(day=1)
    out = []
    for difference in _chosen(home.db, ids, every):
        if difference.state != "pending":
            out.append(Resolution(difference, False, f"差异 #{difference.id} {STATE_NAMES[difference.state]}，未再处理"))
            continue
        try:
            message = _apply(home, difference, day, since, reason)
        except ArchiveError as exc:
            out.append(Resolution(difference, False, f"未能接受：{exc.message}"))
            continue
        out.append(Resolution(difference, True, message))
    return out


def _apply(home: Home, difference: Difference, day: dt.date, since: dt.date, reason: str) -> str:
    conn, name, value = home.db, difference.field, difference.roster
    why = reason or f"接受花名册差异 #{difference.id}（{difference.file_name or '花名册'}）"
    if name == "village":
        from archive.filing.moves import move_household

        current = get_household(conn, difference.household_id)
        if current.village != value:
            move_household(home, difference.household_id, value, why)  # documents and folders follow
        with transaction(conn):
            _close(conn, home.operator, difference, "accepted", reason)
        return f"已接受：家庭所在村改为 {value}"
    with transaction(conn):
        if name in DECIDED_FIELDS:
            record_roster_change(conn, home.operator, difference.household_id, day, **{name: value},
                                 effective_month=since.strftime("%Y-%m"),
                                 detail={"difference": difference.id, "file": difference.file_name,
                                         "reason": reason or None})
        elif name in ("category", "head_name"):
            # its documents are re-indexed: trigger households_rev (migration 0010)
            conn.execute(f"UPDATE households SET {name}=?, updated_at=? WHERE id=?",
                         (value, now_text(), difference.household_id))
        elif name == "members":
            _replace_members(conn, difference.household_id, value)
        _close(conn, home.operator, difference, "accepted", reason)
    start = f"，自{since.year}年{since.month}月起" if name in DECIDED_FIELDS else ""
    return f"已接受：{FIELD_NAMES[name]}改为 {show_value(name, value)}{start}（{why}）"


def _replace_members(conn: sqlite3.Connection, household_id: str, members: list[list[str]]) -> None:
    for member_name, _relation, id_number in members:
        clash = conn.execute("SELECT m.household_id, h.head_name FROM members m JOIN households h "
                             "ON h.id = m.household_id WHERE m.id_number=? AND m.household_id<>?",
                             (id_number, household_id)).fetchone()
        if clash:
            raise ConflictError(f"成员 {member_name}（{id_number}）已登记在户主 {clash['head_name']} 的家庭中，一人不能同属两户")
    conn.execute("DELETE FROM members WHERE household_id=?", (household_id,))
    for seq, (member_name, relation, id_number) in enumerate(members, start=1):
        conn.execute("INSERT INTO members(household_id, seq, name, relation, id_number) VALUES (?,?,?,?,?)",
                     (household_id, seq, member_name, relation, id_number))
    # the documents are re-indexed with the new names: triggers members_rev_* (migration 0010)
