"""A searchable PDF: each page image with an invisible text layer placed over the lines OCR
found, so text can be selected and found in any PDF reader.

Each line is written as one string in an embedded CJK font (no spaces between Han characters,
unlike OCRmyPDF's layer), stretched to the width of its box. Pages are JPEG at the scan's
resolution, in colour, so red seals stay visible (DA/T 31-2017 asks for colour where seals are).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from PIL import Image
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas as pdf_canvas

from archive.documents.pdfwriter import register_fonts
from archive.rendering.fonts import resolve
from archive.scans.ocr.base import OcrPage


class SearchablePdf:
    """Written page by page: each page image is JPEG-compressed as it is added and let go, so
    memory holds one page image at a time plus the compressed pages (a blank page is a few KB,
    a scanned A4 page a few hundred). The file is written when closed."""

    def __init__(self, target: Path | io.BytesIO, title: str = "", fonts: dict[str, str] | None = None) -> None:
        self.font = register_fonts(resolve(fonts))["song"]
        self.canvas = pdf_canvas.Canvas(str(target) if isinstance(target, Path) else target, initialFontName=self.font)
        self.canvas.setTitle(title)
        self.canvas.setCreator("township-archive")
        self.pages = 0
        self._pages = tempfile.TemporaryDirectory(prefix=".pages-", dir=target.parent if isinstance(target, Path) else None)

    def add(self, image: Image.Image, page: OcrPage, dpi: float) -> None:
        """image: the upright colour page; page: its OCR lines in that image's pixels."""
        canvas, font = self.canvas, self.font
        scale = 72.0 / dpi
        width, height = image.size[0] * scale, image.size[1] * scale
        canvas.setPageSize((width, height))
        # by file name: reportlab embeds the JPEG as it is; given an ImageReader it would decode
        # and keep the whole RGB page (26 MB at 300 dpi) until the PDF is saved
        jpeg = Path(self._pages.name) / f"{self.pages:05d}.jpg"
        (image if image.mode == "RGB" else image.convert("RGB")).save(jpeg, format="JPEG", quality=80, dpi=(dpi, dpi))
        canvas.drawImage(str(jpeg), 0, 0, width, height)
        jpeg.unlink()
        for line in page.lines:
            text = line.text.strip()
            if not text or not line.box:
                continue
            xs = [p[0] for p in line.box]
            ys = [p[1] for p in line.box]
            box_w = (max(xs) - min(xs)) * scale
            box_h = (max(ys) - min(ys)) * scale
            size = max(1.0, box_h * 0.85)
            natural = pdfmetrics.stringWidth(text, font, size) or 1.0
            obj = canvas.beginText()
            obj.setTextRenderMode(3)  # invisible: selectable and searchable, not drawn
            obj.setFont(font, size)
            obj.setHorizScale(100.0 * box_w / natural)
            obj.setTextOrigin(min(xs) * scale, height - max(ys) * scale + box_h * 0.15)
            obj.textOut(text)
            canvas.drawText(obj)
        canvas.showPage()
        self.pages += 1

    def close(self) -> None:
        try:
            self.canvas.save()
        finally:
            self._pages.cleanup()


def write_searchable_pdf(pages: list[tuple[Image.Image, OcrPage, float]], title: str = "",
                         fonts: dict[str, str] | None = None) -> bytes:
    """pages: (upright colour image, its OCR lines in that image's pixels, dpi)."""
    buffer = io.BytesIO()
    writer = SearchablePdf(buffer, title, fonts)
    for image, page, dpi in pages:
        writer.add(image, page, dpi)
    writer.close()
    return buffer.getvalue()
