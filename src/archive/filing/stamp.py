"""The electronic 归档章 (DA/T 22-2015): 2 rows × 3 cells on the first page, top centre, in red:

    全宗号 | 年度 | 件号
    机构(问题) | 保管期限 | 页数

It goes on a filed copy; the original scan or generated file is never changed. If the top centre
holds text, the stamp moves to the left or right of the top; if the whole top is taken, the page
is shrunk a little to make room (DA/T 22 5.2.1: 上端居中的空白位置, else another blank place).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pypdf
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdf_canvas

from archive import files
from archive.documents import pdfa
from archive.rendering.glyphs import Glyphs

CELL_W = 16 * mm
CELL_H = 7 * mm
TOP_GAP = 8 * mm
STAMP_RED = (0.85, 0.1, 0.1)
SIGNED_ORIGINAL_KEY = "/ArchiveSignedOriginal"  # SHA-256 of the signed original a copy was made from


@dataclass
class StampFields:
    fonds: str
    year: int
    item: int
    code: str
    retention: str
    pages: int

    def cells(self) -> list[list[str]]:
        return [[self.fonds, str(self.year), f"{self.item:04d}"],
                [self.code, self.retention, str(self.pages)]]


def _text_boxes(page: pypdf.PageObject) -> list[tuple[float, float, float, float]]:
    """Boxes (x0, y0, x1, y1, PDF points) of the page's text, from its text layer."""
    boxes: list[tuple[float, float, float, float]] = []

    def visitor(text, cm, tm, font_dict, font_size):
        if text.strip():
            x = tm[4] * cm[0] + cm[4]
            y = tm[5] * cm[3] + cm[5]
            size = (font_size or 10) * abs(tm[3] * cm[3] or 1)
            boxes.append((x, y - size * 0.2, x + size * len(text), y + size))

    page.extract_text(visitor_text=visitor)
    return boxes


def place(page: pypdf.PageObject, extra_boxes: list[tuple[float, float, float, float]] | None = None) -> tuple[float, float, float]:
    """(x, y, scale) for the stamp's lower-left corner and the page content's scale."""
    width = float(page.mediabox.width)
    height = float(page.mediabox.height)
    stamp_w, stamp_h = CELL_W * 3, CELL_H * 2
    y = height - TOP_GAP - stamp_h
    boxes = _text_boxes(page) + list(extra_boxes or [])
    for x in (width / 2 - stamp_w / 2, 20 * mm, width - 20 * mm - stamp_w):
        if not any(bx0 < x + stamp_w and bx1 > x and by0 < y + stamp_h + 2 * mm and by1 > y - 2 * mm
                   for bx0, by0, bx1, by1 in boxes):
            return x, y, 1.0
    # the whole top is taken: shrink the page so a band is free above it
    scale = (height - TOP_GAP - stamp_h - 4 * mm) / height
    return width / 2 - stamp_w / 2, y, scale


def _stamp_pdf(width: float, height: float, x: float, y: float, fields: StampFields) -> bytes:
    glyphs = Glyphs()
    font = glyphs.font("song")
    buffer = io.BytesIO()
    canvas = pdf_canvas.Canvas(buffer, pagesize=(width, height), initialFontName=font)
    canvas.setStrokeColorRGB(*STAMP_RED)
    canvas.setFillColorRGB(*STAMP_RED)
    canvas.setLineWidth(1)
    for row, cells in enumerate(fields.cells()):
        for column, text in enumerate(cells):
            cx = x + column * CELL_W
            cy = y + (1 - row) * CELL_H
            canvas.rect(cx, cy, CELL_W, CELL_H, stroke=1, fill=0)
            size = 9 if len(text) <= 6 else 7
            glyphs.draw_centred(canvas, cx + CELL_W / 2, cy + CELL_H / 2 - size * 0.35, text, font, size)
    canvas.save()
    return buffer.getvalue()


def is_signed(source: Path) -> bool:
    """True when the PDF carries a digital signature field (signed or not)."""
    from archive.signing.copies import has_signature_fields

    return has_signature_fields(source)


def stamp_first_page(source: Path, target: Path, fields: StampFields,
                     text_boxes: list[tuple[float, float, float, float]] | None = None) -> list[str]:
    """Write `target`: `source` with the 归档章 on page one, as PDF/A-2b. A signed PDF is stamped
    by an incremental update (its signed bytes unchanged, so the signature stays valid; it is
    PDF/A from birth and the update keeps it so). Returns what keeps the copy from conforming
    (for example a born-digital scan with fonts not embedded); such a copy makes no PDF/A claim."""
    signed_copy = False
    if is_signed(source):
        try:
            stamp_signed_first_page(source, target, fields, text_boxes)
        except Exception:  # pyHanko cannot update this file in place: a copy without the signature
            signed_copy = True
        else:
            return pdfa.file_problems(target)
    reader = pypdf.PdfReader(str(source))
    writer = pypdf.PdfWriter(clone_from=reader)
    if signed_copy:
        _leave_signatures_out(writer, source)
    first = writer.pages[0]
    width, height = float(first.mediabox.width), float(first.mediabox.height)
    x, y, scale = place(reader.pages[0], text_boxes)
    if scale < 1.0:
        first.add_transformation(pypdf.Transformation().scale(scale, scale).translate(width * (1 - scale) / 2, 0))
    overlay = pypdf.PdfReader(io.BytesIO(_stamp_pdf(width, height, x, y, fields))).pages[0]
    first.merge_page(overlay)
    problems = pdfa.finish(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    files.write_atomic(target, buffer.getvalue())
    return problems


def _leave_signatures_out(writer: pypdf.PdfWriter, source: Path) -> None:
    """A rewritten copy cannot keep a valid signature: drop the signature fields (no reader shows a
    broken one) and record in the document information that this is a copy of a signed original."""
    import hashlib

    from pypdf.generic import NameObject

    from archive.signing.copies import drop_signature_widgets

    for page in writer.pages:
        drop_signature_widgets(page)
    if "/AcroForm" in writer._root_object:
        del writer._root_object[NameObject("/AcroForm")]
    writer.add_metadata({SIGNED_ORIGINAL_KEY: hashlib.sha256(source.read_bytes()).hexdigest(),
                         "/ArchiveNote": "数字签名原件的归档复制件：签名域已去除，原件及其签名见档案库"})


def stamp_region(page_width: float, page_height: float, x: float, y: float) -> tuple[float, float, float, float]:
    return (x, y, x + CELL_W * 3, y + CELL_H * 2)


def stamp_signed_first_page(source: Path, target: Path, fields: StampFields,
                            text_boxes: list[tuple[float, float, float, float]] | None = None) -> None:
    """The 归档章 as one /Stamp annotation appended by an incremental update: the signed revision
    stays byte for byte, and `archive.signing.stampdiff` recognises the update as the stamp.
    The page is never shrunk (that would change signed content): without free space at the top,
    the stamp goes to the top centre."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader

    from archive.signing.stampdiff import STAMP_NAME

    data = source.read_bytes()
    first = pypdf.PdfReader(io.BytesIO(data)).pages[0]
    width = float(first.mediabox.width)
    x, y, scale = place(first, text_boxes)
    if scale < 1.0:
        x = width / 2 - CELL_W * 1.5
    stamp_w, stamp_h = CELL_W * 3, CELL_H * 2
    # the stamp drawn at the origin of a page of its own size, imported as the appearance
    appearance_pdf = _stamp_pdf(stamp_w, stamp_h, 0, 0, fields)
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    appearance = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(appearance_pdf)), 0)
    annot = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Stamp"),
        generic.NameObject("/NM"): generic.TextStringObject(STAMP_NAME),
        generic.NameObject("/Rect"): generic.ArrayObject(generic.FloatObject(v) for v in (x, y, x + stamp_w, y + stamp_h)),
        generic.NameObject("/F"): generic.NumberObject(4 | 128),  # Print, Locked
        generic.NameObject("/Contents"): generic.TextStringObject(
            "归档章：" + " ".join(" ".join(row) for row in fields.cells())),
        generic.NameObject("/AP"): generic.DictionaryObject({generic.NameObject("/N"): appearance}),
    })
    annot_ref = writer.add_object(annot)
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    while page_ref.get_object().get("/Type") != "/Page":
        page_ref = page_ref.get_object()["/Kids"].raw_get(0)
    page = page_ref.get_object()
    raw = page.raw_get("/Annots") if "/Annots" in page else None
    if isinstance(raw, generic.IndirectObject):
        raw.get_object().append(annot_ref)
        writer.mark_update(raw)
    else:
        annots = raw if raw is not None else generic.ArrayObject()
        annots.append(annot_ref)
        page[generic.NameObject("/Annots")] = annots
        writer.mark_update(page_ref)
    with files.atomic_output(target) as handle:  # private, fsync'd, renamed into place
        writer.write(handle)
