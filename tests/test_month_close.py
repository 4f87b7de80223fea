"""Closing a month: one consistent snapshot under concurrent writers, late documents reported,
and a supplement filing that keeps every earlier output and lists the whole month."""

import datetime as dt
import hashlib
import json
import multiprocessing as mp
import time
from pathlib import Path

import openpyxl
import pypdf

from archive.documents.generate import Generator
from archive.filing.month import file_month, reopen_month
from archive.filing.verify import verify
from archive.home import Home
from tests.conftest import run_cli
from tests.test_filing import month  # noqa: F401  (fixture)

JULY = dt.date(2025, 7, 1)


def _writer(root: str, heads: list[str], tag: str) -> list[str]:
    """Generate documents dated in July, one transaction each, as `archive generate` does."""
    from archive.documents.generate import Generator
    from archive.home import Home

    home = Home(Path(root))
    generator = Generator(home)
    made = []
    for index, head in enumerate(heads):
        day = dt.date(2025, 7, 1 + index % 28)
        made.append(generator.household_document("refusal", head, day, {"reason": f"{tag}{index}"}).doc_id)
    home.close()
    return made


def _month_docs(home: Home) -> set[str]:
    return {r[0] for r in home.db.execute(
        "SELECT doc_id FROM documents WHERE substr(doc_date,1,7)='2025-07' AND status='active' AND attached_to IS NULL")}


def test_file_month_under_concurrent_writers_files_or_reports_every_document(home, township):
    heads = [h.head.id_number for h in township][:32]
    root = str(home.root)
    context = mp.get_context("spawn")  # real separate processes, each with its own connection
    with context.Pool(2) as pool:
        pending = pool.starmap_async(_writer, [(root, heads[:16], "甲"), (root, heads[16:], "乙")])
        deadline = time.monotonic() + 120
        while len(_month_docs(home)) < 4:  # close the month while both writers are busy
            assert time.monotonic() < deadline and not pending.ready(), "writers did not start"
            time.sleep(0.05)
        first = file_month(home, JULY)
        still_writing = len(_month_docs(home)) < len(heads)  # some documents are still to come
        made = pending.get(timeout=300)
    assert still_writing, "the writers finished before the month was closed: the test proved nothing"
    everything = _month_docs(home)
    assert set(made[0] + made[1]) <= everything
    filed = {r[0] for r in home.db.execute("SELECT doc_id FROM documents WHERE filed_month='2025-07' AND archival_code IS NOT NULL")}
    codes = {i.archival_code for i in first.items}
    assert filed == {r[0] for r in home.db.execute("SELECT doc_id, archival_code FROM documents") if r[1] in codes}
    again = file_month(home, JULY)
    assert again.changed is False
    assert again.late == len(everything - filed) and again.late > 0
    assert filed | _late_ids(home) == everything and not filed & _late_ids(home)
    # one snapshot: everything written before the closing (the audit log orders the write
    # transactions) is filed, everything written after it is late
    closing = home.db.execute("SELECT min(id) FROM audit WHERE action='filing.month' AND target='2025-07'").fetchone()[0]
    generated = {r[0]: r[1] for r in home.db.execute("SELECT target, id FROM audit WHERE action='document.generate'")}
    assert {d for d in everything if generated[d] < closing} == filed
    assert {d for d in everything if generated[d] > closing} == _late_ids(home)
    # the CLI says so and exits non-zero, with the hint to reopen
    cli = run_cli("--home", root, "file-month", "2025-07")
    assert cli.exit_code == 1
    assert f"2025-07 月已归档，之后又有 {again.late} 份文书" in cli.stdout and "archive reopen-month 2025-07" in cli.stdout
    as_json = run_cli("--home", root, "file-month", "2025-07", "--json")
    data = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and data["late"] == again.late and "reopen-month" in data["late_message"]
    # so does verify
    report = verify(home, check_usability=False)
    assert any(f.target == "2025-07" and f"之后又有 {again.late} 份文书" in f.problem and "reopen-month" in f.problem
               for f in report.findings), report.report_zh()
    # reopening files them, continuing the numbers; nothing is late any more
    reopen_month(home, JULY, "补归档并发生成的文书")
    supplement = file_month(home, JULY)
    assert len(supplement.items) == again.late
    assert {r[0] for r in home.db.execute("SELECT doc_id FROM documents WHERE filed_month='2025-07' "
                                          "AND archival_code IS NOT NULL")} == everything
    assert verify(home, check_usability=False).ok, verify(home, check_usability=False).report_zh()


def _late_ids(home: Home) -> set[str]:
    from archive.filing.late import late_documents

    return {doc_id for closed in late_documents(home.db) for doc_id in closed.doc_ids}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_refiling_a_reopened_month_lists_everything_and_keeps_the_old_outputs(home, month):  # noqa: F811
    first = file_month(home, JULY)
    outputs = {k: home.root / v for k, v in first.outputs.items()}
    catalogue_pdf = outputs["归档文件目录-2025-07.pdf"]
    old = {name: (_sha(outputs[name]), outputs[name].read_bytes())
           for name in ("归档文件目录-2025-07.pdf", "归档文件目录-2025-07.xlsx", "盒脊与备考表-2025-07.pdf")}
    first_spines = len(first.boxes)
    late = Generator(home).household_document("adjustment", month["new"][1].head.id_number, dt.date(2025, 7, 30),
                                              {"new_amount": "300", "reason": "收入增加"})
    reopen_month(home, JULY, "补归档月底调整告知书")
    again = file_month(home, JULY)
    assert [i.archival_code for i in again.items] == [home.db.execute(
        "SELECT archival_code FROM documents WHERE doc_id=?", (late.doc_id,)).fetchone()[0]]
    # the catalogue lists everything filed for the month, the supplement marked as such
    sheet = openpyxl.load_workbook(home.root / again.outputs["归档文件目录-2025-07.xlsx"]).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [r[1] for r in rows] == [i.archival_code for i in first.items] + [again.items[0].archival_code]
    assert [r[8] or "" for r in rows][-1].endswith("补充归档")
    assert not any("补充归档" in (r[8] or "") for r in rows[:-1])
    text = "".join(p.extract_text() for p in pypdf.PdfReader(catalogue_pdf).pages).replace("\n", "")
    assert all(i.archival_code in text for i in first.items) and again.items[0].archival_code in text
    assert "补充归档" in text
    # the box spines: every box of the month, not only the one the supplement went into
    spine = "".join(p.extract_text() for p in pypdf.PdfReader(outputs["盒脊与备考表-2025-07.pdf"]).pages)
    assert spine.count("备考表") >= first_spines and "补充归档 1 件" in spine
    # the replaced versions are kept beside, under superseded/, and recorded with both digests
    replaced = {json.loads(r["detail"])["purpose"]: json.loads(r["detail"]) for r in home.db.execute(
        "SELECT detail FROM audit WHERE action='filing.output.replace'")}
    for name, (digest, blob) in old.items():
        entry = replaced[name]
        kept = home.root / entry["kept_as"]
        assert kept.parent == outputs[name].parent / "superseded" and kept.name.startswith(Path(name).stem + ".v1")
        assert kept.read_bytes() == blob and entry["old_sha256"] == digest
        assert entry["new_sha256"] == _sha(outputs[name]) != digest
    # a household's 卷内目录 rewritten for the supplement keeps its old version too
    assert any(name.startswith("卷内目录/") for name in replaced)


def test_old_catalog_without_filing_round_is_upgraded(tmp_path):
    """A catalog made before supplements were marked gains the column; its filings count as the first."""
    import sqlite3

    from archive.catalog import _SCHEMA, connect, create_schema

    db_path = tmp_path / "old.sqlite"
    old = sqlite3.connect(db_path)
    old.executescript(_SCHEMA.replace(
        "    filing_round    INTEGER,                           -- 1: the month's first filing; 2…: supplements after reopen-month\n", ""))
    old.close()
    conn = connect(db_path)
    assert "filing_round" not in {r[1] for r in conn.execute("PRAGMA table_info(documents)")}
    create_schema(conn)
    assert "filing_round" in {r[1] for r in conn.execute("PRAGMA table_info(documents)")}
    conn.close()


def _catalogue_notes(home: Home, outputs: dict[str, str]) -> dict[str, str]:
    book = openpyxl.load_workbook(home.root / outputs["归档文件目录-2025-07.xlsx"], read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    header = next(r for r in rows if r and "档号" in r)
    code, note = header.index("档号"), header.index("备注")
    return {r[code]: r[note] or "" for r in rows[rows.index(header) + 1:] if r and r[code]}


def test_a_filed_document_is_voided_only_in_a_reopened_month_and_the_catalogue_says_so(home, month):  # noqa: F811
    from archive.errors import ConflictError

    first = file_month(home, JULY)
    doc_id = month["new"][0].head.id_number
    row = home.db.execute("SELECT doc_id, archival_code FROM documents WHERE household_id=? AND type='approval' "
                          "AND archival_code IS NOT NULL", (doc_id,)).fetchone()
    generator = Generator(home)
    try:
        generator.void(row["doc_id"], "审批表填错")
        raise AssertionError("a closed month's document was voided without reopening the month")
    except ConflictError as exc:
        assert "reopen-month 2025-07" in str(exc)
    assert home.db.execute("SELECT status FROM documents WHERE doc_id=?", (row["doc_id"],)).fetchone()[0] == "active"
    assert "已作废" not in _catalogue_notes(home, first.outputs)[row["archival_code"]]

    reopen_month(home, JULY, "作废填错的审批表")
    generator.void(row["doc_id"], "审批表填错")
    again = file_month(home, JULY)
    assert again.reclosed and again.items == []
    assert again.outputs["归档文件目录-2025-07.xlsx"] == first.outputs["归档文件目录-2025-07.xlsx"]
    notes = _catalogue_notes(home, again.outputs)
    assert notes[row["archival_code"]] == "已作废（审批表填错）"
    assert sum("已作废" in n for n in notes.values()) == 1
    # the household's 卷内目录 says it too, and the earlier versions are kept and verify passes
    household_catalogue = next(p for n, p in again.outputs.items() if n.startswith("卷内目录/"))
    text = "".join(page.extract_text() for page in pypdf.PdfReader(home.root / household_catalogue).pages)
    assert "已作废（审批表填错）" in text.replace("\n", "")
    assert verify(home).findings == []
    # closing once more writes nothing new
    reopen_month(home, JULY, "复核")
    third = file_month(home, JULY)
    assert third.reclosed and third.items == []
    assert verify(home).findings == []
