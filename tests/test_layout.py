"""Page layout: table cells, reading order and the page number line."""

import datetime as dt
import random
from pathlib import Path

import numpy as np
import pytest

from archive.documents.generate import Generator
from archive.scans.layout import (
    dashes_beside,
    find_cells,
    reading_order,
    tidy_page_number,
    without_scribbles,
)
from archive.scans.ocr.base import OcrLine
from archive.scans.synthetic import Degradation, render_pdf_page, scan_of

DAY = dt.date(2025, 7, 8)


def line(text: str, left: float, top: float, right: float, bottom: float, confidence: float = 0.99) -> OcrLine:
    return OcrLine(text, [[left, top], [right, top], [right, bottom], [left, bottom]], confidence)


def texts(lines: list[OcrLine]) -> list[str]:
    return [item.text for item in lines]


def test_cells_of_a_generated_form_and_none_on_a_notice(home, head_id):
    generator = Generator(home)
    form = generator.household_document("approval", head_id, DAY)
    notice = generator.household_document("suspension", head_id, DAY, {"reason": "务工收入增加"})
    form_page = np.asarray(render_pdf_page(Path(form.pdf), 0, 150).convert("L"))
    cells = find_cells(form_page)
    assert len(cells) >= 12
    height, width = form_page.shape
    # every cell lies inside the GB/T 9704 text block (left margin 28 mm, right 26 mm)
    assert all(width * 25 / 210 < left < right < width * 186 / 210 for left, _, right, _ in cells)
    # cells do not overlap
    for index, (l1, t1, r1, b1) in enumerate(cells):
        for l2, t2, r2, b2 in cells[index + 1:]:
            assert min(r1, r2) <= max(l1, l2) or min(b1, b2) <= max(t1, t2)
    notice_page = np.asarray(render_pdf_page(Path(notice.pdf), 0, 150).convert("L"))
    assert find_cells(notice_page) == []


def test_a_cell_is_read_whole_label_first():
    """A label centred beside a two-line value: across the page it falls between the value's
    lines; cell by cell it comes first and the value stays together."""
    lines = [
        line("审核确认表", 200, 10, 400, 40),
        line("经入户调查，该户共同生活家庭成员人均", 120, 100, 480, 120),
        line("调查结果", 10, 112, 90, 132),
        line("收入低于当地最低生活保障标准。", 120, 125, 400, 145),
        line("公示情况", 10, 165, 90, 185),
        line("已公示7天，无异议。", 120, 165, 300, 185),
    ]
    cells = [(0, 95, 100, 150), (100, 95, 500, 150), (0, 155, 100, 195), (100, 155, 500, 195)]
    assert texts(reading_order(lines)) != texts(reading_order(lines, cells))
    assert texts(reading_order(lines, cells)) == [
        "审核确认表", "调查结果", "经入户调查，该户共同生活家庭成员人均", "收入低于当地最低生活保障标准。",
        "公示情况", "已公示7天，无异议。"]


def test_page_number_at_the_foot_is_tidied():
    height = 3508
    body = line("-1-", 300, 1000, 400, 1040)  # in the body: left alone
    parts = [line("一", 1900, 3180, 1950, 3230), line("1-", 1990, 3178, 2100, 3232)]
    tidied = tidy_page_number([body, *parts], height)
    assert texts(tidied) == ["-1-", "— 1 —"]
    assert texts(tidy_page_number([line("-12", 300, 3180, 420, 3230)], height)) == ["— 12 —"]
    # a lone number or other words at the foot are not a page number
    assert texts(tidy_page_number([line("12", 300, 3180, 420, 3230)], height)) == ["12"]
    assert texts(tidy_page_number([line("抄送：区民政局", 300, 3180, 900, 3230)], height)) == ["抄送：区民政局"]


def test_dashes_beside_a_bare_page_number():
    import cv2

    page = np.full((400, 800), 255, np.uint8)
    number = line("1", 390, 300, 410, 340)
    cv2.rectangle(page, (397, 302), (403, 338), 0, -1)  # the digit
    assert dashes_beside(page, number) == 0
    cv2.rectangle(page, (320, 319), (360, 321), 90, -1)  # a thin grey dash on the left
    assert dashes_beside(page, number) == 1
    cv2.rectangle(page, (440, 319), (480, 321), 90, -1)
    assert dashes_beside(page, number) == 2
    blocks = np.full((400, 800), 255, np.uint8)
    cv2.rectangle(blocks, (320, 305), (360, 335), 0, -1)  # a block of ink is not a dash
    assert dashes_beside(blocks, number) == 0


def test_lines_of_symbols_alone_are_dropped():
    kept = without_scribbles([line("~~", 0, 0, 50, 20), line("-~", 0, 30, 50, 50), line("年", 0, 60, 20, 80),
                              line("2", 0, 90, 20, 110), line("— 1 —", 0, 120, 80, 140)])
    assert texts(kept) == ["年", "2", "— 1 —"]


@pytest.mark.slow
def test_scanned_form_reads_cell_by_cell_with_its_page_number(home, head_id):
    from archive.scans.pipeline import PageReader

    generated = Generator(home).household_document("approval", head_id, DAY)
    spec = Degradation(dpi=200, skew=1.5, noise=6, jpeg=70)
    page, _, _ = PageReader().ocr_image(scan_of(Path(generated.pdf), spec, random.Random(3)))
    text = "".join(page.text.split())
    assert "调查结果经入户调查" in text  # the label, then its two-line value
    assert page.lines[-1].text == "— 1 —"


def test_two_columns_of_running_text_are_read_column_by_column():
    heading = line("社会救助工作简报", 300, 10, 600, 40)
    left = [line(f"左栏第{i}行正文内容", 50, 80 + 40 * i, 440 if i % 4 else 400, 100 + 40 * i) for i in range(8)]
    right = [line(f"右栏第{i}行正文内容", 500, 80 + 40 * i, 890 if i % 3 else 850, 100 + 40 * i) for i in range(8)]
    ordered = texts(reading_order([heading, *right, *left]))
    assert ordered == [heading.text] + [item.text for item in left] + [item.text for item in right]


def test_a_form_of_label_and_value_pairs_keeps_its_rows():
    """Two fields a row (申请人 … 日期 …) is not two columns: the pairs do not fill their side."""
    rows = []
    for i in range(8):
        rows.append(line(f"姓名{i}：张三", 50, 80 + 40 * i, 160 + 30 * (i % 3), 100 + 40 * i))
        rows.append(line(f"日期{i}：2025年7月8日", 500, 80 + 40 * i, 700 + 60 * (i % 3), 100 + 40 * i))
    assert texts(reading_order(list(reversed(rows)))) == texts(rows)


def test_a_line_whose_cell_was_not_found_is_read_in_its_row():
    """The last column's rule faded on a photocopy: its values are not inside any cell, and
    their boxes (with the detector's margin) are taller than the cells. They are read in
    their row, not after the table."""
    cells = [(0, 0, 100, 40), (100, 0, 200, 40), (0, 40, 100, 80), (100, 40, 200, 80), (0, 80, 100, 120),
             (100, 80, 200, 120)]
    lines = [line("张三", 10, 8, 60, 32), line("男", 110, 8, 130, 32), line("1200", 210, -6, 260, 46),
             line("李四", 10, 48, 60, 72), line("女", 110, 48, 130, 72), line("900", 210, 34, 250, 86),
             line("王五", 10, 88, 60, 112), line("男", 110, 88, 130, 112), line("2400", 210, 74, 260, 126),
             line("合计", 10, 140, 60, 164)]
    assert texts(reading_order(lines, cells)) == ["张三", "男", "1200", "李四", "女", "900", "王五", "男", "2400",
                                                  "合计"]


def test_a_card_photo_read_as_a_line_leaves_each_label_beside_its_value():
    """An ID card copy (bench/ocr_eval.py, seed 18 page 64): the grey photo beside the labels
    was detected as one box four lines tall and read `■`. Taken as a row's measure, it drew
    every label into one row, all four ahead of their values (姓名性别出生住址王文华…)."""
    photo = line("■", 995, 267, 1345, 728, 0.54)
    rows = [line("王文华", 546, 290, 658, 340), line("姓名", 404, 292, 473, 336),   # value 7.5 pt, label 6.5
            line("性别", 404, 349, 473, 395), line("女民族汉", 548, 352, 724, 400),
            line("出生", 404, 406, 470, 452), line("1993年2月27日", 548, 409, 783, 454),
            line("住址", 404, 466, 473, 509), line("贵州省贵阳市花溪区石板", 548, 468, 993, 514),
            line("村11组63号", 548, 516, 728, 562),
            line("公民身份号码", 404, 744, 582, 790), line("520121199302273523", 676, 747, 1073, 785)]
    ordered = texts(reading_order([photo, *rows]))
    assert [text for text in ordered if text != "■"] == ["姓名", "王文华", "性别", "女民族汉", "出生", "1993年2月27日",
                                                      "住址", "贵州省贵阳市花溪区石板", "村11组63号", "公民身份号码",
                                                      "520121199302273523"]


def test_a_large_first_character_keeps_its_row():
    """Lines of different sizes on one row still share it (half the taller one's height),
    a heading's large first character beside the rest of the heading."""
    big, rest = line("关", 100, 100, 180, 180), line("于开展低保复核的通知", 190, 130, 600, 170)
    below = line("各村（社区）：", 100, 200, 300, 230)
    assert texts(reading_order([below, rest, big])) == ["关", "于开展低保复核的通知", "各村（社区）："]


@pytest.mark.slow
def test_an_id_card_copy_is_read_label_by_value():
    """The generated page itself (bench/ocr_eval.py seed 18 page 64, a tune page), whole."""
    from archive.scans.pipeline import PageReader
    from bench.ocr_eval import build, cer

    page = build("idcard", 64, 18)
    text = PageReader("rapidocr").ocr_image(page.image)[0].text
    assert "姓名王文华性别女民族汉出生1993年2月27日住址" in "".join(text.split())
    assert cer(page.truth, text)[0] == 0


def test_two_columns_of_short_paragraphs_are_read_column_by_column():
    """Short paragraphs end in short lines: on a tune page (bench/ocr_eval.py twocol page 10) the
    right column's lines were filled to its edge less than 60 % of the time, the page was taken
    for one column and its two columns were read interleaved, row by row (82 % CER)."""
    heading = line("息烽县社会救助工作简报", 490, 150, 980, 190)
    left, right = [], []
    for i in range(16):
        top = 280 + 45 * i
        left.append(line(f"左栏第{i}行", 110, top, 800 if i % 3 else 400, top + 36))
        right.append(line(f"右栏第{i}行", 885, top, 1585 if i % 2 else 1100, top + 36))  # half of them short
    ordered = texts(reading_order([heading, *right, *left]))
    assert ordered == [heading.text] + texts(left) + texts(right)
