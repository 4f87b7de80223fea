import datetime as dt
import json
import re

import pypdf
import pytest

from archive.documents.generate import Generator, format_number
from tests.conftest import run_cli
from tests.helpers import docx_east_asian_fonts, docx_text, page_marks, pdf_fonts, pdf_text

A4 = (595.2756, 841.8898)
DAY = dt.date(2025, 7, 8)

CASES = {
    "application": ({}, "申请书", False),
    "declaration": ({}, "家庭经济状况书面声明", False),
    "authorization": ({}, "家庭经济状况核对授权书", False),
    "home-visit": ({}, "入户调查表", False),
    "approval": ({}, "审核确认表", False),
    "refusal": ({"reason": "家庭人均收入高于当地最低生活保障标准"}, "不予批准告知书", True),
    "suspension": ({"reason": "家庭人均收入超过标准"}, "停发告知书", True),
    "adjustment": ({"new_amount": "600", "reason": "家庭收入增加"}, "调整告知书", True),
    "confirmation": ({}, "审核确认通知书", False),
}


def squash(text: str) -> str:
    """Text extraction puts line breaks (and sometimes spaces) into wrapped Chinese lines."""
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("doc_type", list(CASES))
def test_every_household_document_reopens(home, head_id, doc_type):
    params, title_part, has_stub = CASES[doc_type]
    result = Generator(home).household_document(doc_type, head_id, DAY, params)
    reader = pypdf.PdfReader(result.pdf)
    for page in reader.pages:
        assert (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2)) == (round(A4[0], 2), round(A4[1], 2))
    fonts = pdf_fonts(result.pdf)
    assert fonts and all(embedded for _, embedded in fonts), fonts
    text = squash(pdf_text(result.pdf))
    assert title_part in text
    head_name = home.db.execute("SELECT head_name FROM households WHERE id=?", (head_id,)).fetchone()[0]
    assert head_name in text
    assert "2025年7月8日" in text or doc_type in ("application", "declaration", "authorization")
    if result.number:
        assert squash(result.number) in text
    # the stub is its own page, carrying the same document ID
    marks = page_marks(result.pdf)
    assert [m.page for m in marks] == list(range(1, len(reader.pages) + 1))
    assert {m.doc_id for m in marks} == {result.doc_id}
    if has_stub:
        assert len(reader.pages) == 2 and "存根" in squash(reader.pages[-1].extract_text())
    # DOCX: same content, official fonts named as East Asian fonts
    dtext = squash(docx_text(result.docx))
    assert title_part in dtext and head_name in dtext
    assert "仿宋_GB2312" in docx_east_asian_fonts(result.docx)
    assert "方正小标宋简体" in docx_east_asian_fonts(result.docx)


def test_page_numbers_and_dates_follow_gbt9704(home, head_id):
    result = Generator(home).household_document("refusal", head_id, dt.date(2025, 1, 5), {"reason": "收入超标"})
    text = pdf_text(result.pdf)
    assert "— 1 —" in text and "— 2 —" in text
    assert "2025年1月5日" in text and "2025年01月05日" not in text
    assert re.fullmatch(r"青岩民不批〔2025〕\d+号", result.number)


@pytest.mark.pg_catalog  # also with the catalog in PostgreSQL (tests/conftest.py)
def test_numbers_are_per_type_and_year_without_gaps(home, township):
    generator = Generator(home)
    heads = [h.head.id_number for h in township if h.status == "在保"][:4]
    numbers = [generator.household_document("refusal", hid, DAY, {"reason": f"理由{i}"}).number
               for i, hid in enumerate(heads)]
    assert numbers == [format_number("青岩", "不批", 2025, n) for n in (1, 2, 3, 4)]
    # another type has its own sequence; another year starts again at 1
    assert generator.household_document("suspension", heads[0], DAY, {"reason": "x"}).number.endswith("〔2025〕1号")
    assert generator.household_document("refusal", heads[0], dt.date(2026, 1, 5), {"reason": "x"}).number.endswith("〔2026〕1号")


def test_same_request_reprints_under_the_same_number(home, head_id):
    generator = Generator(home)
    first = generator.household_document("refusal", head_id, DAY, {"reason": "收入超标"})
    again = generator.household_document("refusal", head_id, DAY, {"reason": "收入超标"})
    assert again.reprinted and (again.doc_id, again.number, again.pdf) == (first.doc_id, first.number, first.pdf)
    reprint = generator.reprint(first.doc_id)
    assert reprint.number == first.number
    assert home.db.execute("SELECT count(*) FROM documents WHERE type='refusal'").fetchone()[0] == 1


@pytest.mark.pg_catalog  # also with the catalog in PostgreSQL (tests/conftest.py)
def test_voided_number_is_recorded_and_never_reused(home, head_id):
    generator = Generator(home)
    first = generator.household_document("refusal", head_id, DAY, {"reason": "收入超标"})
    generator.void(first.doc_id, "理由写错")
    second = generator.household_document("refusal", head_id, DAY, {"reason": "收入超标"})
    assert second.doc_id != first.doc_id and second.number.endswith("〔2025〕2号")
    row = home.db.execute("SELECT status, void_reason FROM documents WHERE doc_id=?", (first.doc_id,)).fetchone()
    assert tuple(row) == ("voided", "理由写错")
    assert home.db.execute("SELECT count(*) FROM audit WHERE action='document.void'").fetchone()[0] == 1
    result = run_cli("--home", str(home.root), "reprint", first.doc_id)
    assert result.exit_code != 0 and "作废" in result.stderr


def test_missing_required_field_names_template_field_and_line(home, head_id):
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", head_id)
    assert result.exit_code != 0
    assert "refusal.yaml" in result.stderr and "reason" in result.stderr and re.search(r"第\d+行", result.stderr)
    assert home.db.execute("SELECT count(*) FROM documents").fetchone()[0] == 0
    assert home.db.execute("SELECT count(*) FROM sequences WHERE code='不批'").fetchone()[0] == 0


def test_unknown_household_and_type_are_clear(home):
    result = run_cli("--home", str(home.root), "generate", "refusal", "--household", "520111199001011234",
                     "--set", "reason=x")
    assert result.exit_code != 0 and "找不到" in result.stderr
    result = run_cli("--home", str(home.root), "generate", "nonsense", "--household", "520111199001011234")
    assert result.exit_code != 0 and "未知的文书类型" in result.stderr


def test_cli_json_contract(home, head_id):
    result = run_cli("--home", str(home.root), "generate", "adjustment", "--household", head_id,
                     "--date", "2025-07-09", "--set", "new_amount=500", "--set", "reason=收入增加", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"doc_id", "type", "number", "household", "pdf", "docx"} <= set(payload)
    assert payload["type"] == "adjustment" and payload["household"] == head_id
    assert payload["number"].startswith("青岩民调整〔2025〕")
    text = squash(pdf_text(payload["pdf"]))
    assert "500.00元" in text and "伍佰元整" in text and "2025年8月" in text


def test_publicity_shows_only_name_size_amount(home, township):
    generator = Generator(home)
    new = [h for h in township if h.status == "在保" and h.start > dt.date(2025, 7, 31)]
    village = new[0].village
    for household in (h for h in new if h.village == village):
        generator.household_document("approval", household.head.id_number, dt.date(2025, 7, 10))
    result = generator.publicity(village, dt.date(2025, 7, 1), dt.date(2025, 7, 31), dt.date(2025, 7, 31))
    text = pdf_text(result.pdf) + docx_text(result.docx)
    compact = squash(text)
    assert new[0].head.name in compact
    assert "公示期：2025年7月31日至2025年8月6日（7天）" in compact
    assert "0851-83200000" in compact
    for household in township:
        for member in household.members:
            assert member.id_number not in compact
            # no fragment of it either: neither the region and birth part nor the tail
            assert member.id_number[:10] not in compact and member.id_number[-8:] not in compact
    assert not re.search(r"\d{17}[\dX]", compact)
    # the QR code on a posted sheet carries no personal data
    assert all(re.fullmatch(r"Z109-\d{7}", m.doc_id) for m in page_marks(result.pdf))


def test_month_roster_and_statistics(home, township):
    import openpyxl

    results = Generator(home).month_sheets(dt.date(2025, 7, 1))
    assert [r.type for r in results] == ["roster", "statistics"]
    active = [h for h in township if h.status == "在保" and h.start <= dt.date(2025, 7, 31)]
    sheet = openpyxl.load_workbook(results[0].xlsx).active
    ids = {row[6] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert ids == {m.id_number for h in active for m in h.members}
    stats = openpyxl.load_workbook(results[1].xlsx).active
    total_row = [row for row in stats.iter_rows(values_only=True) if row[0] == "合计"][0]
    assert total_row[-3] == len(active)
    assert total_row[-1] == pytest.approx(sum(h.amount for h in active))
