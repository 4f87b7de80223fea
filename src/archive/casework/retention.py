"""Retention terms: 审批类 household files are kept at least 3 years after the household's
assistance stops (a clock per household, started by the stop; a refused application's clock
starts at the refusal), 日常管理类 records at least 5 years, counted from 1 January after the
year the document was made. A filed item is never proposed before the 保管期限 stamped on it
(D10, D30; Y never) unless configured otherwise. The software only lists what has reached its
term and drafts the 销毁清册 for the appraisal group's approval: it never deletes anything."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from archive import files
from archive.casework import rules
from archive.casework.history import all_events, apply_events, stop_date
from archive.catalog import audit, transaction
from archive.documents.types import filing_class, registry
from archive.home import Home
from archive.roster.households import list_households
from archive.sealing import register_output
from archive.workbooks import print_wide, title_row, workbook_bytes


@dataclass
class RetentionItem:
    doc_id: str
    archival_code: str | None
    number: str | None
    title: str
    date: str
    household: str | None
    head_name: str
    village: str
    filing_class: str           # 审批类 / 日常管理类
    retention: str | None        # 保管期限 on the 归档章 (D10, D30, Y) when filed
    term_end: str                # ISO date from which the item may be appraised for destruction
    basis: str                   # why that date, in Chinese

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RetentionReport:
    as_of: str
    reached: list[RetentionItem]
    kept: int                    # documents not yet at their term
    unknown: list[str]           # households marked 停保 by the roster with no recorded stop date

    def summary(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "reached": len(self.reached), "kept": self.kept,
                "unknown_stop_date": len(self.unknown)}


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _filed_term(retention: str | None, made: dt.date) -> tuple[dt.date | None, str]:
    if not retention:
        return None, ""
    if retention == "Y":
        return dt.date.max, "保管期限为永久"
    years = int(retention.lstrip("D"))
    return dt.date(made.year + 1 + years, 1, 1), f"归档保管期限{retention}（{years}年，自形成次年1月1日起算）"


def retention_report(home: Home, as_of: dt.date | None = None) -> RetentionReport:
    as_of = as_of or dt.date.today()
    config = home.config
    settings = rules.settings(config)["retention"]
    events = all_events(home.db)
    households = {h.id: h for h in list_households(home.db)}
    stops: dict[str, tuple[dt.date | None, str]] = {}
    unknown: list[str] = []
    for household_id, household in households.items():
        history = events.get(household_id, [])
        stopped = stop_date(history, household)
        if stopped:
            stops[household_id] = (stopped, f"{stopped.year}年{stopped.month}月停保")
            continue
        state = apply_events(household, history, as_of)
        refusals = [e for e in history if e.kind == "refusal"]
        if state.status == "refused" and refusals:
            day = dt.date.fromisoformat(refusals[-1].event_date)
            stops[household_id] = (day, f"{day.isoformat()} 不予批准")
        elif state.status == "stopped":
            unknown.append(household_id)
            stops[household_id] = (None, "")
        else:
            stops[household_id] = (None, "")
    reached, kept = [], 0
    rows = home.db.execute("SELECT * FROM documents WHERE origin IN ('generated','scan') ORDER BY doc_date, doc_id")
    types = registry(home)
    for row in rows:
        name, _ = filing_class(home, row["type"], types)
        made = dt.date.fromisoformat(row["doc_date"][:10])
        household = households.get(row["household_id"]) if row["household_id"] else None
        if name == "审批类" and household is not None:
            stopped, why = stops.get(household.id, (None, ""))
            years = int(settings.get("审批类", {}).get("years_after_stop", 3))
            if stopped is None:
                kept += 1
                continue
            term, basis = _years_later(stopped, years), f"审批类，{why}后保存{years}年"
        else:
            years = int(settings.get(name, settings["日常管理类"]).get("years", 5))
            term, basis = dt.date(made.year + 1 + years, 1, 1), f"{name}，保存{years}年（自形成次年1月1日起算）"
        if settings.get("respect_filed_period", True):
            filed, filed_basis = _filed_term(row["retention"], made)
            if filed is not None and filed > term:
                term, basis = filed, filed_basis
        if term > as_of:
            kept += 1
            continue
        reached.append(RetentionItem(
            doc_id=row["doc_id"], archival_code=row["archival_code"], number=row["number"], title=row["title"],
            date=row["doc_date"], household=row["household_id"], head_name=household.head_name if household else "",
            village=row["village"] or (household.village if household else ""), filing_class=name,
            retention=row["retention"], term_end=term.isoformat(), basis=basis))
    return RetentionReport(as_of=as_of.isoformat(), reached=reached, kept=kept, unknown=unknown)


HEADER = ["序号", "档号", "文书编号", "文号", "题名", "户主姓名", "村(社区)", "日期", "类别", "保管期限",
          "到期日期", "依据", "鉴定意见"]


def destruction_list_xlsx(report: RetentionReport, fonds: str, township: str) -> bytes:
    """销毁清册（草稿）: for the appraisal group to decide item by item; signatures at the foot."""
    book = Workbook()
    sheet = book.active
    sheet.title = "销毁清册"
    title_row(sheet, f"{township}社会救助档案销毁清册（草稿，须经鉴定小组鉴定并报批）", len(HEADER),
              Font(name="方正小标宋简体", size=16))
    sheet.append([f"全宗号：{fonds}　统计截止：{report.as_of}　到期 {len(report.reached)} 件（软件不删除任何档案）"])
    sheet.append(HEADER)
    for index, item in enumerate(report.reached, start=1):
        sheet.append([index, item.archival_code or "（未归档）", item.doc_id, item.number or "", item.title,
                      item.head_name, item.village, item.date.replace("-", ""), item.filing_class,
                      item.retention or "", item.term_end, item.basis, ""])
    sheet.append([])
    for line in ("鉴定小组意见：", "鉴定人（签字）：　　　　　　　　日期：", "审批意见：",
                 "审批人（签字）：　　　　　　　　日期：", "监销人（签字）：　　　　　　　　日期："):
        sheet.append([line])
    print_wide(sheet, [6, 26, 14, 22, 34, 10, 10, 10, 10, 9, 12, 36, 14], header_row=3)
    return workbook_bytes(book)  # every text cell as text: a name like =HYPERLINK(…) is no formula


def draft_destruction_list(home: Home, report: RetentionReport, out: Path | None = None, *,
                           force: bool = False) -> Path:
    """Write the 销毁清册 draft (default: under the home's reports/, replaced by a later draft of
    the same day; a named file is never overwritten without `force`), register it and audit it."""
    blob = destruction_list_xlsx(report, home.config.fonds, home.config.township)
    if out is None:
        out = files.ensure_dir(home.root / "reports") / f"销毁清册（草稿）-{report.as_of.replace('-', '')}.xlsx"
        files.write_atomic(out, blob)
    else:
        files.write_new(out, blob, force=force)
    with transaction(home.db):
        if out.resolve().is_relative_to(home.root.resolve()):
            register_output(home.db, home.root.resolve(), out.resolve(), "销毁清册（草稿）", home.operator)
        audit(home.db, home.operator, "retention.draft", str(out), report.summary())
    return out
