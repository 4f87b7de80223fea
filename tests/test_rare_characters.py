"""Names with characters outside the default fonts (CJK Extension B such as 𠮷) print in a
fallback font that has them, or generation stops naming the character; never a blank box."""

from __future__ import annotations

import ctypes
import datetime as dt
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from archive import sample
from archive.config import Config
from archive.documents.docmodel import Block, Document
from archive.documents.generate import Generator
from archive.documents.pdfwriter import MissingGlyphError, write_pdf
from archive.home import init_home
from archive.rendering import fonts
from archive.roster.importer import import_roster

MONTH = dt.date(2025, 7, 1)
RARE = "𠮷"  # U+20BB7, in none of the default fonts (AR PL UMing/UKai, WenQuanYi)


def _font_of_each(pdf: bytes | Path, wanted: str) -> list[str]:
    """The font name pdfium reports for every occurrence of `wanted` in the PDF."""
    document = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    found = []
    for index in range(len(document)):
        textpage = document[index].get_textpage()
        text = textpage.get_text_range()
        position = 0
        for char in text:
            if char == wanted:
                buffer = ctypes.create_string_buffer(256)
                flags = ctypes.c_int()
                pdfium_c.FPDFText_GetFontInfo(textpage.raw, position, buffer, 256, ctypes.byref(flags))
                found.append(buffer.value.decode("latin-1"))
            position += len(char.encode("utf-16-le")) // 2  # pdfium counts UTF-16 units
    document.close()
    return found


def _fallback_has_rare() -> bool:
    resolved = fonts.resolve()
    from reportlab.pdfbase.ttfonts import TTFontFile
    return any(ord(RARE) in TTFontFile(str(resolved[role].path), subfontIndex=resolved[role].index).charToGlyph
               for role in fonts.fallback_roles(resolved))


needs_fallback = pytest.mark.skipif(not _fallback_has_rare(), reason="no fallback font with Extension B (fonts-hanazono)")


@needs_fallback
def test_a_rare_character_prints_in_the_fallback_font_everywhere():
    name = f"吉{RARE}祥"
    body = [Block("title", text=f"{name}家庭声明"),
            Block("paragraph", text=f"本人{name}郑重声明，以上情况属实。"),
            Block("form", rows=[["姓名", name, "关系", "户主"]], widths=[1, 2, 1, 2], heights=[1]),
            Block("signatures", lines=[f"{name}（户主）签字或按手印："], with_date=True),
            Block("sign_off", org=f"{RARE}乡人民政府", date="2025年7月8日")]
    pdf, _ = write_pdf(Document("声明", body, doc_id="R1"), fonts.resolve())
    used = _font_of_each(pdf, RARE)
    assert len(used) == 5
    assert all("HanaMin" in font for font in used), used
    # the characters around it stay in the document's own fonts
    assert not any("HanaMin" in font for font in _font_of_each(pdf, "祥"))


@needs_fallback
def test_a_household_member_named_with_extension_b_prints(tmp_path):
    township = sample.make_township(12, MONTH, seed=3)
    household = next(h for h in township if h.status == "在保" and len(h.members) >= 2)
    household.members[1].name = f"张{RARE}"
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES),
                    complaint_phone="0851-83200000", office_phone="0851-83200001")
    home = init_home(tmp_path / "home", config)
    import_roster(home.db, sample.write_roster_xlsx(township, tmp_path / "roster.xlsx"), home.config, "tester")
    try:
        made = Generator(home).household_document("declaration", household.head.id_number, dt.date(2025, 7, 8))
        used = _font_of_each(Path(made.pdf), RARE)
        assert used and all("HanaMin" in font for font in used), used
    finally:
        home.close()


def test_no_font_with_the_character_stops_with_its_name():
    resolved = {role: font for role, font in fonts.resolve().items() if role not in fonts.fallback_roles(fonts.resolve())}
    body = [Block("paragraph", text=f"家庭成员张{RARE}，女，1990年生。")]
    with pytest.raises(MissingGlyphError) as raised:
        write_pdf(Document("声明", body, doc_id="R2"), resolved)
    assert RARE in raised.value.message and "U+20BB7" in raised.value.message
    assert f"张{RARE}" in raised.value.message
