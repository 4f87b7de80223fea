"""The due list on a synthetic year with known due dates, and retention terms with the drafted
销毁清册 (reopened with openpyxl). Working days skip weekends and the configured 国庆 holidays."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from conftest import run_cli

from archive import idcard
from archive.casework.due import due_list
from archive.casework.retention import retention_report
from archive.config import Config
from archive.dates import add_working_days
from archive.documents.generate import Generator
from archive.home import Home, init_home
from archive.roster.importer import import_roster

D = dt.date
HOLIDAYS = [f"2025-10-0{day}" for day in range(1, 9)]


def _id(birth: D, serial: int) -> str:
    return idcard.make("520111", birth, serial)


A = _id(D(1950, 4, 2), 11)    # 低保, alone and elderly: reviewed yearly
B = _id(D(1980, 6, 1), 21)    # 低保, head of working age: every six months
B2 = _id(D(2012, 3, 3), 22)
C = _id(D(1945, 1, 9), 31)    # 特困, yearly
DD = _id(D(1970, 2, 2), 41)   # applies 2025-09-26, just before 国庆
E = _id(D(1960, 5, 5), 51)    # applies in June, refused, told late
F = _id(D(1948, 8, 8), 61)    # approved from June: posted on 6-25


@pytest.fixture
def year_home(tmp_path: Path) -> Home:
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=["龙井村", "思潜村"],
                    complaint_phone="0851-83200000", office_phone="0851-83200001", holidays=HOLIDAYS)
    home = init_home(tmp_path / "home", config)

    def household(head, name, category, start, status="在保", amount=300.0, extra=()):
        return {"village": "龙井村", "category": category, "amount": amount, "start_date": start, "status": status,
                "members": [{"name": name, "relation": "本人", "id_number": head}, *extra]}

    data = {"households": [
        household(A, "王大山", "低保", "2024-03-15"),
        household(B, "李小河", "低保", "2024-09-10", extra=[{"name": "李小苗", "relation": "子女", "id_number": B2}]),
        household(C, "张老松", "特困", "2024-11-20", amount=900.0),
        household(DD, "赵申请", "低保", "2025-09-26", status="申请中", amount=0),
        household(E, "钱不批", "低保", "2025-06-02", status="申请中", amount=0),
        household(F, "孙新增", "低保", "2025-06-01"),
    ]}
    path = tmp_path / "households.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    import_roster(home.db, path, home.config, "tester")
    generator = Generator(home)
    run = lambda *args: run_cli("--home", str(home.root), *args)  # noqa: E731
    assert run("history", "add", B, "--kind", "review", "--date", "2025-03-12").exit_code == 0
    generator.household_document("application", E, D(2025, 6, 2))
    generator.household_document("home-visit", E, D(2025, 6, 4))
    generator.household_document("refusal", E, D(2025, 6, 20), {"reason": "家庭人均收入高于标准",
                                                                 "decision_date": "2025-06-12"})
    generator.publicity("龙井村", D(2025, 6, 1), D(2025, 6, 30), D(2025, 6, 25))
    generator.household_document("application", DD, D(2025, 9, 26))
    yield home
    home.close()


def _found(items, kind, household=None):
    return [(item.due, item.state) for item in items if item.kind == kind
            and (household is None or item.household == household)]


def test_working_days_skip_the_national_day_holidays():
    holidays = frozenset(D.fromisoformat(day) for day in HOLIDAYS)
    assert add_working_days(D(2025, 9, 26), 3, holidays) == D(2025, 10, 9)
    assert add_working_days(D(2025, 9, 26), 30, holidays) == D(2025, 11, 17)


def test_reviews_follow_the_interval_rule(year_home):
    march = due_list(year_home, D(2025, 3, 1), today=D(2025, 4, 10))
    assert _found(march, "review", A) == [("2025-03-15", "逾期")]
    assert _found(march, "review", B) == []  # reviewed on 3-12
    september = due_list(year_home, D(2025, 9, 1), today=D(2025, 9, 5))
    assert _found(september, "review", B) == [("2025-09-12", "到期")]  # six months: member of working age
    assert _found(september, "review", A) == [("2025-03-15", "逾期")]   # still not reviewed
    assert _found(september, "review", C) == []
    november = due_list(year_home, D(2025, 11, 1), today=D(2025, 11, 3))
    assert _found(november, "review", C) == [("2025-11-20", "到期")]    # 特困 alone: yearly
    assert _found(november, "review", F) == []                           # approved 2025-06: due 2026-06


def test_irregular_income_found_by_a_review_shortens_the_interval(year_home):
    assert run_cli("--home", str(year_home.root), "history", "add", A, "--kind", "review", "--date", "2025-04-01",
                   "--irregular-income").exit_code == 0
    october = due_list(year_home, D(2025, 10, 1), today=D(2025, 10, 2))
    assert _found(october, "review", A) == [("2025-10-01", "逾期")]


def test_configured_intervals_are_used(year_home):
    year_home.config.casework = {"review": {"stable_months": 24}}
    year_home.save_config()
    reopened = Home(year_home.root)
    assert _found(due_list(reopened, D(2025, 3, 1), today=D(2025, 4, 10)), "review", A) == []
    assert _found(due_list(reopened, D(2026, 3, 1), today=D(2026, 3, 1)), "review", A) == [("2026-03-15", "到期")]
    reopened.close()


def test_investigation_and_decision_deadlines_count_working_days(year_home):
    october = due_list(year_home, D(2025, 10, 1), today=D(2025, 10, 20))
    assert _found(october, "investigation", DD) == [("2025-10-09", "逾期")]
    assert _found(october, "decision", DD) == []  # due in November
    november = due_list(year_home, D(2025, 11, 1), today=D(2025, 11, 30))
    assert _found(november, "decision", DD) == [("2025-11-17", "逾期")]
    # E's application was investigated and decided: nothing due
    assert not [i for i in october + november if i.household == E and i.kind in ("investigation", "decision")]
    assert run_cli("--home", str(year_home.root), "history", "add", DD, "--kind", "investigation",
                   "--date", "2025-10-10").exit_code == 0
    october = due_list(year_home, D(2025, 10, 1), today=D(2025, 10, 20))
    assert _found(october, "investigation", DD) == []


def test_late_refusal_notice_publicity_end_and_signed_copies(year_home):
    june = due_list(year_home, D(2025, 6, 1), today=D(2025, 7, 15))
    assert _found(june, "refusal_notice", E) == [("2025-06-17", "逾期")]
    july = due_list(year_home, D(2025, 7, 1), today=D(2025, 7, 2))
    assert _found(july, "publicity_end") == [("2025-07-01", "已期满")]
    assert _found(july, "signed_copy", E) == [("2025-07-04", "到期")]
    assert _found(july, "refusal_notice", E) == []  # reported in the month it happened
    # the signed counterfoil comes back (a linked scan): no longer due
    refusal = year_home.db.execute("SELECT doc_id FROM documents WHERE type='refusal'").fetchone()[0]
    year_home.db.execute(
        "INSERT INTO documents(doc_id, type, title, household_id, doc_date, request_key, params, context, "
        "origin, source_doc) VALUES ('Z109-9999999','refusal','签收件',?,'2025-07-03','scan','{}','{}','scan',?)",
        (E, refusal))
    july = due_list(year_home, D(2025, 7, 1), today=D(2025, 7, 8))
    assert _found(july, "signed_copy", E) == []


def test_due_cli_json_and_xlsx(year_home, tmp_path):
    out = tmp_path / "due.xlsx"
    result = run_cli("--home", str(year_home.root), "due", "--month", "2025-10", "--json", "--xlsx", str(out))
    assert result.exit_code == 0, result.stderr
    items = [json.loads(line) for line in result.output.splitlines()]
    assert {"kind", "kind_cn", "due", "state", "household", "detail"} <= set(items[0])
    assert ("investigation", DD, "2025-10-09") in [(i["kind"], i["household"], i["due"]) for i in items]
    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(rows) == len(items)
    assert sheet.cell(2, 2).value == "事项" and sheet.page_setup.orientation == "landscape"
    assert DD in [row[6] for row in rows]
    again = run_cli("--home", str(year_home.root), "due", "--month", "2025-10", "--xlsx", str(out))
    assert again.exit_code != 0 and "已存在" in again.stderr
    assert run_cli("--home", str(year_home.root), "due", "--month", "2025-10", "--xlsx", str(out),
                   "--force").exit_code == 0
    bad = run_cli("--home", str(year_home.root), "due", "--month", "2025-13")
    assert bad.exit_code != 0 and "月份" in bad.stderr


def test_retention_terms_and_destruction_list(year_home, tmp_path):
    generator = Generator(year_home)
    application = generator.household_document("application", A, D(2025, 7, 1))
    stop = generator.household_document("suspension", A, D(2025, 7, 20),
                                        {"reason": "迁出本乡镇", "effective_month": "2025-08"})
    reached = lambda day: {i.doc_id for i in retention_report(year_home, day).reached}  # noqa: E731
    # 审批类: 3 years after the stop (2025-08-01); 日常管理类: 5 years from 1 January after its year
    assert application.doc_id not in reached(D(2028, 7, 31))
    assert application.doc_id in reached(D(2028, 8, 1))
    assert stop.doc_id not in reached(D(2030, 12, 31))
    assert stop.doc_id in reached(D(2031, 1, 1))
    # a household still assisted keeps its 审批类 file; a refused one's clock starts at the refusal
    assisted = generator.household_document("application", B, D(2025, 7, 1))
    assert assisted.doc_id not in reached(D(2040, 1, 1))
    refused = year_home.db.execute("SELECT doc_id FROM documents WHERE household_id=? AND type='application'",
                                   (E,)).fetchone()[0]
    assert refused not in reached(D(2028, 6, 19)) and refused in reached(D(2028, 6, 20))
    out = tmp_path / "销毁清册.xlsx"
    result = run_cli("--home", str(year_home.root), "retention", "--as-of", "2031-01-01", "--json",
                     "--xlsx", str(out))
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.output.splitlines()]
    summary = lines[-1]
    assert summary["summary"]["reached"] == len(lines) - 1 and summary["xlsx"] == str(out)
    sheet = openpyxl.load_workbook(out).active
    assert "销毁清册" in sheet.cell(1, 1).value and "不删除" in sheet.cell(2, 1).value
    codes = [row[2] for row in sheet.iter_rows(min_row=4, values_only=True) if row[2]]
    assert application.doc_id in codes and stop.doc_id in codes
    # nothing deleted
    assert Path(application.pdf).exists() and Path(stop.pdf).exists()
    assert year_home.db.execute("SELECT count(*) FROM documents WHERE doc_id IN (?,?)",
                                (application.doc_id, stop.doc_id)).fetchone()[0] == 2
    assert year_home.db.execute("SELECT count(*) FROM audit WHERE action='retention.draft'").fetchone()[0] == 1


def test_filed_retention_period_is_honoured(year_home):
    generator = Generator(year_home)
    application = generator.household_document("application", A, D(2025, 7, 1))
    generator.household_document("suspension", A, D(2025, 7, 20), {"reason": "迁出", "effective_month": "2025-08"})
    year_home.db.execute("UPDATE documents SET retention='D30' WHERE doc_id=?", (application.doc_id,))
    assert application.doc_id not in {i.doc_id for i in retention_report(year_home, D(2028, 8, 1)).reached}
    assert application.doc_id in {i.doc_id for i in retention_report(year_home, D(2056, 1, 1)).reached}
    year_home.config.casework = {"retention": {"respect_filed_period": False}}
    assert application.doc_id in {i.doc_id for i in retention_report(year_home, D(2028, 8, 1)).reached}


def test_bad_casework_settings_are_refused_with_the_field(year_home):
    path = year_home.root / "config.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "casework:\n  review:\n    stable_months: 十二\n", encoding="utf-8")
    result = run_cli("--home", str(year_home.root), "due", "--month", "2025-10")
    assert result.exit_code != 0 and "stable_months" in result.stderr
