"""Write a docmodel.Document as DOCX for editing in WPS or Word, with the same GB/T 9704 page
as the PDF. Runs name the official fonts, with the East Asian font set explicitly (w:eastAsia):
setting only the Latin name leaves Chinese text in the default font on a township PC."""

from __future__ import annotations

import io

from docx import Document as new_docx
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt

from archive.documents.docmodel import Block, Document
from archive.rendering import qr
from archive.rendering.fonts import DOCX_NAMES

BODY_SIZE = 16.0
LINE_PT = 225 / 22 / 25.4 * 72  # 22 lines in a 225 mm text block
CHAR_PT = BODY_SIZE
TABLE_SIZE = 12.0
LATIN_FONT = "Times New Roman"

_ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}


def set_font(run, role: str, size: float, bold: bool = False) -> None:
    name = DOCX_NAMES[role]
    run.font.name = LATIN_FONT if role != "song" else name
    run.font.size = Pt(size)
    run.font.bold = bold or None
    rfonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), name)
    rfonts.set(qn("w:hint"), "eastAsia")


def _paragraph(container, text: str, role: str = "fangsong", size: float = BODY_SIZE,
               align: str = "justify", indent_chars: float = 0, line_pt: float | None = LINE_PT,
               bold: bool = False):
    para = container.add_paragraph()
    fmt = para.paragraph_format
    fmt.alignment = _ALIGN[align]
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if line_pt:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line_pt)
    if indent_chars:
        fmt.first_line_indent = Pt(indent_chars * size)
    lines = text.split("\n")
    for index, line in enumerate(lines):
        run = para.add_run(line)
        set_font(run, role, size, bold)
        if index < len(lines) - 1:
            run.add_break()
    return para


def _setup_section(section) -> None:
    section.page_width = Mm(210)
    section.page_height = Mm(297)
    section.top_margin = Mm(37)
    section.bottom_margin = Mm(35)
    section.left_margin = Mm(28)
    section.right_margin = Mm(26)
    section.header_distance = Mm(8)
    section.footer_distance = Mm(28 - 7)


def _page_number(paragraph) -> None:
    """"— N —" with a live PAGE field, 4号 (14 pt)."""
    set_font(paragraph.add_run("— "), "song", 14)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    set_font(paragraph.add_run(" —"), "song", 14)


def _furniture(document, doc_id: str) -> None:
    document.settings.odd_and_even_pages_header_footer = True
    section = document.sections[0]
    for footer, align in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT), (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        para = footer.paragraphs[0]
        para.alignment = align
        if align == WD_ALIGN_PARAGRAPH.RIGHT:
            para.paragraph_format.right_indent = Pt(14)
        else:
            para.paragraph_format.left_indent = Pt(14)
        _page_number(para)
    if doc_id:
        # The header repeats on every page, so the DOCX code carries page 0 ("printed from the
        # editable copy"); the PDF carries the real page number.
        image = io.BytesIO(qr.png_bytes(qr.payload(doc_id, 0)))
        for header in (section.header, section.even_page_header):
            para = header.paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            para.add_run().add_picture(image, width=Mm(18))
            image.seek(0)
            caption = header.add_paragraph()
            caption.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            set_font(caption.add_run(doc_id), "song", 7)


def _table(document, block: Block) -> None:
    size = block.size or TABLE_SIZE
    columns = len(block.widths)
    total = sum(block.widths)
    widths = [Mm(156 * w / total) for w in block.widths]
    rows = ([block.header] if block.kind == "table" else []) + block.rows
    table = document.add_table(rows=len(rows), cols=columns)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fixed_layout(table, widths)
    for r, row in enumerate(rows):
        table_row = table.rows[r]
        cells = table_row.cells
        for c in range(columns):
            cells[c].width = widths[c]
        if block.kind == "form" and len(row) < columns:
            cells[len(row) - 1].merge(cells[columns - 1])
            cells = table_row.cells
        lines = block.heights[r] if block.kind == "form" and r < len(block.heights) else 1
        table_row.height = Pt(max(size * 2, size * 1.45 * lines + 6))
        table_row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        for c, text in enumerate(row):
            is_label = block.kind == "form" and c % 2 == 0 or block.kind == "table" and r == 0
            para = cells[c].paragraphs[0]
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER if (is_label or block.kind == "table") else WD_ALIGN_PARAGRAPH.LEFT
            lines_of_text = text.split("\n")
            for index, line in enumerate(lines_of_text):
                run = para.add_run(line)
                set_font(run, "heiti" if is_label else "fangsong", size)
                if index < len(lines_of_text) - 1:
                    run.add_break()


def _fixed_layout(table, widths) -> None:
    """Columns as wide as the PDF's, in WPS and LibreOffice as in Word: a fixed layout (no autofit
    that narrows a column until an 18-digit ID wraps), the table's width set, and the grid's
    column widths equal to the cells' (LibreOffice lays a table out by its grid)."""
    table.autofit = False
    properties = table._tbl.tblPr
    layout = properties.find(qn("w:tblLayout"))
    if layout is None:
        layout = OxmlElement("w:tblLayout")
        properties.append(layout)
    layout.set(qn("w:type"), "fixed")
    width = properties.find(qn("w:tblW"))
    if width is None:
        width = OxmlElement("w:tblW")
        properties.append(width)
    width.set(qn("w:type"), "dxa")
    width.set(qn("w:w"), str(sum(w.twips for w in widths)))
    for column, value in zip(table.columns, widths, strict=True):
        column.width = value


def _blocks(document, blocks: list[Block]) -> None:
    previous = None
    for block in blocks:
        kind = block.kind
        if kind in ("form", "table") and previous in ("form", "table"):
            # two tables in a row merge into one in Word, WPS and LibreOffice: a paragraph apart
            _paragraph(document, "", line_pt=LINE_PT * 0.5)
        previous = kind
        if kind == "title":
            _paragraph(document, block.text, "xiaobiaosong", 22, "center", line_pt=LINE_PT * 1.3)
            _paragraph(document, "", "fangsong", BODY_SIZE, line_pt=LINE_PT * 0.5)
        elif kind == "subtitle":
            _paragraph(document, block.text, "kaiti", BODY_SIZE, "center")
        elif kind == "number":
            _paragraph(document, block.text, "fangsong", BODY_SIZE, "center")
        elif kind == "heading":
            _paragraph(document, block.text, "heiti", BODY_SIZE, "left", 2)
        elif kind == "paragraph":
            role = block.font or ("heiti" if block.bold else "fangsong")
            indent = 2 if block.indent is None else block.indent
            _paragraph(document, block.text, role, block.size or BODY_SIZE, block.align or "justify", indent)
        elif kind in ("form", "table"):
            _table(document, block)
        elif kind == "signatures":
            _signatures(document, block, document.paragraphs[-1] if document.paragraphs else None)
        elif kind == "sign_off":
            _paragraph(document, "", line_pt=LINE_PT)
            date_para = None
            org_shift = max(0.0, (len(block.date) - len(block.org)) / 2)
            org = _paragraph(document, block.org, "fangsong", BODY_SIZE, "right")
            org.paragraph_format.right_indent = Pt(CHAR_PT * (4 + org_shift))
            org.paragraph_format.keep_with_next = True
            date_para = _paragraph(document, block.date, "fangsong", BODY_SIZE, "right")
            date_para.paragraph_format.right_indent = Pt(CHAR_PT * 4)
        elif kind == "spacer":
            _paragraph(document, "", line_pt=LINE_PT * max(block.amount, 0.1))
        elif kind == "page_break":
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        elif kind == "cut_line":
            _paragraph(document, f"- - - - - - - - {block.text} - - - - - - - -", "fangsong", 10.5, "center")


SIGN_DATE = "日期：\u3000\u3000年\u3000\u3000月\u3000\u3000日"


def _signatures(document, block: Block, before) -> None:
    """As in the PDF: two borderless rows per signer, the label across the line, then a line to
    sign on with the date in its own column (never split, the same column for everyone); a
    signer's rows stay together and the block stays with the paragraph that introduces it."""
    if before is not None:
        before.paragraph_format.keep_with_next = True
    date_w = Pt(CHAR_PT * (len(SIGN_DATE) + 1))
    widths = [Emu(Mm(156) - date_w), date_w]
    table = document.add_table(rows=2 * len(block.lines), cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fixed_layout(table, widths)
    for index, line in enumerate(block.lines):
        label_row, date_row = table.rows[2 * index], table.rows[2 * index + 1]
        for row, height in ((label_row, LINE_PT), (date_row, LINE_PT * 1.5)):
            row.height = Pt(height)
            row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
            row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = width
        label = label_row.cells[0].merge(label_row.cells[1]).paragraphs[0]
        label.paragraph_format.keep_with_next = True  # the label's row stays with its date row
        set_font(label.add_run(line), "fangsong", BODY_SIZE)
        date = date_row.cells[1]
        date.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
        if block.with_date:
            set_font(date.paragraphs[0].add_run(SIGN_DATE), "fangsong", BODY_SIZE)


def write_docx(document: Document, *, author: str = "") -> bytes:
    out = new_docx()
    _setup_section(out.sections[0])
    normal = out.styles["Normal"]
    normal.font.name = LATIN_FONT
    normal.font.size = Pt(BODY_SIZE)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), DOCX_NAMES["fangsong"])
    props = out.core_properties
    props.title = document.title
    props.author = author
    props.subject = document.number or ""
    props.identifier = document.doc_id
    props.keywords = document.doc_id
    _furniture(out, document.doc_id)
    _blocks(out, document.body)
    if document.stub:
        section = out.add_section(WD_SECTION.NEW_PAGE)
        _setup_section(section)
        _blocks(out, document.stub)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()
