"""Defects found by trying main as a new user and as an attacker would: each one a test that failed
before its fix."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import cli
from tests.conftest import run_cli


def test_restore_refuses_a_target_inside_the_backup(home, tmp_path):
    """Restoring into a folder inside the backup would add files the manifest does not list: the
    backup itself would then fail its own check and could never be restored again."""
    dest = tmp_path / "备份"
    home.close()
    assert run_cli("--home", str(home.root), "backup", str(dest)).exit_code == 0
    before = sorted(p.relative_to(dest) for p in dest.rglob("*"))
    result = run_cli("restore", str(dest), "--home", str(dest / "恢复"))
    assert result.exit_code != 0 and "不能在备份" in result.stderr
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == before
    # the untouched backup still restores elsewhere
    assert run_cli("restore", str(dest), "--home", str(tmp_path / "恢复")).exit_code == 0


def test_ingest_quarantines_a_pdf_whose_signature_was_broken_and_verify_agrees(home, township, tmp_path):
    """A signed PDF changed after signing was filed as a scan, after which verify failed forever on it.
    Ingest and verify agree: a broken signature is quarantined; an intact third-party one is filed."""
    from archive.scans.ingest import Ingester
    from tests.scanfixtures import text_pdf
    from tests.signfixtures import append_black_box, make_p12, sign_with

    p12 = make_p12(tmp_path / "other.p12", "pw", name="某医院")
    cards = [text_pdf(tmp_path / f"card{i}.pdf", ["居民身份证", f"公民身份号码 {township[i].head.id_number}"])
             for i in range(2)]
    signed = sign_with(cards[0].read_bytes(), p12, "pw")
    (home.inbox_dir / "intact.pdf").write_bytes(sign_with(cards[1].read_bytes(), p12, "pw"))
    (home.inbox_dir / "changed.pdf").write_bytes(append_black_box(signed))
    records = {Path(r.source).name: r for r in Ingester(home).run([home.inbox_dir])}
    assert records["intact.pdf"].status == "filed"
    assert records["changed.pdf"].status == "quarantined" and "数字签名" in records["changed.pdf"].reason
    home.close()
    result = run_cli("--home", str(home.root), "verify")
    assert result.exit_code == 0, result.stdout + result.stderr


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))


def test_a_yaml_alias_bomb_is_refused_at_once(home, tmp_path):
    """Nine lines of anchors and aliases stand for 10^9 items: `templates check` and `roster import`
    of such a file ran for ever. User-written data files need no aliases; they are refused."""
    import time

    from archive.errors import ArchiveError
    from archive.roster.importer import import_roster

    template = home.root / "templates" / "bomb.yaml"
    template.write_text(BILLION_LAUGHS, encoding="utf-8")
    started = time.monotonic()
    result = run_cli("--home", str(home.root), "templates", "check", str(template))
    assert result.exit_code != 0 and "别名" in result.stderr
    households = tmp_path / "家庭.yaml"
    households.write_text(BILLION_LAUGHS, encoding="utf-8")
    with pytest.raises(ArchiveError, match="别名"):
        import_roster(home.db, households, home.config, "tester")
    assert time.monotonic() - started < 10


def test_a_deeply_nested_households_file_is_a_chinese_error(home, tmp_path):
    """`roster import` of a JSON file nested 5,000 deep ended in a RecursionError traceback."""
    from archive.errors import ArchiveError
    from archive.roster.importer import import_roster

    deep = tmp_path / "家庭.json"
    deep.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    with pytest.raises(ArchiveError, match="嵌套层数过多"):
        import_roster(home.db, deep, home.config, "tester")


def test_moving_an_ingested_scan_moves_its_original_and_sidecar(home, township, tmp_path):
    """A scan with a text layer is stored once (its original is also its PDF) with an OCR sidecar:
    `move` moved the PDF only, leaving the record pointing at a missing original and the sidecar in
    the first household's folder; verify then failed."""
    from archive.catalog import FILE_COLUMNS
    from archive.scans.ingest import Ingester
    from tests.scanfixtures import text_pdf

    first, second = township[0], township[1]
    text_pdf(home.inbox_dir / "card.pdf", ["居民身份证", f"公民身份号码 {first.head.id_number}"])
    [record] = Ingester(home).run([home.inbox_dir])
    assert record.status == "filed"
    doc_id = home.db.execute("SELECT doc_id FROM documents WHERE origin='scan'").fetchone()[0]
    result = run_cli("--home", str(home.root), "move", doc_id, "--household", second.head.id_number, "--reason", "归错户")
    assert result.exit_code == 0, result.stderr
    row = home.db.execute(f"SELECT {', '.join(FILE_COLUMNS)} FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
    stored = [row[c] for c in FILE_COLUMNS if row[c]]
    assert len(stored) >= 2 and all(f"-{second.head.id_number[-4:]}/" in p for p in stored), stored
    assert all((home.root / p).is_file() for p in stored)
    home.close()
    result = run_cli("--home", str(home.root), "verify")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_ingest_refuses_the_homes_own_folders(home, head_id, tmp_path):
    """`archive ingest DOCUMENTS` (or a folder holding the home) took the archive's own files as new
    scans: each became a second document, some were quarantined, closed months gained strays."""
    from archive.documents.generate import Generator

    Generator(home).household_document("approval", head_id, dt.date(2025, 7, 15))
    count = home.db.execute("SELECT count(*) FROM documents").fetchone()[0]
    for target in (home.documents_dir, home.root, home.root.parent):
        result = run_cli("--home", str(home.root), "ingest", str(target))
        assert result.exit_code != 0 and "档案库" in result.stderr, (target, result.stdout)
    assert home.db.execute("SELECT count(*) FROM documents").fetchone()[0] == count
    assert not (home.root / "quarantine").exists() or not any((home.root / "quarantine").rglob("*.pdf"))
    # the inbox itself, and a folder elsewhere, are still fine
    assert run_cli("--home", str(home.root), "ingest", str(home.inbox_dir)).exit_code == 0
    outside = tmp_path / "外部"
    outside.mkdir()
    assert run_cli("--home", str(home.root), "ingest", str(outside)).exit_code == 0


def test_a_renewed_certificate_keeps_earlier_signatures_trusted(home, head_id, tmp_path, monkeypatch):
    """Certificates are renewed every year or two. `signer add` with the new one overwrote the
    registered public certificate: every notice signed before became 无法确认签名人 and verify failed."""
    from tests.signfixtures import make_p12, make_seal, make_signature

    monkeypatch.setenv("ARCHIVE_SIGN_PASSWORD", "pw")
    root = str(home.root)
    assert run_cli("--home", root, "seal", "set", str(make_seal(tmp_path / "seal.png"))).exit_code == 0

    def sign(cert: Path, day: str) -> str:
        assert run_cli("--home", root, "signer", "add", "王明", "--role", "镇长", "--signature",
                       str(make_signature(tmp_path / "sig.png")), "--cert", str(cert)).exit_code == 0
        result = run_cli("--home", root, "generate", "adjustment", "--household", head_id, "--date", day,
                         "--set", "new_amount=600", "--set", f"reason=家庭收入变化{day}", "--sign", "--approver", "王明",
                         "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout.splitlines()[0])["pdf"]

    old = sign(make_p12(tmp_path / "2024.p12", "pw"), "2025-07-10")
    new = sign(make_p12(tmp_path / "2025.p12", "pw"), "2025-07-20")
    for pdf in (old, new):
        result = run_cli("--home", root, "verify-signature", pdf)
        assert result.exit_code == 0, result.stdout
    home.close()
    result = run_cli("--home", root, "verify")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_export_and_sample_refuse_an_out_name_that_is_not_pdf(home, head_id, tmp_path):
    """`sample --out 清单.xlsx` wrote a PDF under an .xlsx name (Excel then says the file is corrupt)."""
    from archive.documents.generate import Generator

    Generator(home).household_document("approval", head_id, dt.date(2025, 7, 15))
    for args in (("sample", "--year", "2025"), ("export", head_id)):
        out = tmp_path / "清单.xlsx"
        result = run_cli("--home", str(home.root), *args, "--out", str(out))
        assert result.exit_code != 0 and ".pdf" in result.stderr, (args, result.stdout)
        assert not out.exists()
        assert run_cli("--home", str(home.root), *args, "--out", str(tmp_path / f"{args[0]}.pdf")).exit_code == 0


def test_search_with_a_limit_below_one_is_an_error_not_a_traceback(home):
    """`search 张 --limit 0` ended in whoosh's ValueError traceback."""
    for limit in ("0", "-1"):
        result = CliRunner().invoke(cli, ["--home", str(home.root), "search", "张", "--limit", limit])
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code == 2
        assert "--limit 应为正整数" in result.stderr


def test_unknown_document_type_lists_the_types_in_one_style(home):
    """The hint read 「application, declaration, …, confirmation、publicity、roster」."""
    result = run_cli("--home", str(home.root), "generate", "nosuch", "--household", "1")
    assert result.exit_code != 0 and ", " not in result.stderr
    assert "可用的文书类型：adjustment（最低生活保障金调整告知书）、application（最低生活保障申请书）、" in result.stderr
