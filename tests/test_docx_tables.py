"""DOCX tables open in Word, WPS and LibreOffice as the PDF prints them: fixed layout, grid
widths equal to the cells', a paragraph between consecutive tables, an 18-digit ID on one line.
LibreOffice Writer (a tool we did not write) prints the DOCX to check the last."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import shutil
import subprocess
from pathlib import Path

import docx
import pypdf
import pytest
from docx.oxml.ns import qn

from archive.documents.generate import Generator

DAY = dt.date(2025, 7, 8)
TYPES = ["application", "home-visit", "approval"]  # the forms with tables


def _tables(path: str):
    return docx.Document(path).tables


@pytest.mark.parametrize("doc_type", TYPES)
def test_tables_have_a_fixed_layout_and_grid_widths_equal_to_the_cells(home, head_id, doc_type):
    result = Generator(home).household_document(doc_type, head_id, DAY, {})
    tables = _tables(result.docx)
    assert tables
    for table in tables:
        layout = table._tbl.tblPr.find(qn("w:tblLayout"))
        assert layout is not None and layout.get(qn("w:type")) == "fixed"
        grid = [int(col.get(qn("w:w"))) for col in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        first_row = [int(tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) for tc in table.rows[0]._tr.findall(qn("w:tc"))]
        if len(first_row) == len(grid):  # a row not merged across columns
            assert all(abs(g - c) <= 2 for g, c in zip(grid, first_row, strict=True)), (grid, first_row)
        width = int(table._tbl.tblPr.find(qn("w:tblW")).get(qn("w:w")))
        assert abs(width - sum(grid)) <= len(grid)


@pytest.mark.parametrize("doc_type", TYPES)
def test_no_two_tables_touch(home, head_id, doc_type):
    result = Generator(home).household_document(doc_type, head_id, DAY, {})
    body = docx.Document(result.docx).element.body
    children = [child.tag for child in body.iterchildren()]
    for before, after in itertools.pairwise(children):
        assert not (before == qn("w:tbl") and after == qn("w:tbl")), "two tables run together"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_prints_every_member_id_on_one_line(home, head_id, tmp_path):
    ids = [r[0] for r in home.db.execute("SELECT id_number FROM members WHERE household_id=?", (head_id,))]
    assert ids
    out = []
    for doc_type in ("application", "home-visit", "approval"):
        result = Generator(home).household_document(doc_type, head_id, DAY, {})
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(tmp_path), result.docx],
                       check=True, capture_output=True, timeout=180)
        printed = tmp_path / (Path(result.docx).stem + ".pdf")
        text = "\n".join(page.extract_text() for page in pypdf.PdfReader(printed).pages)
        out.append((doc_type, text))
    printed_ids = 0
    for doc_type, text in out:
        lines = [re.sub(r"\s+", "", line) for line in text.splitlines()]
        shown = [i for i in ids if any(i in line for line in lines)]
        broken = [i for i in ids if i not in shown and i in re.sub(r"\s+", "", text)]
        assert not broken, (doc_type, broken)
        printed_ids += len(shown)
    assert printed_ids >= len(ids)  # the forms do print the members' IDs: the check saw them
