"""`export --out` and `sample --out` never overwrite a file silently: refused unless --force."""

from __future__ import annotations

import datetime as dt

import pypdf

from archive.documents.generate import Generator
from tests.conftest import run_cli

PRECIOUS = b"%PDF-1.4 someone else's work\n"


def test_export_refuses_an_existing_file(home, head_id, tmp_path):
    Generator(home).household_document("approval", head_id, dt.date(2025, 7, 15))
    out = tmp_path / "调阅.pdf"
    out.write_bytes(PRECIOUS)
    result = run_cli("--home", str(home.root), "export", head_id, "--out", str(out))
    assert result.exit_code != 0
    assert "已存在" in result.stderr and "--force" in result.stderr and str(out) in result.stderr
    assert out.read_bytes() == PRECIOUS
    assert not home.db.execute("SELECT 1 FROM audit WHERE action='export'").fetchone()
    result = run_cli("--home", str(home.root), "export", head_id, "--out", str(out), "--force")
    assert result.exit_code == 0, result.stderr
    assert len(pypdf.PdfReader(out).pages) >= 2
    assert not list(tmp_path.glob(".*.tmp"))


def test_export_to_a_new_file_needs_no_force(home, head_id, tmp_path):
    Generator(home).household_document("approval", head_id, dt.date(2025, 7, 15))
    out = tmp_path / "新文件.pdf"
    assert run_cli("--home", str(home.root), "export", head_id, "--out", str(out)).exit_code == 0
    assert out.read_bytes().startswith(b"%PDF")


def test_sample_refuses_an_existing_file(home, tmp_path):
    out = tmp_path / "抽查.pdf"
    out.write_bytes(PRECIOUS)
    result = run_cli("--home", str(home.root), "sample", "--year", "2025", "--out", str(out))
    assert result.exit_code != 0 and "已存在" in result.stderr and "--force" in result.stderr
    assert out.read_bytes() == PRECIOUS
    result = run_cli("--home", str(home.root), "sample", "--year", "2025", "--out", str(out), "--force")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(b"%PDF") and out.read_bytes() != PRECIOUS
