"""The records the rules name (issue #14) as templates: each generated, reopened (PDF with pypdf,
DOCX with python-docx) and its text checked; posted sheets carry no ID numbers."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from archive.casework.history import events_for
from archive.documents.generate import Generator
from archive.errors import ArchiveError, TemplateError
from tests.conftest import run_cli
from tests.helpers import docx_text, pdf_text

FULL_ID = re.compile(r"\d{17}[\dX]")


def texts(result) -> tuple[str, str]:
    """(PDF text without the line breaks a layout adds, DOCX text)."""
    return re.sub(r"\s+", "", pdf_text(result.pdf)), re.sub(r"\s+", "", docx_text(result.docx))


def _household(township, category: str = "低保", status: str = "在保"):
    return next(h for h in township if h.category == category and h.status == status)


def test_review_form_records_a_review_in_the_history(home, township):
    household = _household(township)
    hid = household.head.id_number
    result = Generator(home).household_document(
        "review", hid, dt.date(2025, 7, 3),
        {"irregular_income": "是", "income": "1200", "note": "户主外出务工，收入不稳定"})
    pdf, docx = texts(result)
    for text in (pdf, docx):
        assert "最低生活保障家庭定期复核表" in text
        assert household.head.name in text and hid in text
        assert "收入不固定（六个月后再次复核）" in text and "1200.00元" in text and "继续保障" in text
    review = [e for e in events_for(home.db, hid) if e.kind == "review"]
    assert len(review) == 1 and review[0].doc_id == result.doc_id and review[0].detail["irregular_income"] is True
    assert review[0].event_date == "2025-07-03"


def test_review_refuses_a_result_not_among_its_choices(home, head_id):
    with pytest.raises(TemplateError, match="不在可选范围内") as info:
        Generator(home).household_document("review", head_id, dt.date(2025, 7, 3), {"review_result": "随便"})
    assert "继续保障" in info.value.hint


def test_tekun_application_and_self_care_assessment(home, township):
    household = _household(township, "特困")
    hid = household.head.id_number
    generator = Generator(home)
    form = generator.household_document(
        "特困人员救助供养申请审批表", hid, dt.date(2025, 7, 8),
        {"reason": "无劳动能力、无生活来源、无法定赡养义务人", "self_care": "部分不能自理", "amount": "780",
         "care_amount": "200", "start_month": "2025-08"})
    assert form.type == "tekun-application"
    for text in texts(form):
        assert "特困人员救助供养申请审批表" in text and "无劳动能力、无生活来源" in text
        assert "合计每月980.00元" in text and "玖佰捌拾元整" in text and "2025年8月" in text
        assert "特困人员认定办法" in text and "部分不能自理" in text
    # two of the six items not met: partly unable to care for oneself; four: fully unable
    partly = generator.household_document("self-care", hid, dt.date(2025, 7, 8), {"bathing": "不能", "toilet": "不能"})
    fully = generator.household_document("self-care", hid, dt.date(2025, 7, 9),
                                         {"bathing": "不能", "toilet": "不能", "bed": "不能", "walking": "不能"})
    independent = generator.household_document("self-care", hid, dt.date(2025, 7, 10))
    for result, verdict in ((partly, "2项达不到，部分不能自理"), (fully, "4项达不到，完全不能自理"),
                            (independent, "0项达不到，生活全自理")):
        pdf, docx = texts(result)
        assert verdict in pdf and verdict in docx
        for item in ("自主吃饭", "自主穿衣", "自主上下床", "自主如厕", "室内行走", "自主洗澡"):
            assert item in pdf and item in docx


def test_temporary_aid_checks_the_township_limit(home, township):
    household = _household(township, "临时救助") if any(h.category == "临时救助" for h in township) \
        else _household(township)
    hid = household.head.id_number
    generator = Generator(home)
    params = {"aid_type": "急难型", "reason": "突发火灾，房屋受损", "amount": "3000", "helped_on": "2025-07-02"}
    # the limit is six months of the local 低保 standard: without the standard it cannot be checked
    with pytest.raises(TemplateError, match="无法计算") as info:
        generator.household_document("temporary-aid", hid, dt.date(2025, 7, 9), params)
    assert "dibao_standard" in info.value.hint
    home.config.dibao_standard = 850
    with pytest.raises(TemplateError, match="超过乡镇审批权限.*850.00元的6倍，即5100.00元"):
        generator.household_document("临时救助申请审批表", hid, dt.date(2025, 7, 9), {**params, "amount": "5100.01"})
    result = generator.household_document("临时救助申请审批表", hid, dt.date(2025, 7, 9), params)
    assert result.number and "临救" in result.number
    for text in texts(result):
        assert "突发火灾，房屋受损" in text and "3000.00元" in text and "叁仟元整" in text
        assert "急难型先行救助（2025年7月2日已实施救助），事后补齐审批手续" in text


def test_zero_report_only_for_a_month_without_new_cases(home, township):
    generator = Generator(home)
    report = generator.month_document("零报告", dt.date(2025, 7, 1))
    assert report.date == "2025-07-31" and report.household is None and report.village is None
    assert "/_乡镇/" in report.pdf
    active = [h for h in township if h.status == "在保" and h.start <= dt.date(2025, 7, 31)]
    for text in texts(report):
        assert "青岩镇2025年7月社会救助零报告" in text and "无新增社会救助对象" in text
        assert f"在保{len(active)}户" in text
    applicant = next(h for h in township if h.status == "申请中")
    generator.household_document("application", applicant.head.id_number, dt.date(2025, 8, 1))
    generator.household_document("confirmation", applicant.head.id_number, dt.date(2025, 8, 20),
                                 {"amount": "500", "start_month": "2025-09"})
    with pytest.raises(ArchiveError, match="2025年9月有1户新增对象，不能出具零报告"):
        generator.month_document("zero-report", dt.date(2025, 9, 1))


def test_standing_publicity_posts_no_private_data(home, township):
    village = _household(township).village
    result = run_cli("--home", str(home.root), "generate", "长期公示", "--village", village, "--date", "2025-07-31",
                     "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.output.splitlines()[-1])
    assert out["type"] == "standing-publicity" and "_村级" in out["pdf"]
    current = [h for h in township if h.village == village and h.status == "在保" and h.start <= dt.date(2025, 7, 31)]
    later = [h for h in township if h.village == village and h.status == "在保" and h.start > dt.date(2025, 7, 31)]
    pdf = re.sub(r"\s+", "", pdf_text(out["pdf"]))
    docx = re.sub(r"\s+", "", docx_text(out["docx"]))
    for text in (pdf, docx):
        assert f"{village}社会救助对象长期公示" in text and "0851-83200000" in text
        assert current and all(h.head.name in text for h in current)
        assert not any(h.head.name in text for h in later)  # not yet assisted on the date
        assert not FULL_ID.search(text)
        assert not any(h.head.id_number[-6:] in text for h in current)  # not even the tail of one
        for private in ("残疾", "疾病", "银行", "账号"):
            assert private not in text


def test_termination_publicity_lists_the_stopped(home, township):
    household = _household(township, "特困")
    generator = Generator(home)
    generator.household_document("suspension", household.head.id_number, dt.date(2025, 7, 10),
                                 {"reason": "已死亡", "effective_month": "2025-08"})
    result = generator.village_document("termination-publicity", household.village, dt.date(2025, 7, 1),
                                        dt.date(2025, 7, 31), dt.date(2025, 7, 15), category="特困")
    for text in texts(result):
        assert "终止特困人员救助供养公示" in text and household.head.name in text
        assert not FULL_ID.search(text)
    with pytest.raises(ArchiveError, match="没有停发（终止）的家庭"):
        generator.village_document("termination-publicity", household.village, dt.date(2025, 6, 1),
                                   dt.date(2025, 6, 30), dt.date(2025, 6, 30))


def test_dynamic_record_and_payment_roster_follow_the_month(home, township, head_id):
    generator = Generator(home)
    generator.household_document("adjustment", head_id, dt.date(2025, 7, 12),
                                 {"new_amount": "600", "reason": "家庭收入减少", "effective_month": "2025-07"})
    record = generator.month_document("dynamic-record", dt.date(2025, 7, 1))
    name = next(h.head.name for h in township if h.head.id_number == head_id)
    for text in texts(record):
        assert "2025年7月社会救助对象动态管理记录" in text and "调整1户" in text
        assert name in text and "600.00" in text
    payment = generator.month_document("payment-roster", dt.date(2025, 7, 1))
    pdf, docx = texts(payment)
    for text in (pdf, docx):
        assert "资金发放花名册" in text and head_id in text and "领取人签字" in text
    active = [h for h in township if h.status == "在保" and h.start <= dt.date(2025, 7, 31)]
    assert docx.count("青岩镇") >= 1 and sum(1 for h in active if h.head.id_number in docx) == len(active)


def test_objection_review_record(home, head_id):
    result = Generator(home).household_document(
        "objection-review", head_id, dt.date(2025, 7, 14),
        {"objection": "反映该户有小轿车一辆", "verdict": "异议不成立", "finding": "经核查车辆已于2024年转让"})
    for text in texts(result):
        assert "公示异议人员评议记录" in text and "反映该户有小轿车一辆" in text and "异议不成立" in text
