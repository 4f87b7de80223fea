"""Files that print as an office prints them: XLSX page setup, catalogue page numbers, a box
spine whose values are never broken, month names without a leading zero. LibreOffice (a tool we
did not write) prints the catalogue workbook to check the page setup is honoured."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pypdf
import pytest

from archive.documents.generate import Generator
from archive.filing import catalogue
from archive.filing.month import file_month
from tests.test_filing import month  # noqa: F401  (fixture)

JULY = dt.date(2025, 7, 1)


def _books(home, outputs) -> dict[str, openpyxl.Workbook]:
    return {name: openpyxl.load_workbook(home.root / path) for name, path in outputs.items() if name.endswith(".xlsx")}


def _assert_prints_wide(sheet, header_row: int) -> None:
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0  # as many pages long as needed
    assert sheet.print_title_rows == f"${header_row}:${header_row}"
    widths = [sheet.column_dimensions[chr(ord("A") + i)].width for i in range(sheet.max_column)]
    assert all(w and w >= 6 for w in widths), widths


def test_month_workbooks_print_landscape_with_repeated_headers_numbers_and_money(home, month):  # noqa: F811
    sheets = {s.type: s for s in Generator(home).month_sheets(JULY)}
    roster = openpyxl.load_workbook(sheets["roster"].xlsx).active
    statistics = openpyxl.load_workbook(sheets["statistics"].xlsx).active
    for sheet in (roster, statistics):
        _assert_prints_wide(sheet, header_row=2)
    assert roster.cell(1, 1).value.startswith("青岩镇2025年7月")  # not 2025年07月
    assert "2025年7月" in Path(sheets["roster"].xlsx).name
    assert isinstance(roster.cell(3, 1).value, int)  # 序号 is a number
    assert roster.cell(3, 10).number_format == "0.00"
    header = [c.value for c in statistics[2]]
    money = [i for i, name in enumerate(header) if "金额" in name]
    assert money and all(statistics.cell(3, i + 1).number_format == "0.00" for i in money)
    # every configured village in the configured order, one without households as 0
    villages = [statistics.cell(r, 1).value for r in range(3, statistics.max_row)]
    configured = home.config.villages
    assert villages[:len(configured)] == configured
    assert statistics.cell(statistics.max_row, 1).value == "合计"


def test_catalogue_workbooks_and_pdfs_print_as_the_office_needs(home, month):  # noqa: F811
    result = file_month(home, JULY)
    books = _books(home, result.outputs)
    for name in ("归档文件目录-2025-07.xlsx", "完整性报告-2025-07.xlsx"):
        _assert_prints_wide(books[name].active, header_row=2)
    sheet = books["归档文件目录-2025-07.xlsx"].active
    serials = [sheet.cell(r, 1).value for r in range(3, sheet.max_row + 1)]
    assert serials == list(range(1, len(serials) + 1))  # numbers, in order
    pdf = pypdf.PdfReader(home.root / result.outputs["归档文件目录-2025-07.pdf"])
    assert "第 1 页" in pdf.pages[0].extract_text()


def test_box_spine_values_are_never_broken_and_the_township_box_says_so():
    boxes = [catalogue.Box(2025, "龙井村", "D30", 1, 1, 1234, 1234, "C01"),
             catalogue.Box(2025, "青岩镇", "Y", 12, 1, 9, 9, "Z00")]
    blob = catalogue.box_spine_and_notes(boxes, "Z109", "青岩镇", {}, "张三", "2025年8月1日")
    reader = pypdf.PdfReader(__import__("io").BytesIO(blob))
    village_spine = reader.pages[0].extract_text().splitlines()
    township_spine = reader.pages[2].extract_text().splitlines()
    for value in ("Z109", "2025", "D30", "龙井村", "0001—1234"):
        assert value in [line.strip() for line in village_spine], (value, village_spine)
    assert "村(社区)" in [line.strip() for line in village_spine]
    lines = [line.strip() for line in township_spine]
    assert "乡镇本级" in lines and "村(社区)" not in lines and "青岩镇" in lines


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc-nogui) not installed")
def test_libreoffice_prints_the_catalogue_landscape_with_the_header_on_every_page(home, tmp_path):
    items = [catalogue.Item(n, f"Z109-WS·2025-D30-C01-{n:04d}", f"青岩民确认〔2025〕{n}号", "青岩镇人民政府",
                            f"某户审核确认表{n}", "20250715", "", 1, "", None, "龙井村", 1, n) for n in range(1, 121)]
    _, xlsx = catalogue.filing_catalogue("青岩镇2025年7月归档文件目录", items)
    source = tmp_path / "目录.xlsx"
    source.write_bytes(xlsx)
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=180)
    printed = pypdf.PdfReader(tmp_path / "目录.pdf")
    assert len(printed.pages) > 1
    for page in printed.pages:
        box = page.mediabox
        assert box.width > box.height  # landscape
        text = page.extract_text()
        assert "档号" in text and "备注" in text  # the header row repeated on every page
        assert "Z109-WS·2025-D30-C01" in text  # every column on the page's width


def test_statistics_list_every_configured_village_in_order_an_empty_one_as_zero(home, month):  # noqa: F811
    from archive.casework.history import households_as_of
    from archive.documents import sheets
    from archive.roster.households import list_households

    households = sheets.households_in_month(households_as_of(home.db, list_households(home.db), JULY), JULY)
    villages = ["新村", *reversed(home.config.villages)]  # 新村: configured, nobody assisted yet
    sheet = openpyxl.load_workbook(__import__("io").BytesIO(
        sheets.statistics_xlsx("青岩镇", households, JULY, villages=villages))).active
    listed = [sheet.cell(r, 1).value for r in range(3, sheet.max_row)]
    assert listed == villages
    assert [sheet.cell(3, c).value for c in range(2, sheet.max_column + 1)] == [0] * (sheet.max_column - 1)
