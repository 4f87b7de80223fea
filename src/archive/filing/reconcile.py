"""三项一致: the roster exported from the provincial system, the archive (审核确认表), and the
posted publicity sheets must agree. Every difference is listed with its household.

A month's comparison covers what the month changed or should have changed: households new on the
roster that month (they need a 审核确认表), households with a 审核确认表, a decision (approval,
adjustment, stop, accepted roster difference) or a publicity entry in that month, and households
the archive approved that the roster has lost. A household that predates the archive and that
nothing touched this month is not compared: the archive has no record of it to disagree with."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from archive.casework.history import EFFECTS, all_events, apply_events
from archive.dates import month_end
from archive.home import Home
from archive.roster.households import list_households
from archive.roster.importer import parse_household_file, parse_roster


@dataclass
class Difference:
    household: str
    name: str
    village: str
    kind: str
    roster: str
    archive: str
    publicity: str

    def to_json(self) -> dict:
        return asdict(self)


def reconcile(home: Home, month: dt.date, roster_file: Path) -> list[Difference]:
    if roster_file.suffix.lower() in (".yaml", ".yml", ".json"):
        roster, _ = parse_household_file(roster_file, home.config)
    else:
        roster, _ = parse_roster(roster_file, home.config)
    first, last = month.replace(day=1).isoformat(), month_end(month).isoformat()
    key = first[:7]
    on_roster = {h.id: h for h in roster if h.status == "active" and h.start_date <= last}
    approvals: dict[str, dict] = {}
    touched: set[str] = {hid for hid, h in on_roster.items() if h.start_date >= first}  # new this month
    for row in home.db.execute(
            """SELECT d.household_id, d.context, d.doc_date FROM documents d WHERE d.type='approval'
               AND d.status='active' AND d.origin='generated' AND d.doc_date <= ? ORDER BY d.doc_date""", (last,)):
        approvals[row["household_id"]] = json.loads(row["context"])
        if row["doc_date"] >= first:
            touched.add(row["household_id"])
    posted: dict[tuple[str, str], dict] = {}
    by_name = {(h.village, h.head_name): hid for hid, h in on_roster.items()}
    for row in home.db.execute(
            "SELECT village, context, doc_date FROM documents WHERE type='publicity' AND status='active' AND doc_date <= ?",
            (last,)):
        for entry in json.loads(row["context"]).get("households", []):
            posted[(row["village"], entry["head_name"])] = entry
            if row["doc_date"] >= first and (row["village"], entry["head_name"]) in by_name:
                touched.add(by_name[(row["village"], entry["head_name"])])
    events = all_events(home.db)
    for hid, history in events.items():
        if any(e.kind in EFFECTS and ((e.effective_month or e.event_date[:7]) == key or e.event_date[:7] == key)
               for e in history):
            touched.add(hid)
    # each household as the archive's history has it this month (the roster baseline plus decisions)
    states = {h.id: apply_events(h, events.get(h.id, []), month) for h in list_households(home.db)}
    names = {hid: (h.head_name, h.village, h.status) for hid, h in states.items()}
    out: list[Difference] = []
    for hid, household in on_roster.items():
        if hid not in touched:
            continue  # predates the archive and nothing this month changed it
        approval = approvals.get(hid)
        entry = posted.get((household.village, household.head_name))
        roster_text = f"{household.covered}人 {household.amount:.2f}元"
        if approval is None and household.start_date >= first:
            out.append(Difference(hid, household.head_name, household.village, "花名册有、档案中无审核确认表",
                                  roster_text, "无", _entry(entry)))
            continue
        archive_text = f"{approval['covered']}人 {float(approval['amount']):.2f}元" if approval else "无"
        # after an adjustment the 审核确认表 and the publicity show what was true before it
        adjusted = any(e.kind in ("adjustment", "roster") and (e.effective_month or e.event_date[:7]) <= key
                       for e in events.get(hid, []))
        if adjusted:
            approval = entry = None
        if approval and (approval["covered"] != household.covered
                         or abs(float(approval["amount"]) - household.amount) > 0.005):
            out.append(Difference(hid, household.head_name, household.village, "花名册与审核确认表的人数或金额不一致",
                                  roster_text, archive_text, _entry(entry)))
        if entry is not None and (entry["covered"] != household.covered or abs(entry["amount"] - household.amount) > 0.005):
            out.append(Difference(hid, household.head_name, household.village, "花名册与公示单的人数或金额不一致",
                                  roster_text, archive_text, _entry(entry)))
        state = states.get(hid)
        if state is not None and state.status == "stopped":
            out.append(Difference(hid, household.head_name, household.village, "档案中已停发、但仍在花名册中",
                                  roster_text, "停保", _entry(entry)))
        elif state is not None and adjusted and (
                state.covered != household.covered or abs(state.amount - household.amount) > 0.005):
            out.append(Difference(hid, household.head_name, household.village, "花名册与调整后的人数或金额不一致",
                                  roster_text, f"{state.covered}人 {state.amount:.2f}元", _entry(entry)))
    for hid, approval in approvals.items():
        name, village, status = names.get(hid, (approval.get("head_name", ""), approval.get("village", ""), ""))
        start = str(approval.get("start_month") or approval.get("start_date") or "")[:10]
        if hid not in on_roster and status == "active" and start and start <= last:
            out.append(Difference(hid, name, village, "已审核确认、但不在花名册中", "无",
                                  f"{approval['covered']}人 {float(approval['amount']):.2f}元",
                                  _entry(posted.get((village, name)))))
    villages = home.config.villages
    out.sort(key=lambda d: (villages.index(d.village) if d.village in villages else 99, d.name))
    return out


def _entry(entry: dict | None) -> str:
    return f"{entry['covered']}人 {entry['amount']:.2f}元" if entry else "未公示"
