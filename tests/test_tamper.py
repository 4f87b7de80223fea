"""The 24 kinds of tampering of issue 10 (DA/T 70 四性检测), each on its own copy of a filed home.

A home is filed once per module (a month of documents, a signed notice back from the scanner, a
quarantined scan, a voided notice, the month closed); each test copies it, applies one tampering
and asserts that `archive verify` exits non-zero and names that problem with the file or
document concerned. Kinds 1-8 were caught before the issue; 9-24 were not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from archive import sample
from archive.catalog import audit_hash, transaction
from archive.config import Config
from archive.documents.generate import Generator
from archive.filing.month import file_month
from archive.home import Home, init_home
from archive.roster.importer import import_roster
from archive.scans.ingest import Ingester
from tests.conftest import run_cli

JULY = dt.date(2025, 7, 1)


def _build(base: Path) -> Path:
    """A filed month; also keeps a copy of the catalog as it was just before the month was closed."""
    township = sample.make_township(40, JULY, seed=3)
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES),
                    complaint_phone="0851-83200000", office_phone="0851-83200001")
    home = init_home(base / "home", config)
    import_roster(home.db, sample.write_roster_xlsx(township, base / "roster.xlsx"), home.config, "tester")
    generator = Generator(home)
    new = [h for h in township if h.status == "在保" and len(h.members) > 1][:3]
    for household in new:
        head = household.head.id_number
        generator.household_document("application", head, dt.date(2025, 7, 1))
        generator.household_document("approval", head, dt.date(2025, 7, 15))
        generator.household_document("confirmation", head, dt.date(2025, 7, 15))
    refused = next(h for h in township if h.status == "申请中")
    notice = generator.household_document("refusal", refused.head.id_number, dt.date(2025, 7, 20),
                                          {"reason": "家庭人均收入高于标准", "decision_date": "2025-07-07"})
    wrong = generator.household_document("adjustment", new[1].head.id_number, dt.date(2025, 7, 22),
                                         {"new_amount": "300", "reason": "收入增加"})
    generator.void(wrong.doc_id, "金额写错")
    generator.month_sheets(JULY)
    shutil.copy(notice.pdf, home.inbox_dir / "signed.pdf")
    (home.inbox_dir / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<<")  # quarantined: not a whole PDF
    statuses = sorted(r.status for r in Ingester(home).run([home.inbox_dir]))
    assert statuses == ["linked", "quarantined"], statuses
    with sqlite3.connect(base / "catalog-before-filing.sqlite") as before:
        home.db.backup(before)
    file_month(home, JULY)
    home.close()
    return base / "home"


@pytest.fixture(scope="module")
def filed(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("filed"))


@pytest.fixture
def copy(filed, tmp_path) -> Home:
    target = tmp_path / "home"
    shutil.copytree(filed, target)
    shutil.copy(filed.parent / "catalog-before-filing.sqlite", tmp_path / "catalog-before-filing.sqlite")
    home = Home(target)
    yield home
    home.close()


# --- helpers ------------------------------------------------------------------------------------

def _sql(home: Home, *statements: tuple) -> None:
    with transaction(home.db):
        for statement in statements:
            home.db.execute(*statement)


def _one(home: Home, query: str, *params) -> sqlite3.Row:
    row = home.db.execute(query, params).fetchone()
    assert row is not None, query
    return row


def _filed_generated(home: Home) -> sqlite3.Row:
    """A filed, generated approval form (PDF, DOCX and stamped copy), referenced by no other document."""
    return _one(home, "SELECT * FROM documents WHERE type='approval' AND archival_code IS NOT NULL ORDER BY item_no LIMIT 1")


def _catalogue(home: Home, suffix: str) -> Path:
    return next(home.documents_dir.glob(f"2025/_归档/2025-07/归档文件目录-2025-07.{suffix}"))


def _rechain(home: Home, start: int, hasher: Callable[..., str]) -> None:
    """Recompute the chain from row `start` on, the way someone with write access to the catalog would."""
    rows = home.db.execute("SELECT * FROM audit WHERE id >= ? ORDER BY id", (start,)).fetchall()
    prev = _one(home, "SELECT hash FROM audit WHERE id = ?", start - 1)["hash"]
    with transaction(home.db):
        for row in rows:
            digest = hasher(prev, row["at"], row["operator"], row["action"], row["target"], row["detail"])
            home.db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE id=?", (prev, digest, row["id"]))
            prev = digest


# --- the 24 kinds: each returns (finding code, what the finding's target must contain) --------------

def t01_document_pdf_altered(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    path = home.root / row["pdf_path"]
    path.write_bytes(path.read_bytes() + b"\n%tampered")
    return "digest_mismatch", row["pdf_path"]


def t02_document_file_deleted(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    (home.root / row["docx_path"]).unlink()
    return "file_missing", row["docx_path"]


def t03_stamped_copy_replaced_by_unstamped(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    shutil.copy(home.root / row["pdf_path"], home.root / row["stamped_path"])
    return "digest_mismatch", row["stamped_path"]


def t04_scan_original_altered(home: Home) -> tuple[str, str]:
    row = _one(home, "SELECT * FROM documents WHERE origin='scan'")
    path = home.root / row["original_path"]
    path.write_bytes(path.read_bytes().replace(b"%%EOF", b"%%EOF\n%x", 1))
    return "digest_mismatch", row["original_path"]


def t05_stored_digest_deleted(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    _sql(home, ("DELETE FROM files WHERE doc_id=? AND kind='pdf_path'", (row["doc_id"],)))
    return "digest_unregistered", row["pdf_path"]


def t06_filed_document_deleted_from_catalog(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    _sql(home, ("DELETE FROM files WHERE doc_id=?", (row["doc_id"],)), ("DELETE FROM documents WHERE doc_id=?", (row["doc_id"],)))
    return "item_gap", row["archival_code"][:-5]


def t07_audit_row_edited(home: Home) -> tuple[str, str]:
    _sql(home, ("UPDATE audit SET operator='someone else' WHERE id=3",))
    return "audit_row_altered", "第3条"


def t08_audit_row_deleted(home: Home) -> tuple[str, str]:
    _sql(home, ("DELETE FROM audit WHERE id=5",))
    return "audit_row_missing", "第5条"


def t09_unknown_file_in_household_folder(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    stranger = (home.root / row["pdf_path"]).with_name("20250716-补充材料.pdf")
    shutil.copy(home.root / row["pdf_path"], stranger)
    return "unknown_file", str(stranger.relative_to(home.root))


def t10_leftover_temp_file(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    source = home.root / row["pdf_path"]
    leftover = source.with_name(f".{source.name}.4242.tmp")
    leftover.write_bytes(source.read_bytes()[:500])
    return "temp_file", str(leftover.relative_to(home.root))


def t11_document_moved_to_other_household(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    other = _one(home, "SELECT id FROM households WHERE id <> ? LIMIT 1", row["household_id"])["id"]
    _sql(home, ("UPDATE documents SET household_id=? WHERE doc_id=?", (other, row["doc_id"])))
    return "record_altered", row["doc_id"]


def t12_number_changed(home: Home) -> tuple[str, str]:
    row = _one(home, "SELECT * FROM documents WHERE number IS NOT NULL AND archival_code IS NOT NULL LIMIT 1")
    _sql(home, ("UPDATE documents SET number=? WHERE doc_id=?", (row["number"].replace("号", "9号"), row["doc_id"])))
    return "record_altered", row["doc_id"]


def t13_title_changed(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    _sql(home, ("UPDATE documents SET title='审核确认表（已更正）' WHERE doc_id=?", (row["doc_id"],)))
    return "record_altered", row["doc_id"]


def t14_text_changed(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    _sql(home, ("UPDATE documents SET body_text=replace(body_text, '低保', '特困') WHERE doc_id=?", (row["doc_id"],)))
    return "record_altered", row["doc_id"]


def t15_void_undone(home: Home) -> tuple[str, str]:
    row = _one(home, "SELECT * FROM documents WHERE status='voided'")
    _sql(home, ("UPDATE documents SET status='active', void_reason=NULL WHERE doc_id=?", (row["doc_id"],)))
    return "record_altered", row["doc_id"]


def t16_two_archival_codes_swapped(home: Home) -> tuple[str, str]:
    a, b = home.db.execute("SELECT doc_id, archival_code, item_no FROM documents WHERE archival_code IS NOT NULL "
                           "AND class_code = (SELECT class_code FROM documents WHERE type='approval' AND archival_code "
                           "IS NOT NULL LIMIT 1) ORDER BY item_no LIMIT 2").fetchall()
    _sql(home, ("UPDATE documents SET archival_code='swap' WHERE doc_id=?", (a["doc_id"],)),
         ("UPDATE documents SET archival_code=?, item_no=? WHERE doc_id=?", (a["archival_code"], a["item_no"], b["doc_id"])),
         ("UPDATE documents SET archival_code=?, item_no=? WHERE doc_id=?", (b["archival_code"], b["item_no"], a["doc_id"])))
    return "record_altered", a["doc_id"]


def t17_file_replaced_with_its_stored_digest(home: Home) -> tuple[str, str]:
    row = _filed_generated(home)
    path = home.root / row["pdf_path"]
    path.write_bytes(path.read_bytes() + b"\n%forged")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _sql(home, ("UPDATE files SET sha256=?, size=? WHERE doc_id=? AND kind='pdf_path'",
                (digest, path.stat().st_size, row["doc_id"])))
    return "record_altered", row["doc_id"]


def t18_last_audit_rows_deleted(home: Home) -> tuple[str, str]:
    last = _one(home, "SELECT max(id) AS id FROM audit")["id"]
    _sql(home, ("DELETE FROM audit WHERE id > ?", (last - 3,)))
    # the last rows registered the month's outputs: their registrations are gone from the chain
    return "output_unregistered", "卷内目录.pdf"


def t19_audit_row_edited_and_chain_recomputed(home: Home) -> tuple[str, str]:
    _sql(home, ("UPDATE audit SET operator='someone else' WHERE id=3",))
    _rechain(home, 3, audit_hash)
    return "anchor_mismatch", "归档文件目录-2025-07"


def t20_catalogue_pdf_replaced(home: Home) -> tuple[str, str]:
    pdf = _catalogue(home, "pdf")
    shutil.copy(pdf.with_name("完整性报告-2025-07.pdf"), pdf)
    return "output_altered", str(pdf.relative_to(home.root))


def t21_catalogue_xlsx_corrupt(home: Home) -> tuple[str, str]:
    xlsx = _catalogue(home, "xlsx")
    xlsx.write_bytes(xlsx.read_bytes()[:-200])
    return "output_altered", str(xlsx.relative_to(home.root))


def t22_catalog_rolled_back(home: Home) -> tuple[str, str]:
    home.close()
    for suffix in ("-wal", "-shm"):
        Path(str(home.catalog_path) + suffix).unlink(missing_ok=True)
    shutil.copy(home.root.parent / "catalog-before-filing.sqlite", home.catalog_path)
    return "anchor_missing", "归档文件目录-2025-07"


def t23_quarantined_original_deleted(home: Home) -> tuple[str, str]:
    row = _one(home, "SELECT quarantine_path FROM scans WHERE status='quarantined'")
    (home.root / row["quarantine_path"]).unlink()
    return "quarantine_missing", row["quarantine_path"]


def t24_duplicate_registry_emptied(home: Home) -> tuple[str, str]:
    row = _one(home, "SELECT original_path FROM documents WHERE origin='scan'")
    _sql(home, ("DELETE FROM scans",))
    return "scan_unregistered", row["original_path"]


@dataclass(frozen=True)
class Kind:
    tamper: Callable[[Home], tuple[str, str]]
    caught_before: bool  # caught by verify before issue 10


KINDS = [Kind(f, n <= 8) for n, f in enumerate([
    t01_document_pdf_altered, t02_document_file_deleted, t03_stamped_copy_replaced_by_unstamped,
    t04_scan_original_altered, t05_stored_digest_deleted, t06_filed_document_deleted_from_catalog,
    t07_audit_row_edited, t08_audit_row_deleted,
    t09_unknown_file_in_household_folder, t10_leftover_temp_file, t11_document_moved_to_other_household,
    t12_number_changed, t13_title_changed, t14_text_changed, t15_void_undone, t16_two_archival_codes_swapped,
    t17_file_replaced_with_its_stored_digest, t18_last_audit_rows_deleted, t19_audit_row_edited_and_chain_recomputed,
    t20_catalogue_pdf_replaced, t21_catalogue_xlsx_corrupt, t22_catalog_rolled_back,
    t23_quarantined_original_deleted, t24_duplicate_registry_emptied,
], start=1)]


def test_there_are_24_kinds():
    assert len(KINDS) == 24 and sum(k.caught_before for k in KINDS) == 8


def test_untouched_copy_passes(copy):
    result = run_cli("--home", str(copy.root), "verify", "--json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] and report["anchors"] == 2 and report["outputs"] >= 6


@pytest.mark.parametrize("kind", KINDS, ids=[k.tamper.__name__ for k in KINDS])
def test_tampering_is_caught(copy, kind):
    code, target = kind.tamper(copy)
    copy.close()
    result = run_cli("--home", str(copy.root), "verify", "--json")
    assert result.exit_code == 1, result.stdout
    findings = json.loads(result.stdout)["findings"]
    assert any(f["code"] == code and target in f["target"] for f in findings), findings
    text = run_cli("--home", str(copy.root), "verify").stdout
    assert target in text and next(f["problem"] for f in findings if f["code"] == code) in text
