"""Completeness at month end: for each household decided that month, which required materials
of its category are missing from its file, and which notices broke their deadline."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

from archive.dates import working_days_between
from archive.documents.types import registry
from archive.home import Home


@dataclass
class Finding:
    household: str
    name: str
    village: str
    kind: str      # 缺少材料 / 超过时限 / 未回收签收件
    detail: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def _dates(home: Home, household: str) -> dict[str, list[tuple[dt.date, str]]]:
    out: dict[str, list[tuple[dt.date, str]]] = {}
    for row in home.db.execute(
            "SELECT type, doc_date, params, origin, doc_id FROM documents WHERE household_id=? AND status='active'",
            (household,)):
        out.setdefault(row["type"], []).append((dt.date.fromisoformat(row["doc_date"]), row["params"]))
    return out


def check_month(home: Home, month: dt.date) -> list[Finding]:
    config = home.config
    holidays = config.holiday_dates
    prefix = month.strftime("%Y-%m")
    decided = home.db.execute(
        """SELECT DISTINCT h.id, h.head_name, h.village, h.category FROM documents d JOIN households h ON h.id=d.household_id
           WHERE d.status='active' AND d.origin='generated' AND d.type IN ('approval','confirmation','refusal')
           AND substr(d.doc_date,1,7)=? ORDER BY h.village, h.head_name""", (prefix,)).fetchall()
    findings: list[Finding] = []
    for row in decided:
        have = _dates(home, row["id"])
        add = lambda kind, detail, row=row: findings.append(  # noqa: E731
            Finding(row["id"], row["head_name"], row["village"], kind, detail))
        approved = "approval" in have or "confirmation" in have
        if approved:
            required = config.filing["required_materials"].get(row["category"], [])
            missing = [registry(home).title(t) for t in required if t not in have]
            if missing:
                add("缺少材料", f"{row['category']}：缺 {'、'.join(missing)}")
        applied = min((d for d, _ in have.get("application", [])), default=None)
        if applied:
            visit = min((d for d, _ in have.get("home-visit", [])), default=None)
            if visit and working_days_between(applied, visit, holidays) > 3:
                add("超过时限", f"入户调查在受理后第{working_days_between(applied, visit, holidays)}个工作日才开展（应在3个工作日内）")
            decision = min((d for d, _ in have.get("approval", [])), default=None)
            if decision and working_days_between(applied, decision, holidays) > 30:
                add("超过时限", f"审核确认用时{working_days_between(applied, decision, holidays)}个工作日（应在30个工作日内）")
        for notice_date, params in have.get("refusal", []):
            decided_on = json.loads(params or "{}").get("decision_date")
            if decided_on:
                late = working_days_between(dt.date.fromisoformat(decided_on), notice_date, holidays)
                if late > config.refusal_deadline_working_days:
                    add("超过时限", f"不予批准告知书在决定后第{late}个工作日才出具（应在{config.refusal_deadline_working_days}个工作日内）")
    # notices handed out this month whose signed copy has not come back
    for row in home.db.execute(
            """SELECT d.doc_id, d.title, d.number, h.id, h.head_name, h.village FROM documents d
               JOIN households h ON h.id=d.household_id
               WHERE d.origin='generated' AND d.status='active' AND d.type IN ('refusal','suspension','adjustment','confirmation')
               AND substr(d.doc_date,1,7)=? AND NOT EXISTS (SELECT 1 FROM documents s WHERE s.source_doc=d.doc_id)
               ORDER BY h.village, h.head_name""", (prefix,)):
        findings.append(Finding(row["id"], row["head_name"], row["village"], "未回收签收件",
                                f"{row['title']} {row['number'] or ''}（{row['doc_id']}）尚未扫描回收"))
    return findings
