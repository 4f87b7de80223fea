"""Small scan fixtures made in the test: born-digital PDFs with a text layer, and synthetic
scans of generated pages."""

from __future__ import annotations

import random
from pathlib import Path

from archive.scans.synthetic import Degradation, save_scan, scan_of, text_layer_pdf


def text_pdf(path: Path, lines: list[str]) -> Path:
    """A born-digital PDF with a text layer (the product's own helper, used by the demo too)."""
    return text_layer_pdf(path, lines)


def sealed_scan(pdf: str | Path, target: Path, spec: Degradation, seed: int = 1, seal_on: str = "青岩镇人民政府") -> Path:
    image = scan_of(Path(pdf), spec, random.Random(seed), seal_on=seal_on)
    return save_scan(image, target, spec.dpi, spec.jpeg)


# --- hostile inputs (issue 10: an inbox that no file can block or bomb) ----------------------

def blank_pages_pdf(path: Path, pages: int, size: tuple[float, float] = (595.0, 842.0)) -> Path:
    """A small PDF of many blank pages (1,000 blank A4 pages is about 100 KB)."""
    import pypdf

    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(*size)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def huge_page_pdf(path: Path, pixels_at_300dpi: float = 119e6) -> Path:
    """A tiny PDF whose one page renders to `pixels_at_300dpi` pixels (the default is just under
    the old hard limit of 120 MP: rendering and preparing it took 2.4 GB)."""
    side = (pixels_at_300dpi ** 0.5) * 72 / 300
    return blank_pages_pdf(path, 1, (side, side))


def text_pages_pdf(path: Path, pages: int, lines: list[str]) -> Path:
    """A born-digital PDF of `pages` A4 pages, each with a text layer holding `lines`."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from archive.documents.pdfwriter import register_fonts
    from archive.rendering.fonts import resolve

    font = register_fonts(resolve())["song"]
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for page in range(pages):
        pdf.setFont(font, 14)
        for index, line in enumerate([*lines, f"第{page + 1}页"]):
            pdf.drawString(60, A4[1] - 80 - 24 * index, line)
        pdf.showPage()
    pdf.save()
    return path


def owner_password_pdf(source: Path, path: Path) -> Path:
    """`source` encrypted with an owner password only: it opens without a password."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(source))
    writer.encrypt(user_password="", owner_password="owner-secret", permissions_flag=0)
    with open(path, "wb") as handle:
        writer.write(handle)
    return path
