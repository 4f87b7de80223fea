"""The QR code printed on every generated page: the document ID and the page number, so a
signed paper that comes back from the scanner is filed without typing.

Payload: ``SA1:<doc_id>:<page>``. No personal data: the code is printed on posted notices too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.constants

PREFIX = "SA1"
_PAYLOAD = re.compile(r"^SA1:([A-Za-z0-9-]+):(\d+)$")


@dataclass(frozen=True)
class PageMark:
    doc_id: str
    page: int


def payload(doc_id: str, page: int) -> str:
    return f"{PREFIX}:{doc_id}:{page}"


def parse(text: str) -> PageMark | None:
    match = _PAYLOAD.match(text.strip())
    return PageMark(match[1], int(match[2])) if match else None


@lru_cache(maxsize=256)
def matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """Module matrix including the 4-module quiet zone. Level M survives a seal or a smudge."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(text)
    code.make(fit=True)
    return tuple(tuple(row) for row in code.get_matrix())


def png_bytes(text: str, module_px: int = 8) -> bytes:
    """A PNG of the code (for the DOCX header)."""
    import io

    from PIL import Image

    rows = matrix(text)
    size = len(rows)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in rows for dark in row])
    image = image.resize((size * module_px, size * module_px), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def decode_image(image) -> list[PageMark]:  # PIL.Image.Image
    """Every page mark readable in an image (zxing-cpp)."""
    import zxingcpp

    marks = []
    for result in zxingcpp.read_barcodes(image):
        mark = parse(result.text)
        if mark:
            marks.append(mark)
    return marks
