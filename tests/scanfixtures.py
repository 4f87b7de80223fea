"""Small scan fixtures made in the test: born-digital PDFs with a text layer, and synthetic
scans of generated pages."""

from __future__ import annotations

import io
import random
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from archive.documents.fonts import resolve
from archive.documents.pdfwriter import register_fonts
from archive.scans.synthetic import Degradation, save_scan, scan_of


def text_pdf(path: Path, lines: list[str]) -> Path:
    """A born-digital PDF whose text layer holds `lines` (as a copy from another system would)."""
    font = register_fonts(resolve())["song"]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    y = A4[1] - 80
    for line in lines:
        pdf.setFont(font, 14)
        pdf.drawString(60, y, line)
        y -= 24
    pdf.showPage()
    pdf.save()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path


def sealed_scan(pdf: str | Path, target: Path, spec: Degradation, seed: int = 1, seal_on: str = "青岩镇人民政府") -> Path:
    image = scan_of(Path(pdf), spec, random.Random(seed), seal_on=seal_on)
    return save_scan(image, target, spec.dpi, spec.jpeg)
