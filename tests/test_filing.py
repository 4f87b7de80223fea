import datetime as dt
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pypdf
import pytest

from archive import sample as samples
from archive.casework.due import due_list
from archive.catalog import transaction
from archive.documents.generate import Generator
from archive.errors import ArchiveError
from archive.filing.month import file_month, reopen_month
from archive.filing.sample import draw_sample
from archive.filing.stamp import CELL_W, place
from archive.filing.verify import verify
from archive.scans.ingest import Ingester
from tests.conftest import run_cli

JULY = dt.date(2025, 7, 1)
CODE = re.compile(r"^Z109-WS·2025-(D30|D10)-(C0\d|XZ)-(\d{4})$")


@pytest.fixture
def month(home, township):
    """A month of a small township: new households with their forms, notices, a publicity
    sheet, the monthly roster, and one signed notice back from the scanner."""
    generator = Generator(home)
    new = [h for h in township if h.status == "在保" and len(h.members) > 1][:3]
    for index, household in enumerate(new):
        head = household.head.id_number
        generator.household_document("application", head, dt.date(2025, 7, 1))
        generator.household_document("home-visit", head, dt.date(2025, 7, 10 if index == 0 else 2))  # the first is late
        generator.household_document("approval", head, dt.date(2025, 7, 15))
        generator.household_document("confirmation", head, dt.date(2025, 7, 15))
    refused = next(h for h in township if h.status == "申请中")
    notice = generator.household_document("refusal", refused.head.id_number, dt.date(2025, 7, 20),
                                          {"reason": "家庭人均收入高于标准", "decision_date": "2025-07-07"})
    generator.publicity(new[0].village, JULY, dt.date(2025, 7, 31), dt.date(2025, 7, 31))
    generator.month_sheets(JULY)
    # the signed notice comes back (here the PDF itself: QR and text layer, no OCR needed)
    shutil.copy(notice.pdf, home.inbox_dir / "signed.pdf")
    records = Ingester(home).run([home.inbox_dir])
    assert records[0].status == "linked"
    return {"new": new, "refused": refused, "notice": notice}


@pytest.mark.pg_catalog  # also with the catalog in PostgreSQL (tests/conftest.py)
def test_month_end_numbers_stamps_and_catalogues(home, month):
    result = file_month(home, JULY)
    assert result.changed and result.items and result.attached == 1
    # 件号 per class: 1..n with no gaps
    by_class: dict[str, list[int]] = {}
    for item in result.items:
        match = CODE.match(item.archival_code)
        assert match, item.archival_code
        by_class.setdefault(item.archival_code[:-5], []).append(int(match[3]))
    for numbers in by_class.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
    # the signed scan is the 件; the generated notice is filed with it
    signed = home.db.execute("SELECT * FROM documents WHERE source_doc=?", (month["notice"].doc_id,)).fetchone()
    original = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (month["notice"].doc_id,)).fetchone()
    assert signed["archival_code"] and original["attached_to"] == signed["doc_id"] and original["archival_code"] is None
    # the stamp on page one of the filed copy, the original untouched
    row = home.db.execute("SELECT * FROM documents WHERE type='approval' AND archival_code IS NOT NULL LIMIT 1").fetchone()
    stamped = pypdf.PdfReader(home.root / row["stamped_path"])
    first = stamped.pages[0].extract_text()
    assert "Z109" in first and f"{row['item_no']:04d}" in first and row["retention"] in first
    source = pypdf.PdfReader(home.root / row["pdf_path"])
    assert row["archival_code"] not in source.pages[0].extract_text()  # the original carries no 归档章
    x, y, scale = place(source.pages[0])
    assert scale == 1.0 and abs(x + CELL_W * 1.5 - float(source.pages[0].mediabox.width) / 2) < 1  # top centre, free
    # catalogues reopen with the right rows
    outputs = {k: home.root / v for k, v in result.outputs.items()}
    sheet = openpyxl.load_workbook(outputs["归档文件目录-2025-07.xlsx"]).active
    codes = [r[1] for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert codes == [i.archival_code for i in result.items]
    catalogue = "".join(p.extract_text() for p in pypdf.PdfReader(outputs["归档文件目录-2025-07.pdf"]).pages)
    assert "归档文件目录" in catalogue and result.items[0].archival_code in catalogue.replace("\n", "")
    page = pypdf.PdfReader(outputs["归档文件目录-2025-07.pdf"]).pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # A4 landscape
    spine = "".join(p.extract_text() for p in pypdf.PdfReader(outputs["盒脊与备考表-2025-07.pdf"]).pages)
    assert "备考表" in spine and "起止件号" in spine and "情况说明" in spine
    assert any(k.startswith("卷内目录/") for k in outputs)


def test_box_notes_name_the_configured_operator_never_the_login(home, month, monkeypatch):
    """备考表 整理人: the person set by init (config operator or ARCHIVE_OPERATOR); blank, for a
    handwritten name, when nobody was named — never the OS account (root)."""
    import getpass

    monkeypatch.delenv("ARCHIVE_OPERATOR", raising=False)
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    assert home.operator == "root" and home.named_operator is None  # the audit still names someone
    result = file_month(home, JULY)
    spine = "".join(p.extract_text() for p in pypdf.PdfReader(home.root / result.outputs["盒脊与备考表-2025-07.pdf"]).pages)
    assert "整理人" in spine and "root" not in spine
    home.config.operator = "王敏"
    assert home.named_operator == "王敏" and home.operator == "王敏"

def test_completeness_finds_missing_materials_and_late_notices(home, month):
    result = file_month(home, JULY)
    findings = [(f.household, f.kind, f.detail) for f in result.findings]
    first = month["new"][0].head.id_number
    assert any(h == first and k == "缺少材料" and "户口簿" in d for h, k, d in findings)
    assert any(h == first and k == "超过时限" and "入户调查" in d for h, k, d in findings)
    refused = month["refused"].head.id_number
    assert any(h == refused and k == "超过时限" and "不予批准告知书" in d for h, k, d in findings)
    assert any(k == "未回收签收件" for _, k, _ in findings)
    report = openpyxl.load_workbook(home.root / result.outputs["完整性报告-2025-07.xlsx"]).active
    assert report.max_row - 2 == len(result.findings)


def test_second_run_changes_nothing_and_reopen_is_recorded(home, month):
    first = file_month(home, JULY)
    codes = dict(home.db.execute("SELECT doc_id, archival_code FROM documents").fetchall())
    result = run_cli("--home", str(home.root), "file-month", "2025-07", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["changed"] is False
    assert dict(home.db.execute("SELECT doc_id, archival_code FROM documents").fetchall()) == codes
    late = Generator(home).household_document("adjustment", month["new"][1].head.id_number, dt.date(2025, 7, 30),
                                              {"new_amount": "300", "reason": "收入增加"})
    assert file_month(home, JULY).changed is False
    # the late document is on the due list too, with the hint to reopen the month
    due = [i for i in due_list(home, month=dt.date(2025, 8, 1), today=dt.date(2025, 8, 20))
           if i.kind == "late_filing"]
    assert [(i.due, i.state, i.doc_id) for i in due] == [("2025-07-31", "逾期", late.doc_id)]
    assert "archive reopen-month 2025-07" in due[0].detail
    with pytest.raises(ArchiveError, match="原因"):
        reopen_month(home, JULY, "")
    reopen_month(home, JULY, "补归档月底调整告知书")
    again = file_month(home, JULY)
    assert [i.archival_code for i in again.items] == [home.db.execute(
        "SELECT archival_code FROM documents WHERE doc_id=?", (late.doc_id,)).fetchone()[0]]
    same_class = [i.item_no for i in first.items if i.archival_code[:-5] == again.items[0].archival_code[:-5]]
    assert again.items[0].item_no == max(same_class, default=0) + 1  # continues the sequence, no gap
    assert home.db.execute("SELECT archival_code FROM documents WHERE doc_id=?", (late.doc_id,)).fetchone()[0]
    assert home.db.execute("SELECT count(*) FROM audit WHERE action='filing.reopen'").fetchone()[0] == 1


def test_full_box_opens_the_next(home, month):
    home.config.filing["box_capacity"] = 2
    result = file_month(home, JULY)
    boxes = home.db.execute("SELECT year, village, retention, box_no FROM boxes ORDER BY village, retention, box_no").fetchall()
    assert any(b["box_no"] >= 2 for b in boxes)
    for row in home.db.execute("SELECT box_id, count(*) FROM documents WHERE box_id IS NOT NULL GROUP BY box_id"):
        assert row[1] <= 2
    assert len(result.boxes) == len(boxes)


@pytest.mark.pg_catalog  # also with the catalog in PostgreSQL (tests/conftest.py)
def test_verify_catches_tampering_deletion_gaps_and_log_edits(home, month):
    file_month(home, JULY)
    assert verify(home).ok, verify(home).report_zh()
    rows = home.db.execute("SELECT doc_id, pdf_path, docx_path FROM documents WHERE pdf_path IS NOT NULL ORDER BY doc_id LIMIT 2").fetchall()
    tampered = home.root / rows[0]["pdf_path"]
    tampered.write_bytes(tampered.read_bytes() + b"\n%tampered")
    deleted = home.root / rows[1]["docx_path"]
    deleted.unlink()
    with transaction(home.db):
        home.db.execute("UPDATE audit SET operator='someone else' WHERE id=3")
    result = run_cli("--home", str(home.root), "verify", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    findings = {(f["check"], f["target"]) for f in report["findings"]}
    assert ("真实性", rows[0]["pdf_path"]) in findings
    assert ("完整性", rows[1]["docx_path"]) in findings
    assert any(check == "安全性" and "第3条" in target for check, target in findings)
    text = run_cli("--home", str(home.root), "verify").stdout
    assert "真实性" in text and rows[0]["pdf_path"] in text


def test_verify_finds_gaps_in_item_numbers(home, month):
    file_month(home, JULY)
    with transaction(home.db):
        home.db.execute("UPDATE documents SET item_no = item_no + 5, archival_code = archival_code || 'x' WHERE doc_id = "
                        "(SELECT doc_id FROM documents WHERE item_no = 1 LIMIT 1)")
    findings = [f for f in verify(home, check_usability=False).findings if f.check == "完整性"]
    assert any("缺件号 0001" in f.problem for f in findings)


def test_sample_is_reproducible_and_includes_kin(home, month):
    file_month(home, JULY)
    first, summary = draw_sample(home, 2025, 0.5, seed=11)
    again, _ = draw_sample(home, 2025, 0.5, seed=11)
    assert first == again and summary["sampled"] >= 1
    kin = {r[0] for r in home.db.execute("SELECT id FROM households WHERE kin_filed=1")}
    assert kin <= {i.household for i in first}
    villages = home.config.villages
    keys = [(i.cabinet, villages.index(i.village), i.box, i.item) for i in first if i.box]
    result = run_cli("--home", str(home.root), "sample", "--year", "2025", "--rate", "0.5", "--seed", "11", "--json")
    data = json.loads(result.stdout)
    assert [i["household"] for i in data["items"]] == [i.household for i in first]
    assert pypdf.PdfReader(data["pdf"]).pages
    assert len(keys) >= 2
    assert keys == sorted(keys)  # the pull list walks cabinet, village, box and 件号 in order


def test_export_has_contents_and_bookmarks(home, month, tmp_path):
    file_month(home, JULY)
    heads = [h.head.id_number for h in month["new"][:2]]
    out = tmp_path / "调阅.pdf"
    result = run_cli("--home", str(home.root), "export", *heads, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    reader = pypdf.PdfReader(out)
    assert "卷内目录" in reader.pages[0].extract_text()
    outline = reader.outline
    titles = [item.title for item in outline if not isinstance(item, list)]
    assert titles[0] == "卷内目录" and sum(1 for t in titles if "（" in t) == 2
    children = [item for item in outline if isinstance(item, list)]
    assert len(children) == 2 and all(len(c) >= 3 for c in children)


def test_reconcile_lists_every_difference(home, month, township, tmp_path):
    changed = [h for h in township if h.head.id_number == month["new"][0].head.id_number][0]
    changed.amount += 100
    dropped = month["new"][2].head.id_number  # approved, paid from before July, missing from the export
    roster = [h for h in township if h.head.id_number != dropped]
    path = samples.write_roster_xlsx(roster, tmp_path / "province.xlsx")
    result = run_cli("--home", str(home.root), "reconcile", "--month", "2025-07", "--roster", str(path), "--json")
    assert result.exit_code == 1, result.stderr  # differences found
    data = json.loads(result.stdout)
    kinds = {(d["household"], d["kind"]) for d in data["differences"]}
    assert (changed.head.id_number, "花名册与审核确认表的人数或金额不一致") in kinds
    assert (changed.head.id_number, "花名册与公示单的人数或金额不一致") in kinds or changed.village != month["new"][0].village
    assert (dropped, "已审核确认、但不在花名册中") in kinds
    sheet = openpyxl.load_workbook(data["xlsx"]).active
    assert sheet.max_row - 2 == len(data["differences"])



def test_reconcile_report_is_kept_audited_and_never_overwritten(home, month, township, tmp_path):
    """The library writes the report (CLI and web alike): a second comparison with another roster
    keeps the first report under superseded/; each comparison is in the audit log with the roster's digest."""
    from archive.catalog import file_digest
    from archive.filing.reconcile import write_reconciliation

    full = samples.write_roster_xlsx(township, tmp_path / "full.xlsx")
    first = write_reconciliation(home, JULY, full)
    old_pdf = first.pdf.read_bytes()
    assert first.replaced == [] and first.pdf.parent == home.documents_dir / "2025" / "_比对"
    shorter = samples.write_roster_xlsx(township[1:], tmp_path / "shorter.xlsx")
    second = write_reconciliation(home, JULY, shorter)
    assert second.pdf == first.pdf and len(second.replaced) == 2
    assert any(kept.read_bytes() == old_pdf for kept in second.replaced)
    entries = [json.loads(r[0]) for r in home.db.execute("SELECT detail FROM audit WHERE action='reconcile' ORDER BY id")]
    assert [e["roster_sha256"] for e in entries] == [file_digest(full), file_digest(shorter)]
    assert [e["differences"] for e in entries] == [len(first.differences), len(second.differences)]
    assert verify(home, check_usability=False).ok


def test_empty_month_is_not_closed(home):
    result = run_cli("--home", str(home.root), "file-month", "2024-02")
    assert result.exit_code == 0 and "没有待归档" in result.stdout
    assert home.db.execute("SELECT count(*) FROM filing_months").fetchone()[0] == 0


def test_sample_list_in_the_home_is_never_overwritten(home, month):
    file_month(home, JULY)
    first = run_cli("--home", str(home.root), "sample", "--year", "2025", "--rate", "0.3", "--seed", "5", "--json")
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["replaced"] is None and "种子5" in data["pdf"]
    old_bytes = Path(data["pdf"]).read_bytes()
    # the same year and seed at another rate: another list under the same name
    again = json.loads(run_cli("--home", str(home.root), "sample", "--year", "2025", "--rate", "1", "--seed", "5",
                               "--json").stdout)
    assert again["pdf"] == data["pdf"] and again["replaced"]
    assert Path(again["replaced"]).read_bytes() == old_bytes  # the first list kept as it was
    assert Path(again["pdf"]).read_bytes() != old_bytes
    replace = home.db.execute("SELECT detail FROM audit WHERE action='filing.output.replace'").fetchall()
    assert len(replace) == 1 and "superseded" in replace[0][0]
    assert verify(home, check_usability=False).ok
