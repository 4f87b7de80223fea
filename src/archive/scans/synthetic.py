"""Synthetic scans of our own generated pages, for the demo, the tests and the OCR benchmark:
the printed page, signed and sealed, then put through a scanner or a phone camera (rotation,
skew, low resolution, noise, blur, JPEG)."""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SEAL_RED = (218, 37, 29)


@dataclass
class Degradation:
    dpi: int = 300
    rotation: int = 0        # 0/90/180/270, counter-clockwise as the page lies on the scanner
    skew: float = 0.0        # degrees
    noise: float = 0.0       # standard deviation of grey noise
    blur: float = 0.0        # Gaussian radius in pixels
    jpeg: int | None = None  # JPEG quality
    seal: bool = False       # a red seal pressed on the signature and date
    signature: bool = False  # a handwritten-looking scribble in blue

    def label(self) -> str:
        parts = [f"{self.dpi}dpi"]
        if self.rotation:
            parts.append(f"rot{self.rotation}")
        if self.skew:
            parts.append(f"skew{self.skew:g}")
        if self.noise:
            parts.append(f"noise{self.noise:g}")
        if self.blur:
            parts.append(f"blur{self.blur:g}")
        if self.jpeg:
            parts.append(f"jpeg{self.jpeg}")
        if self.seal:
            parts.append("seal")
        return "-".join(parts)


def render_pdf_page(pdf: Path, page: int, dpi: int) -> Image.Image:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    image = document[page].render(scale=dpi / 72).to_pil().convert("RGB")
    document.close()
    return image


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from archive.rendering.fonts import resolve

    font = resolve()["heiti"]
    return ImageFont.truetype(str(font.path), size, index=font.index)


def press_seal(image: Image.Image, centre: tuple[float, float], dpi: int, text: str = "青岩镇人民政府") -> Image.Image:
    """A round red seal (42 mm) with a star, multiplied onto the page as ink is."""
    radius = int(21 / 25.4 * dpi)
    size = radius * 2 + 4
    seal = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(seal)
    width = max(2, int(radius * 0.06))
    draw.ellipse([2, 2, size - 3, size - 3], outline=255, width=width)
    star = [(radius + 2 + radius * 0.28 * math.cos(math.radians(90 + k * 36)) * (1 if k % 2 == 0 else 0.4),
             radius + 2 - radius * 0.28 * math.sin(math.radians(90 + k * 36)) * (1 if k % 2 == 0 else 0.4))
            for k in range(10)]
    draw.polygon(star, fill=255)
    font = _font(int(radius * 0.22))
    for index, char in enumerate(text):
        angle = math.radians(200 - index * (220 / max(1, len(text) - 1)))
        x = radius + 2 + radius * 0.72 * math.cos(angle)
        y = radius + 2 - radius * 0.72 * math.sin(angle)
        glyph = Image.new("L", (int(radius * 0.3),) * 2, 0)
        ImageDraw.Draw(glyph).text((0, 0), char, fill=255, font=font)
        glyph = glyph.rotate(math.degrees(angle) - 90, expand=False)
        seal.paste(255, (int(x - glyph.width / 2), int(y - glyph.height / 2)), glyph)
    ink = Image.new("RGB", seal.size, SEAL_RED)
    page = image.copy()
    box = (int(centre[0] - size / 2), int(centre[1] - size / 2))
    region = page.crop((box[0], box[1], box[0] + size, box[1] + size))
    inked = Image.composite(ink, Image.new("RGB", seal.size, (255, 255, 255)), seal.point(lambda v: int(v * 0.85)))
    # multiply: ink darkens the paper and whatever is printed under it
    multiplied = Image.fromarray((np.asarray(region, dtype=np.uint16) * np.asarray(inked, dtype=np.uint16) // 255).astype(np.uint8))
    page.paste(multiplied, box)
    return page


def scribble(image: Image.Image, at: tuple[float, float], dpi: int, rng: random.Random) -> Image.Image:
    page = image.copy()
    draw = ImageDraw.Draw(page)
    x, y = at
    points = [(x + i * dpi / 30, y + rng.uniform(-1, 1) * dpi / 25) for i in range(14)]
    draw.line(points, fill=(30, 40, 150), width=max(2, dpi // 100), joint="curve")
    return page


def find_text(pdf: Path, page: int, needle: str) -> tuple[float, float] | None:
    """Centre (in points from the top left) of `needle` on a PDF page, for placing the seal."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        pdf_page = document[page]
        height = pdf_page.get_size()[1]
        textpage = pdf_page.get_textpage()
        text = textpage.get_text_range()
        at = text.find(needle)
        if at < 0:
            return None
        boxes = [textpage.get_charbox(at + k) for k in range(len(needle))]
        left = min(b[0] for b in boxes)
        right = max(b[2] for b in boxes)
        bottom = min(b[1] for b in boxes)
        top = max(b[3] for b in boxes)
        return ((left + right) / 2, height - (top + bottom) / 2)
    finally:
        document.close()


def degrade(image: Image.Image, spec: Degradation, rng: random.Random) -> Image.Image:
    """What a scanner or phone makes of a clean page image (already at spec.dpi)."""
    page = image
    if spec.skew:
        page = page.rotate(spec.skew, resample=Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))
    if spec.rotation:
        page = page.rotate(spec.rotation, expand=True)
    if spec.blur:
        page = page.filter(ImageFilter.GaussianBlur(spec.blur))
    if spec.noise:
        array = np.asarray(page, dtype=np.float32)
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, spec.noise, array.shape[:2])[..., None]
        page = Image.fromarray(np.clip(array + noise, 0, 255).astype(np.uint8))
    if spec.jpeg:
        buffer = io.BytesIO()
        page.save(buffer, format="JPEG", quality=spec.jpeg)
        buffer.seek(0)
        page = Image.open(buffer).convert("RGB")
    return page


def scan_of(pdf: Path, spec: Degradation, rng: random.Random, page: int = 0,
            seal_on: str | None = None) -> Image.Image:
    """A degraded scan of one page of a generated PDF; with spec.seal, sealed over `seal_on`
    (the office name or the date), as a signed notice comes back."""
    image = render_pdf_page(pdf, page, spec.dpi)
    if spec.seal and seal_on:
        centre = find_text(pdf, page, seal_on)
        if centre:
            scale = spec.dpi / 72
            image = press_seal(image, (centre[0] * scale, centre[1] * scale + spec.dpi * 0.15), spec.dpi)
    if spec.signature and seal_on:
        centre = find_text(pdf, page, seal_on)
        if centre:
            scale = spec.dpi / 72
            image = scribble(image, (centre[0] * scale - spec.dpi, centre[1] * scale + spec.dpi * 0.5), spec.dpi, rng)
    return degrade(image, spec, rng)


def save_scan(image: Image.Image, path: Path, dpi: int, jpeg: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, format="JPEG", quality=jpeg or 85, dpi=(dpi, dpi))
    elif path.suffix.lower() == ".pdf":
        image.save(path, format="PDF", resolution=dpi)
    else:
        image.save(path, dpi=(dpi, dpi))
    return path


def text_layer_pdf(path: Path, lines: list[str]) -> Path:
    """A born-digital PDF whose text layer holds `lines`, as a copy from another system would be."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from archive.documents.pdfwriter import register_fonts
    from archive.rendering.fonts import resolve

    font = register_fonts(resolve())["song"]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for index, line in enumerate(lines):
        pdf.setFont(font, 14)
        pdf.drawString(60, A4[1] - 80 - 24 * index, line)
    pdf.showPage()
    pdf.save()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return path
