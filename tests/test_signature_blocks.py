"""Signature blocks on paper: never alone at the top of a page, every signer's date in one
column, 「年 月 日」 never split, however many signers and however long their names."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
from docx import Document as open_docx

from archive.documents.docmodel import Block, Document
from archive.documents.docxwriter import write_docx
from archive.documents.pdfwriter import write_pdf
from archive.rendering import fonts

INTRO = "声明人（共同生活的成年家庭成员，每人一行）："
NAMES = ["阿卜杜热合曼·买买提", "张三", "欧阳明月", "司马相如相如", "王五", "努尔艾力·阿不都热西提"]
LABELS = [f"{name}（{'户主' if i == 0 else '家庭成员'}）签字或按手印：" for i, name in enumerate(NAMES)]


def _pages(pdf: bytes) -> list[tuple[str, list[tuple[str, tuple]]]]:
    """Each page's text, and its characters with their boxes."""
    document = pdfium.PdfDocument(pdf)
    out = []
    for index in range(len(document)):
        textpage = document[index].get_textpage()
        text = textpage.get_text_range()
        out.append((text, textpage))
    return out, document


def _body(filler: int) -> list[Block]:
    return [Block("title", text="共同生活家庭成员声明"),
            *[Block("paragraph", text="本人承诺所填内容真实完整。" * 3) for _ in range(filler)],
            Block("paragraph", text=INTRO, indent=0),
            Block("signatures", lines=LABELS, with_date=True),
            Block("paragraph", text="特此告知。"),
            Block("sign_off", org="青岩镇人民政府", date="2025年7月8日")]


def test_signers_never_start_a_page_and_dates_line_up():
    resolved = fonts.resolve()
    starts = set()
    for filler in range(4, 16):  # moves the block through every position around the page end
        pdf, layout = write_pdf(Document("声明", _body(filler), doc_id="S1"), resolved)
        pages, document = _pages(pdf)
        texts = [text for text, _ in pages]
        page_of = {key: next(i for i, t in enumerate(texts) if key in t.replace("\r\n", ""))
                   for key in (INTRO, "阿卜杜热合曼", "特此告知", "青岩镇人民政府")}
        assert page_of[INTRO] == page_of["阿卜杜热合曼"]
        assert page_of["特此告知"] == page_of["青岩镇人民政府"]
        starts.add(page_of["阿卜杜热合曼"])
        lefts = []
        for text, textpage in pages:
            flat = text.replace("\r\n", "\n")
            # 「日期：　　年　　月　　日」 whole on one line
            dates = [line for line in flat.split("\n") if "日期" in line]
            assert all(re.search(r"日期：\s*年\s*月\s*日\s*$", line) for line in dates), dates
            searcher = textpage.search("日期")
            while (found := searcher.get_next()) is not None:
                lefts.append(round(textpage.get_charbox(found[0])[0], 1))
        assert len(lefts) == len(LABELS)
        assert max(lefts) - min(lefts) < 0.5, lefts  # the same column for every signer
        document.close()
    assert len(starts) > 1  # the block really did fall across a page end


def test_docx_signers_keep_together_with_dates_in_one_column(tmp_path):
    path = tmp_path / "s.docx"
    path.write_bytes(write_docx(Document("声明", _body(8), doc_id="S1")))
    docx = open_docx(str(path))
    intro = next(p for p in docx.paragraphs if p.text == INTRO)
    assert intro.paragraph_format.keep_with_next
    table = next(t for t in docx.tables if any(LABELS[0] in c.text for c in t.rows[0].cells))
    assert [row.cells[0].text for row in table.rows[0::2]] == LABELS
    assert [re.sub(r"\s", "", row.cells[1].text) for row in table.rows[1::2]] == ["日期：年月日"] * len(LABELS)
    assert len({row.cells[1].width for row in table.rows[1::2]}) == 1
