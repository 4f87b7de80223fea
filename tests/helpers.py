"""Reading generated files back, the way a user's software would."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pypdfium2 as pdfium
from docx import Document as open_docx
from docx.oxml.ns import qn

from archive.rendering import qr


def pdf_text(path: str | Path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)


def pdf_fonts(path: str | Path) -> list[tuple[str, bool]]:
    """(BaseFont, embedded?) for every font used on any page."""
    out = []
    for page in pypdf.PdfReader(str(path)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
            out.append((str(font["/BaseFont"]), embedded))
    return out


def page_marks(path: str | Path, scale: float = 2.0) -> list[qr.PageMark]:
    """Render every page (pypdfium2) and decode its QR code."""
    marks = []
    document = pdfium.PdfDocument(str(path))
    for index in range(len(document)):
        image = document[index].render(scale=scale).to_pil()
        marks.extend(qr.decode_image(image))
    document.close()
    return marks


def docx_text(path: str | Path) -> str:
    document = open_docx(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def docx_east_asian_fonts(path: str | Path) -> set[str]:
    document = open_docx(str(path))
    fonts = set()
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            rpr = run._element.rPr
            if rpr is not None and rpr.rFonts is not None and run.text.strip():
                fonts.add(rpr.rFonts.get(qn("w:eastAsia")))
    return fonts
