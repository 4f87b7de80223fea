"""Every PDF the software draws, not only documents, prints a rare character (CJK Extension B,
𠮷) in the fallback font: the 归档文件目录, a 卷内目录, the 盒脊 and 备考表, the 归档章 and the
作废 mark. Each is reopened: pypdf extracts the character, pypdfium2 reports it in the fallback
font and renders ink where it stands (never a blank box)."""

from __future__ import annotations

import ctypes
import io
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from reportlab.pdfgen import canvas as pdf_canvas

from archive.documents import voidmark
from archive.filing import catalogue, stamp
from archive.rendering import fonts

RARE = "𠮷"  # U+20BB7



def _any_fallback_has_rare() -> bool:
    from reportlab.pdfbase.ttfonts import TTFontFile

    resolved = fonts.resolve()
    return any(ord(RARE) in TTFontFile(str(resolved[role].path), subfontIndex=resolved[role].index).charToGlyph
               for role in fonts.fallback_roles(resolved))


pytestmark = pytest.mark.skipif(not _any_fallback_has_rare(), reason="no fallback font with Extension B (fonts-hanazono)")


def _occurrences(pdf: bytes) -> list[tuple[str, bool]]:
    """(font name, ink under the character's box) for every 𠮷 pdfium finds in the PDF."""
    document = pdfium.PdfDocument(pdf)
    found = []
    try:
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            scale = 2
            image = page.render(scale=scale, grayscale=True).to_pil()
            height = page.get_height()
            position = 0
            for char in text:
                if char == RARE:
                    buffer = ctypes.create_string_buffer(256)
                    flags = ctypes.c_int()
                    pdfium_c.FPDFText_GetFontInfo(textpage.raw, position, buffer, 256, ctypes.byref(flags))
                    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
                    pdfium_c.FPDFText_GetCharBox(textpage.raw, position, ctypes.byref(left), ctypes.byref(right),
                                                 ctypes.byref(bottom), ctypes.byref(top))
                    box = (int(left.value * scale), int((height - top.value) * scale),
                           int(right.value * scale) + 1, int((height - bottom.value) * scale) + 1)
                    dark = sum(image.crop(box).histogram()[:160])
                    found.append((buffer.value.decode("latin-1"), dark > 3))
                position += len(char.encode("utf-16-le")) // 2  # pdfium counts UTF-16 units
    finally:
        document.close()
    return found


def _assert_printed(pdf: bytes, at_least: int = 1) -> None:
    assert RARE in "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    found = _occurrences(pdf)
    assert len(found) >= at_least, found
    assert all("HanaMin" in font for font, _ in found), found
    assert all(ink for _, ink in found), found


def _item(seq: int) -> catalogue.Item:
    return catalogue.Item(seq=seq, archival_code=f"Z109-2025-D30-{seq:04d}", number=f"青岩民不批〔2025〕{seq}号",
                          responsible=f"张{RARE}", title=f"张{RARE}家庭经济状况书面声明", date="20250708",
                          secrecy="", pages=2, note="", household="x", village=f"{RARE}村", box_no=1, item_no=seq)


def test_the_filing_catalogue_prints_a_rare_character():
    pdf, _ = catalogue.filing_catalogue(f"{RARE}村 2025年7月 归档文件目录", [_item(1), _item(2)])
    _assert_printed(pdf, at_least=5)  # the title, and a name and a title per row


def test_a_household_file_catalogue_prints_a_rare_character():
    _assert_printed(catalogue.file_catalogue("卷内目录", f"户主 张{RARE}", [_item(1)]), at_least=2)


def test_the_box_spine_and_notes_print_a_rare_character():
    box = catalogue.Box(year=2025, village=f"{RARE}村", retention="永久", box_no=1, first_item=1, last_item=9,
                        items=9, code="D30")
    pdf = catalogue.box_spine_and_notes([box], "Z109", "青岩镇", {}, f"王{RARE}", "2025年8月1日")
    _assert_printed(pdf, at_least=4)  # spine heading, spine value, notes text, the operator


def test_the_filing_stamp_prints_a_rare_character(tmp_path: Path):
    source = tmp_path / "source.pdf"
    page = pdf_canvas.Canvas(str(source))
    page.drawString(100, 400, "body")
    page.save()
    target = tmp_path / "stamped.pdf"
    stamp.stamp_first_page(source, target, stamp.StampFields(fonds="Z109", year=2025, item=12, code=f"{RARE}村",
                                                             retention="永久", pages=1))
    _assert_printed(target.read_bytes())


def test_the_void_mark_prints_a_rare_character(tmp_path: Path):
    source = tmp_path / "source.pdf"
    page = pdf_canvas.Canvas(str(source))
    page.drawString(100, 400, "body")
    page.save()
    marked = voidmark.mark_pdf_bytes(source.read_bytes(), f"本文书已作废：户主姓名张{RARE}写错")
    _assert_printed(marked)
