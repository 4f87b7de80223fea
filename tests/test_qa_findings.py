"""Defects found by trying main as a new user and as an attacker would: each one a test that failed
before its fix."""

from __future__ import annotations

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
