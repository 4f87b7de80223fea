"""A household's history: application, investigation, publicity, decisions, adjustments, stops
and reviews, each with its date, the month its effect starts, the document that caused it and
the operator. The state of a household for a month (status, amount, people covered) is the
roster import's baseline with every decision effective by that month laid over it.

Issuing a document records its event inside the document's own write transaction
(`record_document_effect`), so a document and its effect exist together or not at all.
Events of voided documents no longer count; a correction (--replaces) brings its own event."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from collections import defaultdict
from typing import Any

from archive.catalog import audit
from archive.config import Config
from archive.errors import ArchiveError
from archive.roster.households import HouseholdRecord, get_household

KIND_NAMES = {
    "application": "申请",
    "investigation": "入户调查",
    "publicity": "公示",
    "approval": "审核确认（批准）",
    "refusal": "不予批准",
    "adjustment": "调整",
    "suspension": "停发（终止）",
    "review": "定期复核",
    "roster": "花名册差异（已接受）",
}
STATUS_NAMES = {"active": "在保", "applicant": "申请中", "stopped": "停保", "refused": "不予批准"}

# Which event a document records is its template's `event:` (doc_templates/*.yaml, see
# documents/types.py); templates without one (声明, 授权书, 审核确认表…) change nothing.
DECISIONS = ("approval", "refusal", "adjustment", "suspension")
# a difference of a re-imported roster that a person accepted (archive.roster.differences): it
# changes the household from its month like a decision, and names who accepted it
ROSTER_CHANGE = "roster"
EFFECTS = DECISIONS + (ROSTER_CHANGE,)
MANUAL_KINDS = ("application", "investigation", "review")


@dataclasses.dataclass
class Event:
    id: int
    household_id: str
    kind: str
    event_date: str
    effective_month: str | None
    status: str | None
    amount: float | None
    covered: int | None
    doc_id: str | None
    number: str | None
    title: str | None
    operator: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "kind_cn": KIND_NAMES.get(self.kind, self.kind)}

    def describe(self) -> str:
        return describe(self.to_json())


def describe(event: dict[str, Any]) -> str:
    """One line of the history as `archive show` prints it."""
    parts = [f"{event['event_date']} {KIND_NAMES.get(event['kind'], event['kind'])}"]
    if event.get("effective_month"):
        parts.append(f"自{_cn_month(event['effective_month'])}起")
    if event.get("status"):
        parts.append(STATUS_NAMES.get(event["status"], event["status"]))
    if event.get("amount") is not None:
        parts.append(f"月{event['amount']:.2f}元")
    if event.get("covered") is not None:
        parts.append(f"保障{event['covered']}人")
    detail = event.get("detail") or {}
    if detail.get("until"):
        parts.append(f"公示至{detail['until']}")
    if detail.get("irregular_income"):
        parts.append("收入不固定")
    if event.get("doc_id"):
        source = f"「{event.get('title') or ''}」{event.get('number') or ''}（{event['doc_id']}）"
    elif detail.get("difference"):
        source = f"花名册 {detail.get('file') or ''}（差异 #{detail['difference']}，已接受）"
    else:
        source = "手工登记" + (f"：{detail['note']}" if detail.get("note") else "")
    return " ".join(parts) + f"  依据 {source}  经办人 {event['operator']}"


def _cn_month(month: str) -> str:
    year, number = month.split("-")[:2]
    return f"{int(year)}年{int(number)}月"


def _month_key(value: str | dt.date) -> str:
    return (value.isoformat() if isinstance(value, dt.date) else str(value))[:7]


_EVENT_SQL = """SELECT e.*, d.number AS number, d.title AS title FROM case_events e
    LEFT JOIN documents d ON d.doc_id = e.doc_id
    WHERE (e.doc_id IS NULL OR d.status = 'active')"""


def _event(row: sqlite3.Row) -> Event:
    return Event(id=row["id"], household_id=row["household_id"], kind=row["kind"], event_date=row["event_date"],
                 effective_month=row["effective_month"], status=row["status"], amount=row["amount"],
                 covered=row["covered"], doc_id=row["doc_id"], number=row["number"], title=row["title"],
                 operator=row["operator"], detail=json.loads(row["detail"] or "{}"))


def events_for(conn: sqlite3.Connection, household_id: str) -> list[Event]:
    """The household's history in the order things happened (voided documents left out)."""
    rows = conn.execute(_EVENT_SQL + " AND e.household_id=? ORDER BY e.event_date, e.id", (household_id,))
    return [_event(row) for row in rows]


def all_events(conn: sqlite3.Connection) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for row in conn.execute(_EVENT_SQL + " ORDER BY e.event_date, e.id"):
        grouped[row["household_id"]].append(_event(row))
    return grouped


def _effect_order(event: Event) -> tuple[str, str, int]:
    return (event.effective_month or event.event_date[:7], event.event_date, event.id)


def apply_events(household: HouseholdRecord, events: list[Event], month: dt.date) -> HouseholdRecord:
    """The household as it stands in `month`: the imported baseline plus every decision whose
    effect started by then, in the order the effects start."""
    key = _month_key(month)
    state = dataclasses.replace(household, members=list(household.members))
    for event in sorted((e for e in events if e.kind in EFFECTS), key=_effect_order):
        if (event.effective_month or event.event_date[:7]) > key:
            continue
        if event.kind == ROSTER_CHANGE and event.status:
            state.status = event.status
        if event.kind == "approval":
            state.status = "active"
            state.start_date = f"{event.effective_month}-01" if event.effective_month else state.start_date
        elif event.kind == "refusal":
            if state.status == "applicant":
                state.status = "refused"
            continue
        elif event.kind == "suspension":
            state.status = "stopped"
        if event.amount is not None:
            state.amount = event.amount
        if event.covered is not None:
            state.covered = event.covered
    return state


def state_for_month(conn: sqlite3.Connection, household_id: str, month: dt.date) -> HouseholdRecord:
    household = get_household(conn, household_id)
    return apply_events(household, events_for(conn, household.id), month)


def households_as_of(conn: sqlite3.Connection, households: list[HouseholdRecord],
                     month: dt.date) -> list[HouseholdRecord]:
    """Every household as it stands in `month` (the roster baseline plus the history)."""
    grouped = all_events(conn)
    return [apply_events(h, grouped[h.id], month) if h.id in grouped else h for h in households]


def stop_date(events: list[Event], household: HouseholdRecord) -> dt.date | None:
    """When assistance last stopped (first day of the stop's effective month), None if it runs."""
    last = None
    for event in sorted((e for e in events if e.kind in ("approval", "suspension")
                         or (e.kind == ROSTER_CHANGE and e.status in ("active", "stopped"))), key=_effect_order):
        last = event
    if last is not None and (last.kind == "suspension" or (last.kind == ROSTER_CHANGE and last.status == "stopped")):
        return dt.date.fromisoformat(f"{last.effective_month or last.event_date[:7]}-01")
    return None


# --- recording ------------------------------------------------------------------------------

def _insert(conn: sqlite3.Connection, operator: str, household_id: str, kind: str, day: dt.date, *,
            effective_month: str | None = None, status: str | None = None, amount: float | None = None,
            covered: int | None = None, doc_id: str | None = None, detail: dict[str, Any] | None = None) -> None:
    conn.execute(
        """INSERT INTO case_events(household_id, kind, event_date, effective_month, status, amount, covered,
           doc_id, operator, detail) VALUES (?,?,?,?,?,?,?,?,?,?)""",
        (household_id, kind, day.isoformat(), effective_month, status, amount, covered, doc_id, operator,
         json.dumps(detail or {}, ensure_ascii=False)))
    audit(conn, operator, "case.event", household_id,
          {"kind": kind, "date": day.isoformat(), "effective_month": effective_month, "status": status,
           "amount": amount, "covered": covered, "doc_id": doc_id})


def record_document_effect(conn: sqlite3.Connection, config: Config, operator: str, kind: str | None,
                           doc_id: str, day: dt.date, context: dict[str, Any],
                           household: HouseholdRecord | None = None, data: Any = None) -> list[str]:
    """Record what an issued document did to the household's history (`kind`: its template's
    `event`); call inside the document's write transaction. Returns warnings (a second decision
    of the same kind on the same day, naming the first); raises ArchiveError (exit 4), rolling
    the document back, when its dates contradict the history (a decision before the
    application, an approval before its publicity ended)."""
    if kind is None or kind not in KIND_NAMES:
        return []
    if kind == "publicity":
        until = day + dt.timedelta(days=int(config.publicity_days) - 1)
        for entry in data or []:
            _insert(conn, operator, entry[0], "publicity", day, doc_id=doc_id,
                    detail={"until": until.isoformat(), "village": context.get("village")})
        return []
    if household is None:
        return []
    history = events_for(conn, household.id)
    warnings = _check_dates(kind, day, context, history, household)
    if kind == "review":
        irregular = str(context.get("irregular_income") or "").strip()
        detail: dict[str, Any] = {"result": context.get("review_result") or ""}
        if irregular:
            detail["irregular_income"] = irregular in ("是", "true", "1", "yes")
        _insert(conn, operator, household.id, kind, day, doc_id=doc_id, detail=detail)
    elif kind == "application":
        _insert(conn, operator, household.id, kind, day, doc_id=doc_id)
    elif kind == "investigation":
        _insert(conn, operator, household.id, kind, day, doc_id=doc_id)
    elif kind == "approval":
        _insert(conn, operator, household.id, kind, day, effective_month=_month_key(context.get("start_month") or day),
                status="active", amount=_number(context.get("amount"), household.amount),
                covered=household.covered, doc_id=doc_id)
    elif kind == "refusal":
        _insert(conn, operator, household.id, kind, day, effective_month=_month_key(day), status="refused",
                doc_id=doc_id, detail={"apply_date": context.get("apply_date") or None,
                                       "decision_date": context.get("decision_date") or None,
                                       "reason": context.get("reason")})
    elif kind == "adjustment":
        covered = context.get("new_covered")
        if covered not in (None, "") and not 1 <= int(covered) <= max(len(household.members), 1):
            raise ArchiveError(f"调整后保障人数 {covered} 不对：应在 1 到家庭人口数 {len(household.members)} 之间")
        _insert(conn, operator, household.id, kind, day,
                effective_month=_month_key(context.get("effective_month") or day),
                amount=_number(context.get("new_amount"), None),
                covered=int(covered) if covered not in (None, "") else None, doc_id=doc_id,
                detail={"reason": context.get("reason")})
    elif kind == "suspension":
        _insert(conn, operator, household.id, kind, day,
                effective_month=_month_key(context.get("effective_month") or day), status="stopped",
                doc_id=doc_id, detail={"reason": context.get("reason")})
    return warnings


def check_document_effect(conn: sqlite3.Connection, kind: str | None, day: dt.date, context: dict[str, Any],
                          household: HouseholdRecord | None) -> list[str]:
    """What `record_document_effect` would say of a document before it is issued, writing
    nothing: its warnings, or the ArchiveError it would raise (a decision before the
    application, an approval before its publicity ended). A draft is checked with this."""
    if kind is None or kind not in KIND_NAMES or kind == "publicity" or household is None:
        return []
    return _check_dates(kind, day, context, events_for(conn, household.id), household)


def _number(value: Any, fallback: float | None) -> float | None:
    if value in (None, ""):
        return fallback
    return round(float(value), 2)


def _check_dates(kind: str, day: dt.date, context: dict[str, Any], history: list[Event],
                 household: HouseholdRecord) -> list[str]:
    warnings = []
    for event in history:
        if event.kind == kind and event.event_date == day.isoformat() and event.doc_id:
            warnings.append(f"{household.head_name}户在{day.isoformat()}已有一份同类文书「{event.title}」"
                            f"{event.number or ''}（{event.doc_id}），请确认不是重复{KIND_NAMES[kind]}")
    if kind in ("approval", "refusal"):
        applied = [dt.date.fromisoformat(e.event_date) for e in history if e.kind == "application"]
        if context.get("apply_date"):
            applied.append(dt.date.fromisoformat(str(context["apply_date"])[:10]))
        if applied and day < min(applied):
            raise ArchiveError(f"日期相互矛盾：{KIND_NAMES[kind]}决定日期 {day.isoformat()} 早于申请日期 "
                               f"{min(applied).isoformat()}，决定不能在申请之前作出",
                               hint="请核对 --date 与申请日期")
        decided = context.get("decision_date")
        if kind == "refusal" and decided and dt.date.fromisoformat(str(decided)[:10]) > day:
            raise ArchiveError(f"日期相互矛盾：告知书日期 {day.isoformat()} 早于作出决定的日期 {decided}")
        if decided and applied and dt.date.fromisoformat(str(decided)[:10]) < min(applied):
            raise ArchiveError(f"日期相互矛盾：作出决定的日期 {decided} 早于申请日期 {min(applied).isoformat()}")
    if kind in ("adjustment", "suspension"):
        month = _month_key(context.get("effective_month") or day)
        state = apply_events(household, history, dt.date.fromisoformat(f"{month}-01"))
        if state.status != "active":
            warnings.append(f"{household.head_name}户在{_cn_month(month)}的状态为"
                            f"「{STATUS_NAMES.get(state.status, state.status)}」，不在保，请核对本{KIND_NAMES[kind]}是否必要")
    if kind == "approval":
        for event in history:
            until = event.detail.get("until") if event.kind == "publicity" else None
            if until and event.event_date <= day.isoformat() <= until:
                raise ArchiveError(
                    f"日期相互矛盾：{household.head_name}户的公示（{event.number or event.doc_id}）"
                    f"{event.event_date} 至 {until} 尚未期满，不能在 {day.isoformat()} 作出审核确认",
                    hint="公示期满、无异议后再生成审核确认通知书")
        cited = context.get("publicity_to")
        if cited and str(cited)[:10] >= day.isoformat():
            raise ArchiveError(f"日期相互矛盾：通知书所述公示期至 {str(cited)[:10]}，尚未期满，"
                               f"不能在 {day.isoformat()} 作出审核确认")
    return warnings


def record_roster_change(conn: sqlite3.Connection, operator: str, household_id: str, day: dt.date, *,
                         status: str | None = None, amount: float | None = None, covered: int | None = None,
                         detail: dict[str, Any] | None = None, effective_month: str | None = None) -> None:
    """A roster value a person accepted against the history (archive.roster.differences): it
    takes effect from `effective_month` (default: the month it was accepted); call inside a
    write transaction."""
    _insert(conn, operator, household_id, ROSTER_CHANGE, day, effective_month=effective_month or _month_key(day),
            status=status,
            amount=amount, covered=covered, detail=detail)


def record_manual_event(conn: sqlite3.Connection, operator: str, household_id: str, kind: str, day: dt.date,
                        *, irregular_income: bool | None = None, note: str = "") -> Event:
    """Record an act that produced no generated document: a paper application received, an
    investigation started, a periodic review done (with the household's income pattern)."""
    if kind not in MANUAL_KINDS:
        raise ArchiveError(f"不能手工登记「{kind}」", hint=f"可登记：{'、'.join(KIND_NAMES[k] + '(' + k + ')' for k in MANUAL_KINDS)}；"
                           "批准、不予批准、调整、停发须生成相应文书")
    household = get_household(conn, household_id)
    detail: dict[str, Any] = {"note": note} if note else {}
    if irregular_income is not None:
        detail["irregular_income"] = irregular_income
    _insert(conn, operator, household.id, kind, day, detail=detail)
    last = conn.execute("SELECT max(id) FROM case_events WHERE household_id=?", (household.id,)).fetchone()[0]
    return next(event for event in events_for(conn, household.id) if event.id == last)
