"""Writing XLSX workbooks safely: every text cell is text, never a formula.

Names, titles and reasons come from rosters and people; a name such as `=HYPERLINK(…)` or
`=cmd|' /C calc'!A0` written as it is would become a live formula in Excel or LibreOffice. The
project's workbooks carry no formulas at all: every string cell is stored as an inline string, and
one that begins with a character a spreadsheet reads as the start of a formula (= + - @, tab, CR,
LF) also gets the quote-prefix style, so that editing the cell keeps it text. Numbers stay numbers.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(book: Workbook) -> int:
    """Make every string cell of every sheet literal text; return how many looked like formulas."""
    flagged = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
                    if cell.value.startswith(FORMULA_STARTS):
                        cell.quotePrefix = True
                        flagged += 1
    return flagged


def workbook_bytes(book: Workbook) -> bytes:
    """The workbook as XLSX bytes, with every text cell neutralised first."""
    neutralise(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def print_wide(sheet: Worksheet, widths: list[float], header_row: int) -> None:
    """Set column widths and print a wide list as offices do: landscape, fit to the page width,
    the header row repeated on every page and frozen on screen."""
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = f"A{header_row + 1}"
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def title_row(sheet: Worksheet, text: str, width: int, font: Font) -> None:
    """The sheet's first row: its title centred across `width` columns."""
    sheet.append([text])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1).font = font
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
