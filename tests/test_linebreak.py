"""Chinese line breaking (避头尾) in generated PDFs: no line starts with a closing mark or a pause,
no line ends with an opening mark, wherever the punctuation falls on the line."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pypdfium2 as pdfium
from docx import Document as open_docx

from archive.documents.docmodel import Block, Document
from archive.documents.generate import Generator
from archive.documents.linebreak import break_lines
from archive.documents.pdfwriter import write_pdf
from archive.rendering import fonts

NO_START = set("，。、：；！？）」》』】")
NO_END = set("（「《『【")
DAY = dt.date(2025, 7, 8)
REASON = ("家庭人均收入（含赡养费）高于当地标准，名下有机动车一辆、商铺一间；经调查核实：不符合条件！"
          "有异议吗？见《办法》「第九条」『规定』【附件】。")


def pdf_lines(data: bytes | Path) -> list[str]:
    document = pdfium.PdfDocument(data if isinstance(data, bytes) else str(data))
    lines = []
    for index in range(len(document)):
        text = document[index].get_textpage().get_text_range()
        lines += [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]
    document.close()
    return lines


def broken_rules(lines: list[str]) -> list[str]:
    return [line for line in lines if line[0] in NO_START or line[-1] in NO_END]


def test_punctuation_at_every_line_position_breaks_by_the_rules():
    # a filler of 0..30 characters moves every mark through every column of the 156 mm line
    body = [Block("paragraph", text="因" * shift + REASON * 2) for shift in range(31)]
    pdf, _ = write_pdf(Document("不予批准告知书", body, doc_id="T1"), fonts.resolve())
    lines = pdf_lines(pdf)
    assert len(lines) > 31 * 4
    assert broken_rules(lines) == []
    # nothing lost: every paragraph's text is there in order
    text = "".join(line for line in lines if not re.fullmatch(r"— \d+ —|T1 第\d+页", line))
    assert text.count(REASON) == 62


def test_break_lines_rules_directly():
    text = list("一二三，四五（六七")
    widths = [1.0] * len(text)
    hard = [False] * len(text)
    # a 3-wide line would start the second line with ，: push 三 down with it
    assert [("".join(text[a:b])) for a, b, _ in break_lines(text, widths, hard, [3.0])] == [
        "一二", "三，四", "五（六", "七"]
    # an ID number is not split when it fits on the next line
    text = list("号码52011119900101123X。")
    lines = break_lines(text, [1.0] * len(text), [False] * len(text), [20.0])
    assert ["".join(text[a:b]) for a, b, _ in lines] == ["号码", "52011119900101123X。"]
    # a run longer than a line still breaks (and still never before a mark)
    text = list("1" * 30 + "。")
    lines = break_lines(text, [1.0] * len(text), [False] * len(text), [10.0])
    assert all(text[a] != "。" for a, _, _ in lines) and lines[-1][1] == len(text)


def test_a_generated_refusal_obeys_the_rules_in_pdf_and_opens_as_docx(home, head_id):
    generator = Generator(home)
    for shift in (0, 5, 11, 17, 23):
        made = generator.household_document("refusal", head_id, DAY, {"reason": "甲" * shift + REASON})
        assert broken_rules(pdf_lines(Path(made.pdf))) == []
        paragraphs = "".join(p.text for p in open_docx(made.docx).paragraphs)
        assert REASON in paragraphs


def test_dates_are_never_split():
    cases = [("签收日期：", "\u3000\u3000年\u3000\u3000月\u3000\u3000日"), ("作出决定日期为", "2025年12月31日")]
    for before, date in cases:
        text = before + date
        for width in range(len(date), len(text)):
            lines = break_lines(list(text), [1.0] * len(text), [False] * len(text), [float(width)])
            assert any(date in text[a:b] for a, b, _ in lines), (text, width)
