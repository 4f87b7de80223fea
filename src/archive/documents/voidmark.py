"""A visible 作废 mark on copies of a voided document's PDF and DOCX.

The originals are never changed (their SHA-256 stays as recorded): the marked copies are written
beside them (`…-作废.pdf`, `…-作废.docx`), recorded in the catalog with their own digests, and are
what search and `show` give as the file to open, so a voided notice cannot be printed again
looking valid by mistake.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pypdf
from reportlab.pdfgen import canvas as pdf_canvas

from archive.files import write_atomic
from archive.rendering.glyphs import Glyphs

RED = (0.85, 0.1, 0.1)
MARK = "作废"
DRAFT = "样稿"


def marked_name(path: Path) -> Path:
    return path.with_name(f"{path.stem}-{MARK}{path.suffix}")


def _overlay(width: float, height: float, note: str, mark: str = MARK) -> bytes:
    glyphs = Glyphs()
    font = glyphs.font("heiti")
    buffer = io.BytesIO()
    canvas = pdf_canvas.Canvas(buffer, pagesize=(width, height), initialFontName=font)
    canvas.setFillColorRGB(*RED)
    canvas.setStrokeColorRGB(*RED)
    # large, diagonal, across the page; the text under it stays legible (outlined, not filled)
    canvas.saveState()
    canvas.translate(width / 2, height / 2)
    canvas.rotate(math.degrees(math.atan2(height, width)))
    canvas.setFont(font, 160)
    canvas.setLineWidth(3)
    text = canvas.beginText()
    text.setTextRenderMode(1)
    text.setFont(font, 160)
    text.setTextOrigin(-160, -56)
    glyphs.text_out(text, mark, font, 160)
    canvas.drawText(text)
    canvas.restoreState()
    # the reason along the top edge
    glyphs.draw(canvas, 30, height - 24, note, font, 10)
    canvas.save()
    return buffer.getvalue()


def mark_pdf(source: Path, target: Path, note: str) -> None:
    write_atomic(target, mark_pdf_bytes(source.read_bytes(), note))


def mark_pdf_bytes(pdf: bytes, note: str, mark: str = MARK) -> bytes:
    """The PDF with `mark` across every page and `note` along its top edge."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    writer = pypdf.PdfWriter(clone_from=reader)
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        page.merge_page(pypdf.PdfReader(io.BytesIO(_overlay(width, height, note, mark))).pages[0])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def mark_docx(source: Path, target: Path, note: str) -> None:
    from docx import Document
    from docx.shared import Pt, RGBColor

    document = Document(str(source))
    body = document.paragraphs
    heading = body[0].insert_paragraph_before() if body else document.add_paragraph()
    run = heading.add_run(f"【{MARK}】")
    run.bold = True
    run.font.size = Pt(36)
    run.font.color.rgb = RGBColor(0xD9, 0x1A, 0x1A)
    detail = heading.add_run(f"  {note}")
    detail.font.size = Pt(12)
    detail.font.color.rgb = RGBColor(0xD9, 0x1A, 0x1A)
    buffer = io.BytesIO()
    document.save(buffer)
    write_atomic(target, buffer.getvalue())
