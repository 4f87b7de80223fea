"""`archive backup` and `archive restore`: a restored home passes verify; any change to a backup
makes restore refuse with nothing left behind; private key material stays out unless asked for."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from archive.documents.generate import Generator
from archive.filing.month import file_month
from archive.scans.ingest import Ingester
from tests.conftest import run_cli
from tests.signfixtures import make_p12, make_seal, make_signature

JULY = dt.date(2025, 7, 1)
PASSWORD = "测试密码-123"


@pytest.fixture
def filed_home(home, township, tmp_path, monkeypatch):
    """A month generated, a signed notice, a scan back, a broken scan quarantined, the month filed."""
    monkeypatch.setenv("ARCHIVE_SIGN_PASSWORD", PASSWORD)
    assert run_cli("--home", str(home.root), "seal", "set", str(make_seal(tmp_path / "seal.png"))).exit_code == 0
    result = run_cli("--home", str(home.root), "signer", "add", "王明", "--role", "镇长",
                     "--signature", str(make_signature(tmp_path / "sig.png")), "--cert", str(make_p12(tmp_path / "c.p12", PASSWORD)))
    assert result.exit_code == 0, result.stderr
    generator = Generator(home)
    new = [h for h in township if h.status == "在保" and len(h.members) > 1][:2]
    for household in new:
        generator.household_document("approval", household.head.id_number, dt.date(2025, 7, 15))
    refused = next(h for h in township if h.status == "申请中")
    notice = generator.household_document("refusal", refused.head.id_number, dt.date(2025, 7, 20),
                                          {"reason": "家庭人均收入高于标准", "decision_date": "2025-07-17"})
    result = run_cli("--home", str(home.root), "generate", "adjustment", "--household", new[0].head.id_number,
                     "--date", "2025-07-21", "--set", "new_amount=600", "--set", "reason=家庭收入增加",
                     "--sign", "--approver", "王明")
    assert result.exit_code == 0, result.stderr
    generator.month_sheets(JULY)
    shutil.copy(notice.pdf, home.inbox_dir / "signed.pdf")
    (home.inbox_dir / "broken.pdf").write_bytes(Path(notice.pdf).read_bytes()[:400])
    Ingester(home).run([home.inbox_dir])
    file_month(home, JULY)
    home.close()
    assert run_cli("--home", str(home.root), "reindex").exit_code == 0
    result = run_cli("--home", str(home.root), "verify")
    assert result.exit_code == 0, result.stdout + result.stderr
    return home


def _backup(home, dest: Path, *extra: str) -> dict:
    result = run_cli("--home", str(home.root), "backup", str(dest), "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_restored_backup_passes_verify(filed_home, tmp_path):
    dest = tmp_path / "备份"
    summary = _backup(filed_home, dest)
    # the manifest is checkable with the standard tool, without this software
    check = subprocess.run(["sha256sum", "--quiet", "-c", "MANIFEST.sha256"], cwd=dest, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = {line.split("  ", 1)[1] for line in (dest / "MANIFEST.sha256").read_text(encoding="utf-8").splitlines()}
    assert {"catalog.sqlite", "config.yaml"} <= listed and any(name.startswith("documents/") for name in listed)
    assert any(name.startswith("quarantine/") for name in listed)
    assert not any(name.startswith(("index/", ".locks/", ".ingest/")) for name in listed)
    assert summary["files"] == len(listed)
    # the catalog copy is a complete, self-contained SQLite file
    with sqlite3.connect(dest / "catalog.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] > 0
    assert not (dest / "catalog.sqlite-wal").exists()
    # the backup is recorded in the home's audit log with the manifest's digest
    rows = filed_home.db.execute("SELECT detail FROM audit WHERE action='backup'").fetchall()
    assert [json.loads(r["detail"])["manifest_sha256"] for r in rows] == [summary["manifest_sha256"]]

    target = tmp_path / "恢复"
    result = run_cli("restore", str(dest), "--home", str(target))
    assert result.exit_code == 0, result.stderr
    verified = run_cli("--home", str(target), "verify", "--json")
    assert verified.exit_code == 0, verified.stdout
    assert json.loads(verified.stdout)["ok"]
    assert run_cli("--home", str(target), "check-index").exit_code == 0
    found = run_cli("--home", str(target), "search", "不予批准", "--json")
    assert found.exit_code == 0 and found.stdout.strip()
    # private, like any home
    for path in [target, *target.rglob("*")]:
        assert stat.S_IMODE(path.lstat().st_mode) & 0o077 == 0, path
    # the restore is in the restored home's audit log
    assert run_cli("--home", str(target), "verify").exit_code == 0


def test_private_keys_stay_out_unless_asked(filed_home, tmp_path):
    secure = sorted(p.name for p in (filed_home.root / "secure").iterdir())
    assert any(n.endswith(".p12") for n in secure) and any(n.endswith(".pem") for n in secure)
    plain = tmp_path / "plain"
    summary = _backup(filed_home, plain)
    kept = sorted(p.name for p in (plain / "secure").iterdir())
    assert kept and all(n.endswith(".pem") for n in kept)
    assert {Path(p).name for p in summary["left_out_keys"]} == {n for n in secure if not n.endswith(".pem")}
    keyed = tmp_path / "keyed"
    _backup(filed_home, keyed, "--include-keys")
    assert sorted(p.name for p in (keyed / "secure").iterdir()) == secure


def _refused(backup: Path, target: Path, *words: str) -> None:
    result = run_cli("restore", str(backup), "--home", str(target))
    assert result.exit_code != 0
    for word in words:
        assert word in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not target.exists() or not any(target.iterdir())
    assert not list(target.parent.glob(f".{target.name}.restoring-*"))


def test_tampered_file_in_backup_is_refused(filed_home, tmp_path):
    dest = tmp_path / "备份"
    _backup(filed_home, dest)
    victim = next(p for p in sorted((dest / "documents").rglob("*.pdf")))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    _refused(dest, tmp_path / "恢复", "摘要值与备份清单不符", victim.name)


def test_added_missing_and_manifest_edits_are_refused(filed_home, tmp_path):
    dest = tmp_path / "备份"
    _backup(filed_home, dest)
    added = dest / "documents" / "多出来的.pdf"
    added.write_bytes(b"%PDF-1.4\n")
    _refused(dest, tmp_path / "r1", "多出来的.pdf", "备份清单中没有")
    added.unlink()
    victim = next(p for p in sorted((dest / "documents").rglob("*.docx")))
    saved = victim.read_bytes()
    victim.unlink()
    _refused(dest, tmp_path / "r2", victim.name, "缺失")
    victim.write_bytes(saved)
    # a consistent edit of file and manifest line is still seen: the manifest's digest is recorded
    data = bytearray(saved)
    data[-1] ^= 0x01
    victim.write_bytes(bytes(data))
    import hashlib

    manifest = dest / "MANIFEST.sha256"
    relative = victim.relative_to(dest).as_posix()
    lines = [f"{hashlib.sha256(bytes(data)).hexdigest()}  {relative}" if line.endswith("  " + relative) else line
             for line in manifest.read_text(encoding="utf-8").splitlines()]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _refused(dest, tmp_path / "r3", "BACKUP.json")


def test_manifest_paths_outside_the_backup_are_refused(filed_home, tmp_path):
    dest = tmp_path / "备份"
    _backup(filed_home, dest)
    manifest = dest / "MANIFEST.sha256"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "0" * 64 + "  ../../etc/passwd\n", encoding="utf-8")
    _refused(dest, tmp_path / "恢复", "路径不允许")


def test_restore_refuses_a_non_empty_target(filed_home, tmp_path):
    dest = tmp_path / "备份"
    _backup(filed_home, dest)
    target = tmp_path / "有东西"
    target.mkdir()
    (target / "别人的文件.txt").write_text("不要动", encoding="utf-8")
    result = run_cli("restore", str(dest), "--home", str(target))
    assert result.exit_code != 0 and "不是空目录" in result.stderr
    assert [p.name for p in target.iterdir()] == ["别人的文件.txt"]
    result = run_cli("restore", str(dest), "--home", str(filed_home.root))
    assert result.exit_code != 0 and "不是空目录" in result.stderr


def test_backup_refuses_a_non_empty_or_inner_destination(filed_home, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x", encoding="utf-8")
    result = run_cli("--home", str(filed_home.root), "backup", str(busy))
    assert result.exit_code != 0 and "不是空目录" in result.stderr
    result = run_cli("--home", str(filed_home.root), "backup", str(filed_home.root / "documents" / "bk"))
    assert result.exit_code != 0 and "不能在档案库" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    _backup(filed_home, empty)
    assert (empty / "MANIFEST.sha256").exists()


@pytest.mark.slow
def test_backup_while_documents_are_generated_is_consistent(home, township, tmp_path):
    """Another process generates notices throughout the backup: the backup's catalog and files
    agree (the restored home passes verify), whatever point the backup caught."""
    import os
    import sys
    import time

    heads = [h.head.id_number for h in township if h.status == "在保"][:8]
    script = tmp_path / "writer.sh"
    lines = [f'"{sys.executable}" -m archive --home "{home.root}" generate adjustment --household {head} '
             f'--date 2025-07-2{i % 9} --set new_amount=6{i}0 --set reason=家庭收入增加 >/dev/null' for i, head in enumerate(heads)]
    script.write_text("set -e\n" + "\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    writer = subprocess.Popen(["bash", str(script)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not list(home.documents_dir.rglob("*调整*.pdf")) and time.monotonic() < deadline:
            time.sleep(0.2)
        backups = []
        for n in range(3):
            dest = tmp_path / f"备份{n}"
            _backup(home, dest)
            backups.append(dest)
            time.sleep(0.5)
    finally:
        assert writer.wait(timeout=300) == 0
    for n, dest in enumerate(backups):
        target = tmp_path / f"恢复{n}"
        assert run_cli("restore", str(dest), "--home", str(target)).exit_code == 0
        verified = run_cli("--home", str(target), "verify", "--quick")
        assert verified.exit_code == 0, verified.stdout
