"""Decisions change the record: each decision's effect on `archive show` and on the month's
花名册 and 人数资金统计表 (reopened with openpyxl); contradictions refused, duplicates warned;
the wording of each notice per 保障类别 (read back from the PDF)."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest
from conftest import run_cli
from helpers import pdf_text as _pdf_text

from archive.casework.history import events_for, state_for_month
from archive.documents.generate import Generator
from archive.errors import ArchiveError
from archive.roster.households import get_household


def pdf_text(path: str) -> str:
    """The PDF's text with line breaks removed (a phrase may wrap across lines)."""
    return "".join(_pdf_text(path).split())


def _roster_rows(path: str, household_id: str) -> list[tuple]:
    sheet = openpyxl.load_workbook(path).active
    return [row for row in sheet.iter_rows(min_row=3, values_only=True) if row[6] is not None
            and any(row[6] == m for m in [household_id])]


def _stat_total(path: str) -> tuple:
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert rows[-1][0] == "合计"
    return rows[-1][-3:]


def _sheets(home, month: str) -> tuple[str, str]:
    roster, statistics = Generator(home).month_sheets(dt.date.fromisoformat(f"{month}-01"))
    return roster.xlsx, statistics.xlsx


def test_suspension_stops_payment_from_its_effective_month(home, head_id):
    household = get_household(home.db, head_id)
    july_roster, _ = _sheets(home, "2025-07")
    assert _roster_rows(july_roster, head_id)
    _, aug_before = _sheets(home, "2025-08")
    before = _stat_total(aug_before)
    Generator(home).household_document("suspension", head_id, dt.date(2025, 7, 20),
                                       {"reason": "家庭收入超过标准", "effective_month": "2025-08"})
    # July still pays, August does not
    july_roster, _ = _sheets(home, "2025-07")
    assert _roster_rows(july_roster, head_id)
    aug_roster, aug_stats = _sheets(home, "2025-08")
    assert not _roster_rows(aug_roster, head_id)
    after = _stat_total(aug_stats)
    assert after[0] == before[0] - 1 and after[1] == before[1] - household.covered
    assert after[2] == pytest.approx(before[2] - household.amount)
    assert state_for_month(home.db, head_id, dt.date(2025, 8, 1)).status == "stopped"
    assert state_for_month(home.db, head_id, dt.date(2025, 7, 1)).status == "active"


def test_adjustment_changes_amount_and_people_from_its_month(home, head_id):
    household = get_household(home.db, head_id)
    assert household.amount != 600
    Generator(home).household_document("adjustment", head_id, dt.date(2025, 7, 20),
                                       {"new_amount": "600", "new_covered": "1", "reason": "家庭收入增加",
                                        "effective_month": "2025-08"})
    aug_roster, _ = _sheets(home, "2025-08")
    rows = _roster_rows(aug_roster, head_id)
    assert rows and rows[0][9] == 600 and rows[0][8] == 1
    july_roster, _ = _sheets(home, "2025-07")
    assert _roster_rows(july_roster, head_id)[0][9] == household.amount
    for bad in ("0", "-1", str(len(household.members) + 1)):
        with pytest.raises(ArchiveError, match="保障人数"):
            Generator(home).household_document("adjustment", head_id, dt.date(2025, 7, 21),
                                               {"new_amount": "500", "new_covered": bad, "reason": "x"})
    data = json.loads(run_cli("--home", str(home.root), "show", head_id, "--json").output)
    assert data["amount"] == household.amount  # the roster baseline, unchanged
    kinds = [(e["kind"], e["effective_month"], e["amount"], e["covered"]) for e in data["history"]]
    assert ("adjustment", "2025-08", 600.0, 1) in kinds
    text = run_cli("--home", str(home.root), "show", head_id).output
    assert "调整 自2025年8月起 月600.00元 保障1人" in text


def test_approval_starts_assistance_and_refusal_closes_the_application(home, township):
    applicants = [h.head.id_number for h in township if h.status == "申请中"]
    assert len(applicants) >= 2
    approved, refused = applicants[:2]
    generator = Generator(home)
    generator.household_document("application", approved, dt.date(2025, 7, 1))
    generator.household_document("confirmation", approved, dt.date(2025, 7, 25),
                                 {"amount": "480", "start_month": "2025-08"})
    aug_roster, _ = _sheets(home, "2025-08")
    assert _roster_rows(aug_roster, approved)[0][9] == 480
    july_roster, _ = _sheets(home, "2025-07")
    assert not _roster_rows(july_roster, approved)
    generator.household_document("refusal", refused, dt.date(2025, 7, 10), {"reason": "收入超标"})
    assert state_for_month(home.db, refused, dt.date(2025, 7, 1)).status == "refused"
    show = json.loads(run_cli("--home", str(home.root), "show", approved, "--json").output)
    assert show["state"]["status"] == "active" and show["state"]["amount"] == 480


def test_voided_decision_no_longer_counts(home, head_id):
    generator = Generator(home)
    stop = generator.household_document("suspension", head_id, dt.date(2025, 7, 20),
                                         {"reason": "收入超标", "effective_month": "2025-08"})
    assert state_for_month(home.db, head_id, dt.date(2025, 8, 1)).status == "stopped"
    generator.void(stop.doc_id, "停发有误")
    assert state_for_month(home.db, head_id, dt.date(2025, 8, 1)).status == "active"


def test_stopping_a_household_already_stopped_warns(home, head_id):
    generator = Generator(home)
    generator.household_document("suspension", head_id, dt.date(2025, 7, 20),
                                 {"reason": "收入超标", "effective_month": "2025-08"})
    result = run_cli("--home", str(home.root), "generate", "suspension", "--household", head_id, "--date",
                     "2025-09-03", "--set", "reason=再次停发", "--set", "effective_month=2025-10", "--json")
    assert result.exit_code == 0, result.stderr
    warnings = json.loads(result.output.splitlines()[-1])["warnings"]
    assert len(warnings) == 1 and "2025年10月" in warnings[0] and "停保" in warnings[0]


def test_decision_before_application_is_refused_and_leaves_nothing(home, township):
    applicant = next(h.head.id_number for h in township if h.status == "申请中")
    generator = Generator(home)
    generator.household_document("application", applicant, dt.date(2025, 7, 10))
    count = home.db.execute("SELECT count(*) FROM documents").fetchone()[0]
    with pytest.raises(ArchiveError, match="早于申请日期"):
        generator.household_document("confirmation", applicant, dt.date(2025, 7, 5))
    with pytest.raises(ArchiveError, match="早于申请日期"):
        generator.household_document("refusal", applicant, dt.date(2025, 7, 8), {"reason": "x"})
    assert home.db.execute("SELECT count(*) FROM documents").fetchone()[0] == count
    assert [e.kind for e in events_for(home.db, applicant)] == ["application"]
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", applicant,
                     "--date", "2025-07-20", "--set", "reason=x", "--set", "decision_date=2025-07-01")
    assert result.exit_code != 0 and "早于申请日期" in result.stderr


def test_approval_before_publicity_ends_is_refused(home, township):
    applicant = next(h for h in township if h.status == "申请中")
    hid = applicant.head.id_number
    generator = Generator(home)
    generator.household_document("application", hid, dt.date(2025, 7, 1))
    # an approval that cites a publicity period not yet over
    with pytest.raises(ArchiveError, match="尚未期满"):
        generator.household_document("confirmation", hid, dt.date(2025, 7, 10), {"publicity_to": "2025-07-12"})
    generator.household_document("confirmation", hid, dt.date(2025, 7, 10), {"publicity_to": "2025-07-09"})
    # posted from 7-12 for 7 days (to 7-18): a new approval inside that period is refused
    posting = generator.publicity(applicant.village, dt.date(2025, 7, 1), dt.date(2025, 7, 31), dt.date(2025, 7, 12))
    assert hid in [row[0] for row in home.db.execute(
        "SELECT household_id FROM case_events WHERE doc_id=? AND kind='publicity'", (posting.doc_id,))]
    with pytest.raises(ArchiveError, match="2025-07-18 尚未期满"):
        generator.household_document("confirmation", hid, dt.date(2025, 7, 15), {"amount": "500"})
    assert generator.household_document("confirmation", hid, dt.date(2025, 7, 21), {"amount": "500"}).number


def test_second_decision_same_kind_same_day_warns_and_names_the_first(home, head_id):
    generator = Generator(home)
    first = generator.household_document("adjustment", head_id, dt.date(2025, 7, 20),
                                         {"new_amount": "600", "reason": "收入增加"})
    assert first.warnings == []
    result = run_cli("--home", str(home.root), "generate", "adjustment", "--household", head_id, "--date",
                     "2025-07-20", "--set", "new_amount=550", "--set", "reason=收入再增加")
    assert result.exit_code == 0
    assert "警告" in result.stderr and first.number in result.stderr and first.doc_id in result.stderr
    # the same request again is a reprint, not a second decision
    again = generator.household_document("adjustment", head_id, dt.date(2025, 7, 20),
                                         {"new_amount": "600", "reason": "收入增加"})
    assert again.reprinted and again.warnings == []


def _household_of(township, category: str) -> str:
    return next(h.head.id_number for h in township if h.category == category and h.status == "在保")


def test_wording_per_category(home, township):
    generator = Generator(home)
    tekun = _household_of(township, "特困")
    refusal = pdf_text(generator.household_document("refusal", tekun, dt.date(2025, 7, 8), {"reason": "x"}).pdf)
    assert "《特困人员认定办法》" in refusal and "最低生活保障审核确认办法" not in refusal
    assert "特困人员救助供养申请不予批准告知书" in refusal
    stop = pdf_text(generator.household_document("suspension", tekun, dt.date(2025, 7, 8), {"reason": "x"}).pdf)
    assert "终止特困人员救助供养告知书" in stop and "终止对你（户）的特困人员救助供养" in stop
    edge = _household_of(township, "低保边缘")
    text = pdf_text(generator.household_document("suspension", edge, dt.date(2025, 7, 8), {"reason": "x"}).pdf)
    assert "低保边缘家庭金" not in text
    row = home.db.execute("SELECT title, pdf_path FROM documents WHERE household_id=? AND type='suspension'",
                          (edge,)).fetchone()
    assert row["title"] == "终止低保边缘家庭认定告知书" and "终止低保边缘家庭认定告知书" in row["pdf_path"]
    assert "终止低保边缘家庭认定告知书" in text and "本省低保边缘家庭认定办法" in text
    dibao = _household_of(township, "低保")
    text = pdf_text(generator.household_document("suspension", dibao, dt.date(2025, 7, 8), {"reason": "x"}).pdf)
    assert "最低生活保障金停发告知书" in text and "《最低生活保障审核确认办法》" in text


def test_local_wording_comes_from_configuration(home, township):
    home.config.casework = {"categories": {"低保边缘": {"legal_basis": "《贵州省低保边缘家庭认定办法（试行）》",
                                                        "titles": {"suspension": "低保边缘家庭退出告知书"}}}}
    home.save_config()
    edge = _household_of(township, "低保边缘")
    result = run_cli("--home", str(home.root), "generate", "suspension", "--household", edge, "--date",
                     "2025-07-08", "--set", "reason=x", "--json")
    assert result.exit_code == 0, result.stderr
    text = pdf_text(json.loads(result.output.splitlines()[-1])["pdf"])
    assert "低保边缘家庭退出告知书" in text and "《贵州省低保边缘家庭认定办法（试行）》" in text


def test_manual_review_is_recorded_and_shown(home, head_id):
    result = run_cli("--home", str(home.root), "history", "add", head_id, "--kind", "review", "--date",
                     "2025-07-03", "--irregular-income", "--json")
    assert result.exit_code == 0, result.stderr
    event = json.loads(result.output)
    assert event["kind"] == "review" and event["detail"]["irregular_income"] is True
    result = run_cli("--home", str(home.root), "history", "add", head_id, "--kind", "suspension", "--date",
                     "2025-07-03")
    assert result.exit_code != 0 and "须生成相应文书" in result.stderr
    assert home.db.execute("SELECT count(*) FROM audit WHERE action='case.event'").fetchone()[0] == 1


def test_publicity_lists_the_households_investigated_before_their_approval(home, township):
    """The 审核确认公示单 is posted before the approval: it lists a household investigated in the
    period and not yet decided, and the approval then waits for the publicity period to end."""
    applicant = next(h for h in township if h.status == "申请中")
    hid = applicant.head.id_number
    generator = Generator(home)
    generator.household_document("application", hid, dt.date(2025, 7, 1))
    generator.household_document("home-visit", hid, dt.date(2025, 7, 3))
    posting = generator.publicity(applicant.village, dt.date(2025, 7, 1), dt.date(2025, 7, 10), dt.date(2025, 7, 11))
    listed = [row[0] for row in home.db.execute(
        "SELECT household_id FROM case_events WHERE doc_id=? AND kind='publicity'", (posting.doc_id,))]
    assert hid in listed
    with pytest.raises(ArchiveError, match="尚未期满"):
        generator.household_document("confirmation", hid, dt.date(2025, 7, 15))
    approved = generator.household_document("confirmation", hid, dt.date(2025, 7, 18), {"publicity_to": "2025-07-17"})
    assert approved.number
    # decided now: a later sheet of the same village for a period without its decision omits it
    later = generator._village_households("decided", applicant.village, dt.date(2025, 7, 1), dt.date(2025, 7, 10),
                                          dt.date(2025, 7, 11), None)
    assert hid not in {h.id for h in later}


def test_a_household_document_is_filed_under_its_printed_title(home, township):
    """A 特困 household's 申请书 prints 「特困人员救助供养申请书」: the catalog (and so the 归档文件目录
    and the file name) says the same, not the 低保 template's name."""
    tekun = _household_of(township, "特困")
    made = Generator(home).household_document("application", tekun, dt.date(2025, 7, 2))
    row = home.db.execute("SELECT title, pdf_path FROM documents WHERE doc_id=?", (made.doc_id,)).fetchone()
    assert row["title"] == "特困人员救助供养申请书" and "特困人员救助供养申请书" in row["pdf_path"]
    printed = _pdf_text(made.pdf)
    assert "特困人员救助供养申请书" in printed and "最低生活保障申请书" not in printed
