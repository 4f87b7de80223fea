"""Write a docmodel.Document as a PDF laid out per GB/T 9704-2012, with fonts embedded and a
QR code on every page.

A4; top margin 37 mm, left 28 mm, text block 156 x 225 mm; body 3号仿宋 (16 pt) at 22 lines a
page; title 2号小标宋 (22 pt) centred; page numbers "— 1 —" in 4号 (14 pt) 7 mm below the text
block, odd pages right and even pages left.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Spacer,
    Table,
    TableStyle,
)

from archive.documents.docmodel import Block, Document
from archive.documents.linebreak import CJKParagraph
from archive.documents.pdfa import to_pdfa
from archive.rendering import qr
from archive.rendering.fonts import FontFile
from archive.rendering.glyphs import Glyphs as _Glyphs
from archive.rendering.glyphs import MissingGlyphError as MissingGlyphError  # re-exported
from archive.rendering.glyphs import register_fonts

PAGE_W, PAGE_H = A4
MARGIN_TOP = 37 * mm
MARGIN_LEFT = 28 * mm
TEXT_W = 156 * mm
TEXT_H = 225 * mm
MARGIN_BOTTOM = PAGE_H - MARGIN_TOP - TEXT_H
BODY_SIZE = 16.0
LINE = TEXT_H / 22  # 22 lines a page
CHAR = TEXT_W / 28  # 28 characters a line
TABLE_SIZE = 12.0
QR_SIZE = 18 * mm

_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT, "justify": TA_JUSTIFY}

@dataclass
class SealMarks:
    """What a signed notice carries: the office seal over the 署名 and date, and the approver."""
    seal: Path
    approver: str
    role: str
    signature: Path | None = None


@dataclass
class Layout:
    """Where things landed, for later stages (seal placement, the filing stamp)."""
    pages: int = 0
    sign_off: list[tuple[int, float, float, float, float]] = field(default_factory=list)  # page, x, y, w, h


class _SignOff(Flowable):
    """Office name and date at the foot of a notice: the date right-indented 4 characters, the
    office centred above it, with room for the seal that presses on both (GB/T 9704 7.3.5.1)."""

    def __init__(self, org: str, date: str, font: str, layout: Layout, seal: bool,
                 marks: SealMarks | None = None, sign_font: str | None = None,
                 glyphs: _Glyphs | None = None) -> None:
        super().__init__()
        self.org, self.date, self.font, self.layout, self.seal = org, date, font, layout, seal
        self.glyphs = glyphs
        self.marks, self.sign_font = marks, sign_font or font
        self.width = TEXT_W
        self.height = LINE * 3 if seal else LINE * 2

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.setFont(self.font, BODY_SIZE)
        date_w = self._width(self.date, self.font)
        date_right = TEXT_W - 4 * CHAR
        date_x = date_right - date_w
        centre = date_x + date_w / 2
        org_w = self._width(self.org, self.font)
        base = LINE * 0.3
        self._draw(canvas, date_x, base, self.date, self.font)
        self._draw(canvas, centre - org_w / 2, base + LINE, self.org, self.font)
        # record the area (page coordinates) a seal should press on
        x0, y0 = canvas.absolutePosition(min(date_x, centre - org_w / 2), 0)
        self.layout.sign_off.append((canvas.getPageNumber(), x0, y0, max(date_w, org_w), LINE * 2))
        if self.marks is not None:
            self._draw_marks(canvas, centre, base, min(date_x, centre - org_w / 2))

    def _width(self, text: str, font: str) -> float:
        if self.glyphs is None:
            return pdfmetrics.stringWidth(text, font, BODY_SIZE)
        return self.glyphs.width(text, font, BODY_SIZE)

    def _draw(self, canvas, x: float, y: float, text: str, font: str) -> None:
        if self.glyphs is None:
            canvas.setFont(font, BODY_SIZE)
            canvas.drawString(x, y, text)
        else:
            self.glyphs.draw(canvas, x, y, text, font, BODY_SIZE)

    def _draw_marks(self, canvas, centre: float, base: float, left: float) -> None:
        marks = self.marks
        # the approver, in the signature slot left of the office name
        label = f"{marks.role}："
        label_w = self._width(label, self.font)
        slot_x = max(0.0, left - 8 * CHAR)
        self._draw(canvas, slot_x, base + LINE, label, self.font)
        if marks.signature is not None:
            canvas.drawImage(str(marks.signature), slot_x + label_w, base + LINE - 6, width=4 * CHAR,
                             height=LINE * 0.9, mask="auto", preserveAspectRatio=True, anchor="sw")
        else:
            self._draw(canvas, slot_x + label_w, base + LINE, marks.approver, self.sign_font)
        # the seal: red, upright, centred on the date, pressing on the office name and the date
        # with both a little below its centre; its top within one line of the body above
        size = 42 * mm
        seal_centre_y = base + LINE * 1.1
        canvas.drawImage(str(marks.seal), centre - size / 2, seal_centre_y - size / 2, width=size, height=size,
                         mask="auto", preserveAspectRatio=True)


class _CutLine(Flowable):
    def __init__(self, text: str, font: str) -> None:
        super().__init__()
        self.text, self.font = text, font
        self.width, self.height = TEXT_W, LINE

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.setDash(4, 3)
        canvas.line(0, LINE / 2, TEXT_W, LINE / 2)
        if self.text:
            canvas.setDash()
            width = pdfmetrics.stringWidth(self.text, self.font, 10.5)
            canvas.setFillColorRGB(1, 1, 1)
            canvas.rect(TEXT_W / 2 - width / 2 - 4, LINE / 2 - 6, width + 8, 12, stroke=0, fill=1)
            canvas.setFillColorRGB(0, 0, 0)
            canvas.setFont(self.font, 10.5)
            canvas.drawCentredString(TEXT_W / 2, LINE / 2 - 4, self.text)


class _Styles:
    def __init__(self, fonts: dict[str, str], glyphs: _Glyphs | None = None) -> None:
        self.fonts = fonts
        self.glyphs = glyphs
        self._cache: dict[tuple, ParagraphStyle] = {}

    def get(self, font: str = "fangsong", size: float = BODY_SIZE, align: str = "justify",
            indent_chars: float = 0, leading: float | None = None) -> ParagraphStyle:
        key = (font, size, align, indent_chars, leading)
        style = self._cache.get(key)
        if style is None:
            style = ParagraphStyle(
                name=f"s{len(self._cache)}", fontName=self.fonts[font], fontSize=size,
                leading=leading or (LINE if size >= BODY_SIZE - 0.01 else size * 1.45),
                alignment=_ALIGN[align], firstLineIndent=indent_chars * size, wordWrap="CJK",
            )
            self._cache[key] = style
        return style


    def para(self, text: str, style: ParagraphStyle) -> CJKParagraph:
        """A paragraph of plain text; characters the style's font lacks in a fallback font."""
        markup = escape(text) if self.glyphs is None else self.glyphs.markup(text, style.fontName)
        # reportlab collapses U+3000 like any white space; two no-break spaces keep its full width
        markup = markup.replace("\n", "<br/>").replace("\u3000", "\xa0\xa0")
        return CJKParagraph(markup, style)  # 避头尾: see linebreak.py


def _flowables(blocks: list[Block], styles: _Styles, layout: Layout, marks: SealMarks | None = None) -> list[Flowable]:
    out: list[Flowable] = []
    for block in blocks:
        kind = block.kind
        if kind == "title":
            out.append(styles.para(block.text, styles.get("xiaobiaosong", 22, "center", leading=LINE * 1.3)))
            out.append(Spacer(1, LINE * 0.5))
        elif kind == "subtitle":
            out.append(styles.para(block.text, styles.get("kaiti", BODY_SIZE, "center")))
        elif kind == "number":
            out.append(styles.para(block.text, styles.get("fangsong", BODY_SIZE, "center")))
            out.append(Spacer(1, LINE * 0.5))
        elif kind == "heading":
            out.append(styles.para(block.text, styles.get("heiti", BODY_SIZE, "left", 2)))
        elif kind == "paragraph":
            indent = 2 if block.indent is None else block.indent
            style = styles.get(block.font or ("heiti" if block.bold else "fangsong"),
                               block.size or BODY_SIZE, block.align or "justify", indent)
            out.append(styles.para(block.text, style))
        elif kind in ("form", "table"):
            out.append(_table(block, styles))
            out.append(Spacer(1, LINE * 0.3))
        elif kind == "signatures":
            # never alone at the top of a page: the line that introduces the signers comes along
            out.append(KeepTogether(_take_last(out) + [_signatures(block, styles)]))
        elif kind == "sign_off":
            # never leave the office name and date alone on a page: take the last text with them
            keep = _take_last(out)
            keep += [Spacer(1, LINE), _SignOff(block.org, block.date, styles.fonts["fangsong"], layout, block.seal,
                                               marks if block.seal else None, styles.fonts["kaiti"], styles.glyphs)]
            out.append(KeepTogether(keep))
        elif kind == "spacer":
            out.append(Spacer(1, LINE * block.amount))
        elif kind == "page_break":
            out.append(PageBreak())
        elif kind == "cut_line":
            out.append(_CutLine(block.text, styles.fonts["fangsong"]))
    return out


def _take_last(out: list[Flowable]) -> list[Flowable]:
    """Remove and return the last piece of content (with any spacing after it), to be kept on
    the same page as what follows."""
    taken: list[Flowable] = []
    while out and isinstance(out[-1], Spacer):
        taken.insert(0, out.pop())
    if out and not isinstance(out[-1], PageBreak):
        taken.insert(0, out.pop())
    return taken


SIGN_DATE = "日期：\u3000\u3000年\u3000\u3000月\u3000\u3000日"


def _signatures(block: Block, styles: _Styles) -> Table:
    """Two rows per signer: the label across the line, then a line to sign on with the date in
    its own column at the right: the same column for every signer, never split, and a signer's
    two rows never parted by a page end."""
    style = styles.get("fangsong", BODY_SIZE, "left", 0)
    date_w = pdfmetrics.stringWidth(SIGN_DATE, style.fontName, BODY_SIZE) + BODY_SIZE
    rows, heights = [], []
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), style.fontName),  # not Helvetica, which is never embedded
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), LINE * 0.2),
    ]
    for line in block.lines:
        row = len(rows)
        rows += [[styles.para(line, style), ""], ["", styles.para(SIGN_DATE, style) if block.with_date else ""]]
        heights += [LINE, LINE * 1.5]
        commands += [("SPAN", (0, row), (1, row)), ("NOSPLIT", (0, row), (1, row + 1))]
    return Table(rows, colWidths=[TEXT_W - date_w, date_w], minRowHeights=heights, style=TableStyle(commands))


def _table(block: Block, styles: _Styles) -> Table:
    size = block.size or TABLE_SIZE
    label_style = styles.get("heiti", size, "center")
    value_style = styles.get("fangsong", size, "left")
    header_style = styles.get("heiti", size, "center")
    cell_style = styles.get("fangsong", size, "center")
    columns = len(block.widths)
    total = sum(block.widths)
    col_widths = [TEXT_W * w / total for w in block.widths]
    data, commands = [], [
        ("GRID", (0, 0), (-1, -1), 0.75, "black"),
        ("FONTNAME", (0, 0), (-1, -1), styles.fonts["fangsong"]),  # empty cells too: not Helvetica
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    min_heights = []
    if block.kind == "table":
        data.append([styles.para(h, header_style) for h in block.header])
        min_heights.append(size * 2)
        for row in block.rows:
            data.append([styles.para(cell, cell_style) for cell in row])
            min_heights.append(size * 2)
    else:
        for r, row in enumerate(block.rows):
            cells = []
            for c, text in enumerate(row):
                cells.append(styles.para(text, label_style if c % 2 == 0 else value_style))
            if len(row) < columns:
                commands.append(("SPAN", (len(row) - 1, r), (columns - 1, r)))
                cells += [""] * (columns - len(row))
            data.append(cells)
            min_heights.append(max(size * 2, size * 1.45 * block.heights[r] + 6))
    return Table(data, colWidths=col_widths, style=TableStyle(commands), minRowHeights=min_heights,
                 repeatRows=1 if block.kind == "table" else 0)


def _draw_page_furniture(canvas, doc_id: str, font: str) -> None:
    page = canvas.getPageNumber()
    canvas.saveState()
    # page number: "— 1 —", 4号, 7 mm below the text block; odd pages right, even pages left,
    # each one character in from the edge of the text block
    text = f"— {page} —"
    canvas.setFont(font, 14)
    y = MARGIN_BOTTOM - 7 * mm - 14 * 0.8
    if page % 2:
        canvas.drawRightString(MARGIN_LEFT + TEXT_W - 14, y, text)
    else:
        canvas.drawString(MARGIN_LEFT + 14, y, text)
    # the QR code sits in the top margin at the right, clear of the filing stamp (top centre)
    if doc_id:
        rows = qr.matrix(qr.payload(doc_id, page))
        module = QR_SIZE / len(rows)
        x0 = MARGIN_LEFT + TEXT_W - QR_SIZE
        y0 = PAGE_H - 6 * mm - QR_SIZE
        canvas.setFillColorRGB(0, 0, 0)
        path = canvas.beginPath()
        for r, row in enumerate(rows):
            y = y0 + (len(rows) - 1 - r) * module
            c = 0
            while c < len(row):  # one rectangle per horizontal run of dark modules
                if row[c]:
                    start = c
                    while c < len(row) and row[c]:
                        c += 1
                    path.rect(x0 + start * module, y, (c - start) * module, module)
                else:
                    c += 1
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.setFont(font, 7)
        canvas.drawRightString(x0 + QR_SIZE, y0 - 7, f"{doc_id} 第{page}页")
    canvas.restoreState()


def write_pdf(document: Document, fonts: dict[str, FontFile], *, author: str = "",
              marks: SealMarks | None = None) -> tuple[bytes, Layout]:
    """Render to PDF bytes, with the layout facts later stages need."""
    names = register_fonts(fonts)
    styles = _Styles(names, _Glyphs(fonts))
    layout = Layout()
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN_LEFT, rightMargin=PAGE_W - MARGIN_LEFT - TEXT_W,
        topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, title=document.title, author=author,
        subject=document.number or "", creator="township-archive", keywords=document.doc_id,
        # the canvas otherwise starts in Helvetica, a font it never embeds
        initialFontName=names["fangsong"], initialFontSize=BODY_SIZE,
    )
    frame = Frame(MARGIN_LEFT, MARGIN_BOTTOM, TEXT_W, TEXT_H, leftPadding=0, rightPadding=0,
                  topPadding=0, bottomPadding=0, id="text")

    def on_page(canvas, _doc) -> None:
        _draw_page_furniture(canvas, document.doc_id, names["song"])

    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    story = _flowables(document.body, styles, layout, marks)
    if document.stub:
        story.append(PageBreak())
        story += _flowables(document.stub, styles, layout)
    doc.build(story)
    layout.pages = doc.page
    return to_pdfa(buffer.getvalue()), layout  # PDF/A-2b from birth: a later signature or stamp keeps it
