"""Punctuation as printed and ID numbers one character from valid (issue 17), no OCR needed."""

import datetime as dt

import pytest

from archive import idcard
from archive.scans.ocr import OcrLine
from archive.scans.pipeline import PageReader
from archive.scans.textfix import (
    correct_id_numbers,
    doubtful_numbers,
    fix_blood_type,
    fix_chinese_zero,
    fix_masked_ids,
    fix_punctuation,
    near_misses,
    number_quality,
)

GOOD = idcard.make("520111", dt.date(1990, 1, 1), 123)


@pytest.mark.parametrize(("read", "printed"), [
    ("姓名:张三", "姓名：张三"),
    ("申请人(签字):", "申请人（签字）："),
    ("民政(2025)3号", "民政（2025）3号"),
    ("会议时间 10:30,地点:村委会", "会议时间 10:30，地点：村委会"),
    ("收入 1,000 元,共计", "收入 1,000 元，共计"),
    ("see (a) and (b): x,y", "see (a) and (b): x,y"),
    ("（已是全角）：", "（已是全角）："),
])
def test_half_width_marks_beside_chinese_become_full_width(read, printed):
    assert fix_punctuation(read) == printed


def test_an_id_with_an_impossible_birth_month_is_corrected_and_reported():
    read = GOOD[:10] + "3" + GOOD[11:]  # month 31: only the month digit can be wrong
    text, corrections = correct_id_numbers(f"公民身份号码 {read}")
    assert text == f"公民身份号码 {GOOD}"
    assert [(c.read, c.corrected, c.position) for c in corrections] == [(read, GOOD, 10)]


def test_an_id_with_an_unknown_region_is_corrected():
    read = "8" + GOOD[1:]
    assert correct_id_numbers(read)[0] == GOOD


def test_ambiguous_near_misses_stay_as_read():
    read = GOOD[:15] + str((int(GOOD[15]) + 3) % 10) + GOOD[16:]  # a serial digit: many valid neighbours
    assert len(near_misses(read)) > 1
    text, corrections = correct_id_numbers(read)
    assert text == read and corrections == []


def test_the_roster_settles_an_ambiguous_near_miss():
    read = GOOD[:15] + str((int(GOOD[15]) + 3) % 10) + GOOD[16:]
    text, corrections = correct_id_numbers(read, known={GOOD})
    assert text == GOOD and corrections[0].position == 15


def test_valid_masked_and_longer_numbers_are_never_touched():
    other_valid = idcard.make("520111", dt.date(1990, 1, 2), 123)
    masked = "520111********1234"
    bank = "6" + GOOD  # 19 digits: a bank card, not an ID
    text = f"{other_valid} {masked} {bank}"
    assert correct_id_numbers(text, known={GOOD}) == (text, [])


def test_corrections_are_flagged_in_the_page_sidecar():
    read = GOOD[:10] + "3" + GOOD[11:]
    reader = PageReader("fake")
    lines = [OcrLine("姓名:张三", [], 1.0), OcrLine(f"身份证号 {read}", [], 1.0)]
    corrections = reader.tidy_text(lines)
    assert [line.text for line in lines] == ["姓名：张三", f"身份证号 {GOOD}"]
    assert corrections == [{"line": 1, "read": read, "corrected": GOOD, "position": 10}]


def test_ingest_corrects_a_near_miss_to_the_roster_and_flags_it(home, township):
    """End to end without any model: the fake engine reads the PNG's own text chunk."""
    import json

    from PIL import Image, PngImagePlugin

    from archive.scans.ingest import Ingester

    member = next(h for h in township if h.status == "在保").head
    number = member.id_number
    position = 15 if number[15] != "9" else 14
    read = number[:position] + str((int(number[position]) + 1) % 10) + number[position + 1:]
    assert not idcard.is_valid(read) and len(near_misses(read)) > 1  # only the roster settles it
    info = PngImagePlugin.PngInfo()
    info.add_text("fake-ocr", f"居民身份证\n姓名 {member.name}\n公民身份号码 {read}", zip=True)
    Image.new("RGB", (800, 1100), "white").save(home.inbox_dir / "id.png", pnginfo=info)
    records = Ingester(home, "fake").run([home.inbox_dir])
    assert [r.status for r in records] == ["filed"] and records[0].household == number
    row = home.db.execute("SELECT sidecar_path FROM documents WHERE doc_id=?", (records[0].doc_id,)).fetchone()
    page = json.loads((home.root / row["sidecar_path"]).read_text(encoding="utf-8"))["pages"][0]
    assert page["corrections"] == [{"line": 2, "read": read, "corrected": number, "position": position}]
    assert number in page["text"] and read not in page["text"]


@pytest.mark.parametrize(("read", "printed"), [
    ("520111****6783", "520111********6783"),        # asterisks lost in small print
    ("身份证 520123*******6175", "身份证 520123********6175"),
    ("520111 * * * * 034X", "520111********034X"),   # spaces between them
    ("520111****8287*", "520111********8287"),       # one run too far
])
def test_a_masked_id_gets_back_its_18_characters(read, printed):
    fixed, fixes = fix_masked_ids(read)
    assert fixed == printed and fixes[0]["kind"] == "masked-id" and fixes[0]["corrected"] in printed


@pytest.mark.parametrize("text", ["520111********1234", "5201**********1234", "1234*5678", "520111**** 17008",
                                  "共 10 ** 份"])
def test_masks_that_are_right_or_not_masks_stay_as_read(text):
    assert fix_masked_ids(text) == (text, [])


@pytest.mark.parametrize(("text", "doubtful"), [
    ("520111********6783", False),                  # a whole mask
    (GOOD, False),                                  # a valid ID number
    ("公民身份号码：" + GOOD, False),
    ("52011*****4230", True),                       # a digit and asterisks lost
    ("520111****1708*8", True),
    (GOOD[:5] + GOOD[6:], True),                    # a 1 of 111 lost: 17 digits
    (GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1"), True),  # 18 digits, checksum wrong
    ("银行卡号：6217" + "0" * 15, True),            # 19 digits: read again, kept unless better
    ("档号：1234-2025-001-0001", False),
    ("共计 2400 元", False),
])
def test_numbers_that_lost_their_shape_are_doubtful(text, doubtful):
    assert doubtful_numbers(text) is doubtful


def test_a_second_reading_is_better_only_when_more_numbers_hold_their_shape():
    assert number_quality("520111********6783 " + GOOD) == 2
    assert number_quality("520111****6783 " + GOOD[:-2]) == 0
    assert number_quality("520111********6783") > number_quality("520111*****6783")


@pytest.mark.parametrize(("text", "before", "printed"), [
    ("血型0型", "", "血型O型"),
    ("血型：0型", "", "血型：O型"),
    ("0型", "血型", "O型"),           # a form read cell by cell: label, then value
    ("0型", "身高", "0型"),            # not after the blood type label
    ("A型", "血型", "A型"),
    ("共10型号", "", "共10型号"),
])
def test_blood_type_o_is_not_a_zero(text, before, printed):
    assert fix_blood_type(text, before) == printed


@pytest.mark.parametrize(("read", "printed"), [
    ("自二○二五年七月起停发", "自二〇二五年七月起停发"),   # U+25CB, a photocopy's reading
    ("二O二五年", "二〇二五年"),
    ("二0二0年", "二〇二〇年"),                               # before 年 too
    ("二○○八年", "二〇〇八年"),
    ("一◯", "一◯"),                                           # nothing after it: left alone
    ("血型O型", "血型O型"),
    ("第3号○", "第3号○"),
    ("共10人", "共10人"),
])
def test_the_chinese_zero_is_not_a_circle_or_a_letter(read, printed):
    assert fix_chinese_zero(read) == printed


def test_the_text_layer_users_copy_holds_the_full_width_marks_printed(home, township):
    """The searchable PDF's text layer (what a user copies) and the catalog hold `（签字）：`, as
    printed, where the recogniser returned half-width marks (the fake engine reads the PNG's own
    text chunk as an engine's output)."""
    import pypdf
    from PIL import Image, PngImagePlugin

    from archive.scans.ingest import Ingester

    member = next(h for h in township if h.status == "在保").head
    info = PngImagePlugin.PngInfo()
    info.add_text("fake-ocr", f"居民身份证\n申请人(签字):{member.name}\n公民身份号码 {member.id_number}", zip=True)
    Image.new("RGB", (800, 1100), "white").save(home.inbox_dir / "id.png", pnginfo=info)
    [record] = Ingester(home, "fake").run([home.inbox_dir])
    row = home.db.execute("SELECT pdf_path, body_text FROM documents WHERE doc_id=?", (record.doc_id,)).fetchone()
    layer = "".join(page.extract_text() for page in pypdf.PdfReader(home.root / row["pdf_path"]).pages)
    printed = f"申请人（签字）：{member.name}"
    assert printed in layer.replace(" ", "").replace("\n", "") and printed in row["body_text"]
