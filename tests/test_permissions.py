"""The archive home holds personal data: under the usual umask 022, nothing under it may be
readable by the group or others (folders 0700, files 0600)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from pathlib import Path

import pytest

from archive import sample
from archive.config import Config
from archive.documents.generate import Generator
from archive.filing.month import file_month
from archive.home import Home, init_home
from archive.roster.importer import import_roster
from archive.scans.ingest import Ingester
from tests.conftest import run_cli

JULY = dt.date(2025, 7, 1)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _exposed(root: Path) -> list[str]:
    """Every path under `root` (itself included) that the group or others can read, write or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{oct(mode)} {path.relative_to(root)}")
    return found


def _month(home_root: Path, township, tmp_path: Path, via_cli: bool) -> None:
    roster = sample.write_roster_xlsx(township, tmp_path / "roster.xlsx")
    heads = [h for h in township if h.status == "在保" and h.start <= dt.date(2025, 7, 31)][:2]
    if via_cli:
        assert run_cli("--home", str(home_root), "roster", "import", str(roster)).exit_code == 0
        for head in heads:
            result = run_cli("--home", str(home_root), "generate", "approval", "--household", head.head.id_number,
                             "--date", "2025-07-15", "--json")
            assert result.exit_code == 0, result.stderr
        assert run_cli("--home", str(home_root), "generate", "roster", "--month", "2025-07").exit_code == 0
    else:
        home = Home(home_root)
        import_roster(home.db, roster, home.config, "tester")
        generator = Generator(home)
        for head in heads:
            generator.household_document("approval", head.head.id_number, dt.date(2025, 7, 15))
        generator.month_sheets(JULY)
        home.close()
    # the scanner drops files readable by everyone: a good one and a broken one
    first = next((home_root / "documents").rglob("*审核确认表*.pdf"))
    inbox = home_root / "scans"
    shutil.copy(first, inbox / "signed.pdf")
    (inbox / "broken.pdf").write_bytes(first.read_bytes()[:300])
    for path in inbox.iterdir():
        os.chmod(path, 0o644)
    if via_cli:
        assert run_cli("--home", str(home_root), "ingest").exit_code in (0, 1)
        result = run_cli("--home", str(home_root), "file-month", "2025-07")
        assert result.exit_code == 0, result.stderr
        assert run_cli("--home", str(home_root), "reindex").exit_code == 0
    else:
        home = Home(home_root)
        Ingester(home).run([inbox])
        file_month(home, JULY)
        home.close()


def test_cli_home_is_private_under_umask_022(tmp_path, umask_022):
    township = sample.make_township(10, JULY, seed=4)
    root = tmp_path / "home"
    result = run_cli("--home", str(root), "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                     "--villages", ",".join(sample.VILLAGES))
    assert result.exit_code == 0, result.stderr
    _month(root, township, tmp_path, via_cli=True)
    assert list((root / "quarantine").rglob("*broken.pdf")), "the broken scan should be quarantined"
    assert list((root / "index").iterdir())
    assert _exposed(root) == []
    assert os.umask(0o022) == 0o022  # the command restored the caller's umask


def test_library_home_is_private_under_umask_022(tmp_path, umask_022):
    """The same without the command line's umask: the library writes private files itself."""
    township = sample.make_township(10, JULY, seed=4)
    root = tmp_path / "home"
    init_home(root, Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES))).close()
    _month(root, township, tmp_path, via_cli=False)
    assert list((root / "quarantine").rglob("*broken.pdf"))
    assert _exposed(root) == []


def test_existing_folder_becomes_private_at_init(tmp_path, umask_022):
    root = tmp_path / "shared"
    root.mkdir(mode=0o755)
    init_home(root, Config(fonds="Z109", county="花溪区", township="青岩镇", villages=["龙井村"])).close()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert _exposed(root) == []
