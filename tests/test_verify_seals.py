"""What the software itself does never trips verify's seals; the anchor is printed; the HMAC key."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pytest
from reportlab.pdfgen import canvas

from archive import sample as samples
from archive.catalog import audit_hash, transaction
from archive.config import Config
from archive.documents.generate import Generator
from archive.filing.month import file_month, reopen_month
from archive.filing.moves import move_document, move_household
from archive.filing.verify import verify
from archive.home import AUDIT_KEY_ENV, Home, init_home
from archive.roster.importer import import_roster
from archive.scans.ingest import Ingester
from archive.scans.review import review_assign, review_reject
from archive.sealing import parse_anchor
from tests.conftest import run_cli
from tests.helpers import pdf_text
from tests.signfixtures import make_seal

JULY = dt.date(2025, 7, 1)


def _codes(home: Home) -> list[tuple[str, str]]:
    return [(f.code, f.target) for f in verify(home, check_usability=False).findings]


def _loose_pdf(text: str) -> bytes:
    """A born-digital PDF nobody can place: no QR code, no ID number, no known title."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def test_everyday_work_keeps_verify_clean(home, township, tmp_path):
    generator = Generator(home)
    heads = [h.head.id_number for h in township if h.status == "在保" and len(h.members) > 1][:3]
    first = generator.household_document("approval", heads[0], dt.date(2025, 7, 3))
    assert generator.household_document("approval", heads[0], dt.date(2025, 7, 3)).doc_id == first.doc_id
    generator.reprint(first.doc_id)
    wrong = generator.household_document("adjustment", heads[1], dt.date(2025, 7, 4), {"new_amount": "300", "reason": "收入增加"})
    generator.void(wrong.doc_id, "金额写错")
    assert run_cli("--home", str(home.root), "seal", "set", str(make_seal(tmp_path / "seal.png"))).exit_code == 0
    assert run_cli("--home", str(home.root), "signer", "add", "李华", "--role", "副镇长").exit_code == 0
    notice = generator.household_document("refusal", heads[2], dt.date(2025, 7, 5), {"reason": "收入超标"})
    generator.household_document("refusal", heads[2], dt.date(2025, 7, 6), {"reason": "收入超标（更正）"},
                                 approver="李华", replaces=notice.doc_id)
    generator.month_sheets(JULY)
    generator.month_sheets(JULY)  # the same roster again: rewritten in place
    moved = generator.household_document("application", heads[0], dt.date(2025, 7, 7))
    move_document(home, moved.doc_id, heads[1], "归错户")
    other_village = next(v for v in home.config.villages if v != next(h for h in township if h.head.id_number == heads[2]).village)
    move_household(home, heads[2], other_village, "搬迁")
    (home.inbox_dir / "a.pdf").write_bytes(_loose_pdf("Note one, nothing to identify"))
    (home.inbox_dir / "b.pdf").write_bytes(_loose_pdf("Note two, nothing to identify either"))
    records = Ingester(home).run([home.inbox_dir])
    assert sorted(r.status for r in records) == ["review", "review"], [r.status for r in records]
    review_assign(home, records[0].doc_id, heads[0], "hukou")
    review_reject(home, records[1].doc_id, "不属于本乡镇")
    assert _codes(home) == []
    file_month(home, JULY)
    assert _codes(home) == []
    late = generator.household_document("confirmation", heads[0], dt.date(2025, 7, 30))
    reopen_month(home, JULY, "补归档")
    file_month(home, JULY)
    assert home.db.execute("SELECT archival_code FROM documents WHERE doc_id=?", (late.doc_id,)).fetchone()[0]
    roster = samples.write_roster_xlsx(township, tmp_path / "province.xlsx")
    # reconcile writes its reports either way; differences (exit 1) are not what this test is about
    assert run_cli("--home", str(home.root), "reconcile", "--month", "2025-07", "--roster", str(roster)).exit_code in (0, 1)
    assert run_cli("--home", str(home.root), "sample", "--year", "2025", "--rate", "0.5").exit_code == 0
    assert run_cli("--home", str(home.root), "reindex").exit_code == 0
    out = home.documents_dir / "2025" / "_调阅" / "调阅.pdf"  # an export kept inside the home is registered
    assert run_cli("--home", str(home.root), "export", heads[0], "--out", str(out)).exit_code == 0
    result = run_cli("--home", str(home.root), "verify", "--json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["anchors"] == 2


def test_month_catalogue_carries_the_audit_head(home, township):
    Generator(home).household_document("approval", township[0].head.id_number, dt.date(2025, 7, 3))
    result = file_month(home, JULY)
    pdf = home.root / result.outputs["归档文件目录-2025-07.pdf"]
    xlsx = home.root / result.outputs["归档文件目录-2025-07.xlsx"]
    printed = pdf_text(pdf)
    assert "操作日志校验值" in printed
    anchor = parse_anchor(printed)
    row = home.db.execute("SELECT hash FROM audit WHERE id=?", (anchor[0],)).fetchone()
    assert anchor[1] == row["hash"]
    assert parse_anchor(openpyxl.load_workbook(xlsx).properties.subject) == anchor
    registered = {r["path"]: r["kind"] for r in home.db.execute("SELECT path, kind FROM outputs")}
    assert registered[result.outputs["归档文件目录-2025-07.pdf"]] == "归档文件目录"
    assert set(result.outputs.values()) <= set(registered)


@pytest.fixture
def keyed_home(tmp_path, monkeypatch, township):
    key = tmp_path / "audit.key"
    key.write_bytes(b"0123456789abcdef-secret-key")
    monkeypatch.setenv(AUDIT_KEY_ENV, str(key))
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(samples.VILLAGES))
    home = init_home(tmp_path / "keyed", config)
    import_roster(home.db, samples.write_roster_xlsx(township, tmp_path / "roster.xlsx"), home.config, "tester")
    Generator(home).household_document("application", township[0].head.id_number, dt.date(2025, 7, 3))
    yield home
    home.close()


def test_hmac_chain_cannot_be_recomputed_without_the_key(keyed_home, monkeypatch):
    home = keyed_home
    rows = home.db.execute("SELECT * FROM audit ORDER BY id").fetchall()
    assert rows and all(r["hash"].startswith("hmac:") for r in rows)
    assert _codes(home) == []
    # someone with the catalog but not the key edits the first row and recomputes the chain
    with transaction(home.db):
        home.db.execute("UPDATE audit SET operator='someone else' WHERE id=1")
        prev = ""
        for row in home.db.execute("SELECT * FROM audit ORDER BY id").fetchall():
            digest = audit_hash(prev, row["at"], row["operator"], row["action"], row["target"], row["detail"],
                                key=b"a-guessed-key-of-16-bytes")
            home.db.execute("UPDATE audit SET prev_hash=?, hash=? WHERE id=?", (prev, digest, row["id"]))
            prev = digest
    assert ("audit_row_altered", "操作日志第1条") in _codes(home)
    # without the key configured, verify says it cannot check
    monkeypatch.delenv(AUDIT_KEY_ENV)
    home.close()
    home.__dict__.pop("audit_key", None)
    assert [code for code, _ in _codes(home)] == ["audit_key_missing"]


def test_downgrade_to_plain_hashes_after_the_key_is_seen(keyed_home):
    home = keyed_home
    with transaction(home.db):
        last = home.db.execute("SELECT * FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        plain = audit_hash(last["prev_hash"], last["at"], "someone else", last["action"], last["target"], last["detail"])
        home.db.execute("UPDATE audit SET operator='someone else', hash=? WHERE id=?", (plain, last["id"]))
    assert ("audit_row_altered", f"操作日志第{last['id']}条") in _codes(home)


def test_unreadable_key_is_a_chinese_error(tmp_path, monkeypatch, home):
    monkeypatch.setenv(AUDIT_KEY_ENV, str(tmp_path / "missing.key"))
    result = run_cli("--home", str(home.root), "verify")
    assert result.exit_code != 0 and "操作日志密钥文件" in result.stderr
    assert "找不到文件" in result.stderr and "No such file" not in result.stderr


def test_key_from_configuration(tmp_path, township, monkeypatch):
    monkeypatch.delenv(AUDIT_KEY_ENV, raising=False)
    (tmp_path / "audit.key").write_bytes(b"another-key-of-enough-length")
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(samples.VILLAGES),
                    audit={"hmac_key_file": str(tmp_path / "audit.key")})
    home = init_home(tmp_path / "configured", config)
    home.close()
    reopened = Home(tmp_path / "configured")  # the key comes back from config.yaml
    import_roster(reopened.db, samples.write_roster_xlsx(township, tmp_path / "roster.xlsx"), reopened.config, "tester")
    hashes = [r[0] for r in reopened.db.execute("SELECT hash FROM audit")]
    assert len(hashes) == 2 and all(h.startswith("hmac:") for h in hashes)
    assert _codes(reopened) == []
    reopened.close()


def test_seal_existing_seals_only_what_has_no_seal(home, township):
    doc = Generator(home).household_document("approval", township[0].head.id_number, dt.date(2025, 7, 3))
    other = Generator(home).household_document("application", township[0].head.id_number, dt.date(2025, 7, 3))
    with transaction(home.db):  # as in a catalog made before seals existed, and one record edited
        home.db.execute("DELETE FROM audit WHERE action='document.seal' AND target=?", (doc.doc_id,))
        home.db.execute("UPDATE documents SET title='改过的题名' WHERE doc_id=?", (other.doc_id,))
    assert ("record_unsealed", f"文书 {doc.doc_id}") in _codes(home)
    result = run_cli("--home", str(home.root), "seal-existing", "--reason", "升级后首次封存")
    assert result.exit_code == 0 and "1 份" in result.stdout
    codes = _codes(home)
    assert ("record_unsealed", f"文书 {doc.doc_id}") not in codes
    assert ("record_altered", f"文书 {other.doc_id}") in codes  # an edited record is never re-sealed
