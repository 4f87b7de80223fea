"""Names like `=cmd|' /C calc'!A0` or `=HYPERLINK(…)` are data, never formulas: every XLSX the
archive writes (花名册, 统计表, 归档文件目录, 完整性报告, reports) stores them as text."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from archive import sample
from archive.config import Config
from archive.documents.generate import Generator
from archive.filing.month import file_month
from archive.home import init_home
from archive.roster.importer import import_roster

JULY = dt.date(2025, 7, 1)
HOSTILE = ['=HYPERLINK("http://example.invalid/x","点我")', "=cmd|' /C calc'!A0", "+1+2", "@SUM(1,2)", "-2+3",
           "=1+1"]


@pytest.fixture
def hostile_home(tmp_path):
    township = sample.make_township(12, JULY, seed=5)
    assisted = [h for h in township if h.status == "在保" and h.start <= dt.date(2025, 7, 31)]  # on the month's 花名册
    assert len(assisted) >= len(HOSTILE)
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES))
    home = init_home(tmp_path / "home", config)
    import_roster(home.db, sample.write_roster_xlsx(township, tmp_path / "roster.xlsx"), home.config, "tester")
    # The roster import refuses such names today; the writers must not rely on it (data from an
    # older import, a YAML household file, a hand-edited catalog): names are put in directly.
    with home.db:
        for household, name in zip(assisted, HOSTILE, strict=False):
            head = household.head
            home.db.execute("UPDATE households SET head_name=? WHERE id=?", (name, head.id_number))
            home.db.execute("UPDATE members SET name=? WHERE id_number=?", (name, head.id_number))
    generator = Generator(home)
    for household in assisted[:len(HOSTILE)]:
        generator.household_document("approval", household.head.id_number, dt.date(2025, 7, 15))
    generator.month_sheets(JULY)
    file_month(home, JULY)
    yield home
    home.close()


def _workbooks(home) -> dict[str, Path]:
    return {path.name: path for path in home.documents_dir.rglob("*.xlsx")}


def test_every_workbook_stores_hostile_names_as_text(hostile_home):
    books = _workbooks(hostile_home)
    assert {"归档文件目录-2025-07.xlsx", "完整性报告-2025-07.xlsx"} <= set(books)
    assert any(name.startswith("花名册") or "花名册" in name for name in books), books
    seen: dict[str, set[str]] = {}
    for name, path in books.items():
        book = openpyxl.load_workbook(path)  # not data_only: a formula would show as data_type 'f'
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{name} {cell.coordinate}: {cell.value!r} is a formula"
                    if isinstance(cell.value, str):
                        for hostile in HOSTILE:
                            if hostile in cell.value:
                                seen.setdefault(hostile, set()).add(name)
                        if cell.value.startswith(("=", "+", "-", "@")):
                            assert cell.quotePrefix, f"{name} {cell.coordinate}: {cell.value!r} lacks the text prefix"
    roster_book = next(n for n in books if "花名册" in n)
    for hostile in HOSTILE:
        assert roster_book in seen.get(hostile, set()), f"{hostile!r} missing from the 花名册 as written"
    # titles in the 归档文件目录 begin with the head's name; the 完整性报告 names the head
    assert "归档文件目录-2025-07.xlsx" in seen[HOSTILE[0]]
    assert "完整性报告-2025-07.xlsx" in seen[HOSTILE[1]]


def test_numbers_stay_numbers(hostile_home):
    roster_path = next(p for n, p in _workbooks(hostile_home).items() if "花名册" in n)
    sheet = openpyxl.load_workbook(roster_path).active
    amounts = [sheet.cell(row, 10).value for row in range(3, sheet.max_row + 1)]
    assert amounts and all(isinstance(v, (int, float)) for v in amounts)
    ids = [sheet.cell(row, 7).value for row in range(3, sheet.max_row + 1)]
    assert all(isinstance(v, str) and len(v) == 18 for v in ids)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (libreoffice-calc-nogui) not installed")
def test_libreoffice_shows_the_literal_text(hostile_home, tmp_path):
    """LibreOffice recalculates on load when told to; the names come out as written, not evaluated."""
    out = tmp_path / "csv"
    books = _workbooks(hostile_home)
    sources = [p for n, p in books.items() if "花名册" in n or n.startswith(("归档文件目录", "完整性报告"))]
    profile = tmp_path / "lo-profile"
    for path in sources:
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--calc",
                        "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", str(out), str(path)],
                       check=True, capture_output=True, timeout=180)
    texts = {}
    for path in sources:
        converted = out / (path.stem + ".csv")
        with open(converted, encoding="utf-8") as handle:
            texts[path.name] = [cell for row in csv.reader(handle) for cell in row]
    roster_cells = next(cells for name, cells in texts.items() if "花名册" in name)
    for hostile in HOSTILE:
        assert hostile in roster_cells, f"{hostile!r} not shown literally: evaluated or altered"
    # what an evaluated formula would show instead: the link text, or an error value
    shown = set(cell for cells in texts.values() for cell in cells)
    assert not shown & {"点我", "#NAME?", "#VALUE!", "#REF!"}
    assert not any(cell.startswith("Err:") for cell in shown)
    catalogue = next(cells for name, cells in texts.items() if name.startswith("归档文件目录"))
    assert any(cell.startswith(HOSTILE[0]) for cell in catalogue)
