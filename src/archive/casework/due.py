"""What is due or overdue in a month: periodic reviews (复核), investigations not started within
3 working days of an application, decisions past 30 working days, refusals not notified within
3 working days of the decision, publicity periods ending, and generated notices whose signed
copy (签收件) has not come back. Intervals and time limits come from `casework:` in config.yaml;
working days skip weekends and the configured holidays (archive.dates)."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from archive import idcard
from archive.casework import rules
from archive.casework.history import Event, all_events, apply_events
from archive.catalog import audit, transaction
from archive.dates import add_working_days, month_end
from archive.errors import ArchiveError
from archive.filing.late import late_documents
from archive.home import Home
from archive.roster.households import HouseholdRecord, list_households
from archive.workbooks import print_wide, title_row, workbook_bytes

KIND_NAMES = {
    "review": "定期复核",
    "investigation": "入户调查（受理后3个工作日内）",
    "decision": "审核确认决定（30个工作日内）",
    "refusal_notice": "不予批准告知（决定后3个工作日内）",
    "publicity_end": "公示期满",
    "signed_copy": "签收件未回收",
    "late_filing": "已归档月份的补归档",
}
OVERDUE, DUE = "逾期", "到期"


@dataclass
class DueItem:
    kind: str
    due: str                   # ISO date the act was or is due
    state: str                 # 逾期 / 到期
    household: str | None
    head_name: str
    village: str
    detail: str
    doc_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind_cn": KIND_NAMES[self.kind]}


def add_months(day: dt.date, months: int) -> dt.date:
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


def due_list(home: Home, month: dt.date | None = None, today: dt.date | None = None) -> list[DueItem]:
    """Everything due by the end of `month` (default: this month) and not done by `today` (or by
    the month's end for a past month), oldest first. Looking is audited (by the acting user)."""
    today = today or dt.date.today()
    first = (month or today).replace(day=1)
    items = _due_items(home, first, today)
    with transaction(home.db):
        audit(home.db, home.operator, "due", first.strftime("%Y-%m"), {"items": len(items)})
    return items


def select_due(home: Home, items: list[DueItem], *, kind: str | None = None, village: str | None = None,
               state: str | None = None) -> list[DueItem]:
    """The items of one kind (KIND_NAMES' key), village and state (逾期 / 到期); unknown values are
    refused with the choices."""
    if kind and kind not in KIND_NAMES:
        raise ArchiveError(f"没有「{kind}」这类事项", hint="可选：" + "、".join(f"{k}（{v}）" for k, v in KIND_NAMES.items()))
    if village:
        village = home.config.require_village(village)
    if state and state not in (OVERDUE, DUE):
        raise ArchiveError(f"状态「{state}」不对，可选：{OVERDUE}、{DUE}")
    return [item for item in items if (not kind or item.kind == kind) and (not village or item.village == village)
            and (not state or item.state == state)]


def _due_items(home: Home, first: dt.date, today: dt.date) -> list[DueItem]:
    last = month_end(first)
    as_of = min(today, last)
    config = home.config
    settings = rules.settings(config)
    holidays = config.holiday_dates
    deadlines = settings["deadlines"]
    events = all_events(home.db)
    items: list[DueItem] = []
    households = list_households(home.db)
    for household in households:
        history = [e for e in events.get(household.id, []) if _date(e.event_date) <= as_of]
        state = apply_events(household, history, first)
        items += _review(household, state, history, settings["review"], as_of, last)
        items += _procedure(household, history, deadlines, holidays, as_of, last)
        items += _refusal_notices(household, history, deadlines, holidays, first, last)
    items += _publicity_ends(home, config.publicity_days, deadlines, holidays, as_of, first, last)
    items += _signed_copies(home, deadlines, holidays, as_of, last)
    items += _late_filing(home, as_of, last)
    items.sort(key=lambda item: (item.due, item.kind, item.village, item.head_name))
    return items


def _item(kind: str, due: dt.date, as_of: dt.date, household: HouseholdRecord | None, detail: str,
          doc_id: str | None = None, village: str = "") -> DueItem:
    return DueItem(kind=kind, due=due.isoformat(), state=OVERDUE if due < as_of else DUE,
                   household=household.id if household else None,
                   head_name=household.head_name if household else "",
                   village=household.village if household else village, detail=detail, doc_id=doc_id)


def review_interval(household: HouseholdRecord, history: list[Event], review: dict[str, Any],
                    on: dt.date) -> tuple[int, str]:
    """Months between reviews and why: irregular income (as found by the last review) or a
    member of working age makes the shorter interval."""
    reviews = [e for e in history if e.kind == "review" and "irregular_income" in e.detail]
    if reviews and reviews[-1].detail["irregular_income"]:
        return int(review["variable_months"]), "收入不固定"
    low, high = review["working_age"]
    if household.category in review["working_age_categories"]:
        for member in household.members:
            age = idcard.age_on(member.id_number, on)
            if age is not None and low <= age < high:
                return int(review["variable_months"]), "有劳动年龄成员"
    return int(review["stable_months"]), "家庭情况稳定"


def _review(household: HouseholdRecord, state: HouseholdRecord, history: list[Event], review: dict[str, Any],
            as_of: dt.date, last: dt.date) -> list[DueItem]:
    if state.status != "active" or household.category not in review["categories"]:
        return []
    anchors = [_date(e.event_date) for e in history if e.kind in ("review", "approval", "adjustment")]
    if anchors:
        since = max(anchors)
        last_act = f"上次审核或复核 {since.isoformat()}"
    elif state.start_date:
        since = _date(state.start_date)
        last_act = f"自 {since.isoformat()} 开始保障，档案中没有复核记录"
    else:
        return []
    months, why = review_interval(household, history, review, as_of)
    due = add_months(since, months)
    if due > last:
        return []
    return [_item("review", due, as_of, household, f"{last_act}，{why}，每{months}个月复核一次")]


def _procedure(household: HouseholdRecord, history: list[Event], deadlines: dict[str, int],
               holidays: frozenset[dt.date], as_of: dt.date, last: dt.date) -> list[DueItem]:
    items = []
    applications = [e for e in history if e.kind == "application"]
    if not applications:
        return []
    applied = _date(applications[-1].event_date)
    later = [e for e in history if _date(e.event_date) >= applied]
    decided = any(e.kind in ("approval", "refusal") for e in later)
    investigated = decided or any(e.kind == "investigation" for e in later)
    if not investigated:
        due = add_working_days(applied, int(deadlines["investigation"]), holidays)
        if due <= last:
            items.append(_item("investigation", due, as_of, household,
                               f"{applied.isoformat()} 受理申请，尚未开始入户调查"))
    if not decided:
        due = add_working_days(applied, int(deadlines["decision"]), holidays)
        if due <= last:
            items.append(_item("decision", due, as_of, household,
                               f"{applied.isoformat()} 受理申请，尚未作出审核确认或不予批准决定"))
    return items


def _refusal_notices(household: HouseholdRecord, history: list[Event], deadlines: dict[str, int],
                     holidays: frozenset[dt.date], first: dt.date, last: dt.date) -> list[DueItem]:
    items = []
    for event in history:
        decided = event.detail.get("decision_date") if event.kind == "refusal" else None
        if not decided:
            continue
        due = add_working_days(_date(decided), int(deadlines["refusal_notice"]), holidays)
        notified = _date(event.event_date)
        if notified > due and first <= notified <= last:
            items.append(DueItem("refusal_notice", due.isoformat(), OVERDUE, household.id, household.head_name,
                                 household.village, f"{decided} 作出不予批准决定，{notified.isoformat()} 才告知，"
                                 f"超过{deadlines['refusal_notice']}个工作日", event.doc_id))
    return items


def _publicity_ends(home: Home, days: int, deadlines: dict[str, int], holidays: frozenset[dt.date],
                    as_of: dt.date, first: dt.date, last: dt.date) -> list[DueItem]:
    items = []
    for row in home.db.execute("SELECT doc_id, village, doc_date, number, title FROM documents "
                               "WHERE type='publicity' AND status='active'"):
        until = _date(row["doc_date"]) + dt.timedelta(days=int(days) - 1)
        if first <= until <= last:
            items.append(DueItem("publicity_end", until.isoformat(), "已期满" if until < as_of else DUE, None, "",
                                 row["village"] or "", f"「{row['title']}」{row['number'] or ''} "
                                 f"{row['doc_date']} 起公示{days}天", row["doc_id"]))
    return items


def _signed_copies(home: Home, deadlines: dict[str, int], holidays: frozenset[dt.date], as_of: dt.date,
                   last: dt.date) -> list[DueItem]:
    from archive.documents.types import registry

    notices = [doc_type.id for doc_type in registry(home) if doc_type.notice]  # templates with `notice: true`
    marks = ",".join("?" * len(notices))
    rows = home.db.execute(
        f"""SELECT d.doc_id, d.title, d.number, d.doc_date, d.household_id, h.head_name, h.village
            FROM documents d LEFT JOIN households h ON h.id = d.household_id
            WHERE d.type IN ({marks}) AND d.status='active' AND d.origin='generated' AND d.doc_date <= ?
              AND NOT EXISTS (SELECT 1 FROM documents s WHERE s.source_doc = d.doc_id AND s.status='active')
            ORDER BY d.doc_date""", (*notices, as_of.isoformat()))
    items = []
    for row in rows:
        due = add_working_days(_date(row["doc_date"]), int(deadlines["signed_copy"]), holidays)
        if due <= last:
            items.append(DueItem("signed_copy", due.isoformat(), OVERDUE if due < as_of else DUE,
                                 row["household_id"], row["head_name"] or "", row["village"] or "",
                                 f"「{row['title']}」{row['number'] or ''} {row['doc_date']} 发出，签收件尚未扫描归档",
                                 row["doc_id"]))
    return items


def _late_filing(home: Home, as_of: dt.date, last: dt.date) -> list[DueItem]:
    """Closed months that documents reached afterwards: each is due for reopening and filing since
    its own month end (the same finding `file-month` and `verify` report)."""
    items = []
    for late in late_documents(home.db):
        closed_end = month_end(_date(late.month + "-01"))
        if closed_end <= last:
            items.append(_item("late_filing", closed_end, as_of, None, late.message,
                               doc_id=late.doc_ids[0]))
    return items


DUE_HEADER = ["序号", "事项", "状态", "应办日期", "村(社区)", "户主姓名", "户主身份证号", "说明", "文书编号"]


def due_xlsx(items: list[DueItem], township: str, month: dt.date) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "到期事项"
    title_row(sheet, f"{township}{month.year}年{month.month}月社会救助到期与逾期事项", len(DUE_HEADER),
              Font(name="黑体", size=14))
    sheet.append(DUE_HEADER)
    for index, item in enumerate(items, start=1):
        sheet.append([index, KIND_NAMES[item.kind], item.state, item.due, item.village, item.head_name,
                      item.household or "", item.detail, item.doc_id or ""])
        sheet.cell(sheet.max_row, 7).number_format = "@"
    print_wide(sheet, [6, 26, 8, 12, 10, 10, 21, 50, 14], header_row=2)
    return workbook_bytes(book)  # every text cell as text: a name like =HYPERLINK(…) is no formula

