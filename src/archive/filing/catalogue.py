"""Printed and kept records of a filing: the 归档文件目录 (A4 landscape), a 卷内目录 per
household file, and for each box its 盒脊 label and 备考表. PDF to print, XLSX to keep."""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from archive.documents.pdfa import to_pdfa
from archive.rendering.glyphs import Glyphs
from archive.workbooks import print_wide, title_row, workbook_bytes

CATALOGUE_HEADER = ["序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注"]
_CATALOGUE_WIDTHS = [12, 46, 48, 28, 72, 18, 12, 12, 18]  # millimetres, A4 landscape: a 文号 on one line


@dataclass
class Item:
    seq: int
    archival_code: str
    number: str
    responsible: str
    title: str
    date: str          # YYYYMMDD
    secrecy: str
    pages: int
    note: str
    household: str | None
    village: str
    box_no: int
    item_no: int


@dataclass
class Box:
    year: int
    village: str
    retention: str
    box_no: int
    first_item: int
    last_item: int
    items: int
    code: str


def _glyphs() -> Glyphs:
    """The fonts of every catalogue PDF, with the fallback for rare characters (𠮷) in names."""
    return Glyphs()


def _para(glyphs: Glyphs, text: str, style: ParagraphStyle) -> Paragraph:
    """Plain text as a paragraph: escaped (a title may hold & or <), rare characters in the
    fallback font."""
    return Paragraph(glyphs.markup(str(text), style.fontName).replace("\n", "<br/>"), style)


def _table_pdf(title: str, header: list[str], rows: list[list[str]], widths_mm: list[float],
               pagesize=A4, subtitle: str = "", footer: str = "", subject: str = "") -> bytes:
    glyphs = _glyphs()
    fonts = glyphs.names
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=pagesize, leftMargin=15 * mm, rightMargin=15 * mm,
                            topMargin=18 * mm, bottomMargin=15 * mm, title=title, initialFontName=fonts["song"],
                            subject=subject)
    title_style = ParagraphStyle("t", fontName=fonts["xiaobiaosong"], fontSize=18, leading=26, alignment=TA_CENTER)
    sub_style = ParagraphStyle("s", fontName=fonts["fangsong"], fontSize=11, leading=16, alignment=TA_CENTER)
    cell = ParagraphStyle("c", fontName=fonts["fangsong"], fontSize=9, leading=12, wordWrap="CJK")
    head = ParagraphStyle("h", fontName=fonts["heiti"], fontSize=9.5, leading=12, alignment=TA_CENTER)
    data = [[_para(glyphs, h, head) for h in header]] + [[_para(glyphs, c, cell) for c in row] for row in rows]
    table = Table(data, colWidths=[w * mm for w in widths_mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.6, "black"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                               ("FONTNAME", (0, 0), (-1, -1), fonts["fangsong"])]))
    story = [_para(glyphs, title, title_style)]
    if subtitle:
        story.append(_para(glyphs, subtitle, sub_style))
    story += [Spacer(1, 4 * mm), table]
    if footer:
        story += [Spacer(1, 3 * mm), _para(glyphs, footer, ParagraphStyle("f", fontName=fonts["fangsong"], fontSize=7,
                                                                           leading=9, wordWrap="CJK"))]
    doc.build(story, onFirstPage=_page_number(fonts), onLaterPages=_page_number(fonts))
    return to_pdfa(buffer.getvalue())


def _page_number(fonts: dict[str, str]):
    """Draws 「第 N 页」 centred in the bottom margin: a catalogue's pages are counted when bound."""
    def draw(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(fonts["song"], 9)
        canvas.drawCentredString(doc.pagesize[0] / 2, 8 * mm, f"第 {doc.page} 页")
        canvas.restoreState()
    return draw


def _xlsx(title: str, header: list[str], rows: list[list[object]], widths_mm: list[float], subject: str = "") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title[:30]
    title_row(sheet, title, len(header), Font(name="方正小标宋简体", size=14))
    sheet.append(header)
    thin = Side(style="thin")
    for row in rows:
        sheet.append(row)
    for row_cells in sheet.iter_rows(min_row=2):
        for c in row_cells:
            c.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            c.font = Font(name="仿宋_GB2312", size=10)
            c.alignment = Alignment(wrap_text=True, vertical="center")
    # printed as the PDF is: landscape, fit to width, the header row on every page; a column's
    # width in characters is about its width in millimetres divided by two
    print_wide(sheet, [max(6.0, round(w / 2 + 2, 1)) for w in widths_mm], header_row=2)
    if subject:
        book.properties.subject = subject
    return workbook_bytes(book)  # every text cell as text: a name like =HYPERLINK(…) is no formula


def _catalogue_rows(items: list[Item]) -> list[list[str]]:
    return [[str(i.seq), i.archival_code, i.number, i.responsible, i.title, i.date, i.secrecy, str(i.pages), i.note]
            for i in items]


def filing_catalogue(title: str, items: list[Item], anchor: tuple[str, str] | None = None) -> tuple[bytes, bytes]:
    """归档文件目录: A4 landscape PDF and XLSX. `anchor` (printed line, machine token) records the
    audit chain's head: printed under the table, kept in the subject of the PDF and of the XLSX."""
    rows = _catalogue_rows(items)
    line, token = anchor or ("", "")
    pdf = _table_pdf(title, CATALOGUE_HEADER, rows, _CATALOGUE_WIDTHS, landscape(A4),
                     footer=line, subject=token)
    sheet_rows: list[list[object]] = [[int(r[0]), *r[1:7], int(r[7]), r[8]] for r in rows]
    xlsx = _xlsx(title, CATALOGUE_HEADER, sheet_rows, _CATALOGUE_WIDTHS, subject=token)
    return pdf, xlsx


def file_catalogue(title: str, subtitle: str, items: list[Item]) -> bytes:
    """卷内目录 of one household file (A4 portrait PDF)."""
    rows = [[str(n), i.archival_code, i.number, i.title, i.date, str(i.pages), i.note] for n, i in enumerate(items, 1)]
    return _table_pdf(title, ["序号", "档号", "文号", "题名", "日期", "页数", "备注"], rows,
                      [10, 45, 30, 52, 18, 10, 15], A4, subtitle)


def box_spine_and_notes(boxes: list[Box], fonds: str, township: str, notes: dict[int, str],
                        operator: str, date: str) -> bytes:
    """For every box: the 盒脊 label (全宗号, 年度, 保管期限, 起止件号, 盒号) and the 备考表."""
    glyphs = _glyphs()
    fonts = glyphs.names
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title="盒脊与备考表", initialFontName=fonts["song"])
    big = ParagraphStyle("b", fontName=fonts["heiti"], fontSize=14, leading=20, alignment=TA_CENTER)
    title = ParagraphStyle("t", fontName=fonts["xiaobiaosong"], fontSize=20, leading=30, alignment=TA_CENTER)
    body = ParagraphStyle("p", fontName=fonts["fangsong"], fontSize=12, leading=20, wordWrap="CJK")
    story = []
    for index, box in enumerate(boxes):
        story += [_para(glyphs, f"盒脊（{box.village} 第{box.box_no}盒）", big), Spacer(1, 4 * mm),
                  _spine(box, fonds, township, glyphs), PageBreak()]
        story += [_para(glyphs, "备考表", title), Spacer(1, 8 * mm)]
        note = notes.get(index, "")
        rows = [["情况说明", f"本盒为{township}{box.village}{box.year}年度归档文件，保管期限{box.retention}，"
                             f"共{box.items}件，件号{box.first_item:04d}至{box.last_item:04d}。{note}"],
                ["整理人", operator], ["整理日期", date], ["检查人", ""], ["检查日期", ""]]
        table = Table([[_para(glyphs, a, body), _para(glyphs, b, body)] for a, b in rows], colWidths=[35 * mm, 135 * mm],
                      rowHeights=[90 * mm, 14 * mm, 14 * mm, 14 * mm, 14 * mm])
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.8, "black"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                   ("FONTNAME", (0, 0), (-1, -1), fonts["fangsong"])]))
        story.append(table)
        if index < len(boxes) - 1:
            story.append(PageBreak())
    doc.build(story)
    return to_pdfa(buffer.getvalue())


SPINE_WIDTH_MM = 40


def _spine(box: Box, fonds: str, township: str, glyphs: Glyphs) -> Table:
    """The 盒脊: a strip 40 mm wide, cut out and stuck on the box, read top to bottom. Each entry
    is a label line and a value line the full width of the strip; a value is never wrapped (a
    number broken in two, 「Z10/9」, misleads whoever reads the shelf): its type is made smaller
    until it fits. The township's own box says so instead of naming a village."""
    place = ("乡镇本级", township) if box.village == township else ("村(社区)", box.village)
    entries = [("全宗号", fonds), ("年度", str(box.year)), ("保管期限", box.retention), place,
               ("起止件号", f"{box.first_item:04d}—{box.last_item:04d}"), ("盒号", str(box.box_no))]
    font = glyphs.font("heiti")
    room = (SPINE_WIDTH_MM - 4) * mm
    rows, styles = [], [("BOX", (0, 0), (-1, -1), 1.2, "black"), ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("FONTNAME", (0, 0), (-1, -1), font)]
    for label, value in entries:
        size = 16.0
        while size > 6 and glyphs.width(value, font, size) > room:
            size -= 0.5
        index = len(rows)
        rows += [[_Line(glyphs, label, font, 10.0)], [_Line(glyphs, value, font, size)]]
        styles += [("FONTSIZE", (0, index), (0, index), 10), ("FONTSIZE", (0, index + 1), (0, index + 1), size),
                   ("LINEABOVE", (0, index), (0, index), 0.6, "black")]
    table = Table(rows, colWidths=[SPINE_WIDTH_MM * mm], rowHeights=[9 * mm, 17 * mm] * len(entries))
    table.setStyle(TableStyle(styles))
    return table


class _Line(Flowable):
    """One line of text, never wrapped, centred on its cell; rare characters in the fallback font."""

    def __init__(self, glyphs: Glyphs, text: str, font: str, size: float) -> None:
        super().__init__()
        self.glyphs, self.text, self.font, self.size = glyphs, text, font, size
        self.width, self.height = glyphs.width(text, font, size), size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        self.glyphs.draw(self.canv, 0, self.size * 0.15, self.text, self.font, self.size)


def table_report(title: str, header: list[str], rows: list[list[object]], widths_mm: list[float]) -> tuple[bytes, bytes]:
    """A Chinese report as PDF (landscape) and XLSX."""
    text_rows = [[str(c) for c in row] for row in rows] or [["（无）"] + [""] * (len(header) - 1)]
    return _table_pdf(title, header, text_rows, widths_mm, landscape(A4)), _xlsx(title, header, rows, widths_mm)


def table_xlsx(title: str, header: list[str], rows: list[list[object]], widths_mm: list[float]) -> bytes:
    """A Chinese table as XLSX only (printed as the PDF reports are)."""
    return _xlsx(title, header, rows, widths_mm)
