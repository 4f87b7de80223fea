"""`archive township join PATH` (issue #15): an existing township home with documents, a filed month
and an index joins a county home; counts and digests checked before and after; `verify` passes in it
and a search across the county finds its households; clashes are refused before anything is copied;
a copy that fails half-way leaves the original as it was. On PostgreSQL: the joined catalog moves
into the county's database (migrate-to)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from countyfixtures import THREE, Township, add_township

from archive import county_join
from archive.errors import ArchiveError, ConflictError


def _filed_township(home, head_id: str) -> dict:
    """The township home gets a document, a filed month and its index."""
    root = str(home.root)
    home.close()
    made = run_cli("--home", root, "generate", "refusal", "--household", head_id, "--date", "2025-07-08",
                   "--set", "reason=家庭人均收入高于当地最低生活保障标准", "--set", "apply_date=2025-06-20", "--json")
    assert made.exit_code == 0, made.stderr
    filed = run_cli("--home", root, "file-month", "2025-07", "--json")
    assert filed.exit_code == 0, filed.stderr
    found = run_cli("--home", root, "search", head_id, "--json")
    assert found.exit_code == 0 and head_id in found.stdout  # the index is built
    return json.loads(made.stdout.splitlines()[0])


def _contents(root: Path) -> tuple[dict, dict]:
    """Every file's bytes (the catalog's by its tables' counts and digests; locks and index aside)."""
    import sqlite3

    found = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()
             and not {"index", ".locks"} & set(p.relative_to(root).parts) and not p.name.startswith("catalog.sqlite")}
    with sqlite3.connect(root / "catalog.sqlite") as conn:
        tables = county_join._table_digests(conn)
    conn.close()
    return found, tables


def _county(tmp_path: Path) -> Path:
    root = tmp_path / "花溪区"
    add_township(root, Township(*[getattr(THREE[1], f) for f in ("name", "fonds", "villages", "seed")]))
    return root


@pytest.mark.pg_catalog
def test_a_township_home_joins_a_county_verifiably(home, head_id, township, tmp_path, catalog_backend):
    """On PostgreSQL (catalog_backend): a township whose catalog is already there joins with it in
    place (its files are copied and checked; its schema is its own)."""
    from starlette.testclient import TestClient
    from webfixtures import PASSWORD, login

    from archive.web import create_app

    source = home.root
    made = _filed_township(home, head_id)
    added = run_cli("--home", str(source), "user", "add", "经办人小王", "--role", "caseworker", "--password-stdin",
                    "--json", input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    root = _county(tmp_path)
    joined = run_cli("--home", str(root), "township", "join", str(source), "--json")
    assert joined.exit_code == 0, joined.output
    report = json.loads(joined.stdout)
    assert report["ok"] and report["township"] == "青岩镇" and report["migrated"] is None
    if catalog_backend == "sqlite":
        assert report["catalog"] == "sqlite"
        tables = {t["table"]: t for t in report["tables"]}
        assert tables["documents"]["rows_before"] == tables["documents"]["rows_after"] > 0
        assert tables["documents"]["same"] and tables["boxes"]["rows_after"] > 0  # the filed month came along
    else:
        assert "archive_z109" in report["catalog"] and report["tables"] == []
    assert not source.exists() and Path(report["kept_as"]).is_dir()  # the original is kept, renamed
    assert report["accounts"] == ["经办人小王"]  # her account is the county's now, scoped to her township
    users = [json.loads(line) for line in run_cli("--home", str(root), "user", "list", "--json").stdout.splitlines()]
    assert [(u["name"], u["township"]) for u in users] == [("经办人小王", "青岩镇")]
    with TestClient(create_app(root)) as client:
        assert login(client, "经办人小王").status_code == 303
        assert client.get("/api/me").json()["township"] == "青岩镇"
    target = root / "townships" / "青岩镇"
    assert report["home"] == str(target)
    assert (target / "scans").is_dir() and not any((target / "scans").iterdir())  # empty folders too: the inbox

    listed = [json.loads(line) for line in run_cli("--home", str(root), "township", "list", "--json").stdout.splitlines()]
    assert [t["township"] for t in listed] == ["黔陶乡", "青岩镇"]
    checked = run_cli("--home", str(root), "verify", "--json")
    assert checked.exit_code == 0, checked.output
    assert all(json.loads(line)["ok"] for line in checked.stdout.splitlines())
    head = next(h.head for h in township if h.head.id_number == head_id)
    found = run_cli("--home", str(root), "search", head.name, "--json")  # across the county
    hits = [json.loads(line) for line in found.stdout.splitlines()]
    assert any(h.get("doc_id") == made["doc_id"] and h.get("township") == "青岩镇" for h in hits), found.output
    from archive.home import Home

    joined_home = Home(target)
    try:
        actions = [r[0] for r in joined_home.db.execute("SELECT action FROM audit ORDER BY id")]
        assert "township.join" in actions
        assert (target / report["report"]).is_file()
    finally:
        joined_home.close()


def test_clashes_are_refused_before_anything_is_copied(home, tmp_path):
    from archive.config import update_config

    root = _county(tmp_path)
    source = home.root
    home.close()
    before = (root / "config.yaml").read_text(encoding="utf-8")

    def set_(key: str, value: str):
        def change(document) -> None:
            document[key] = value
        update_config(source / "config.yaml", change)

    set_("fonds", "z110")  # the 全宗号 of 黔陶乡, case aside
    with pytest.raises(ConflictError, match="全宗号 z110 已由黔陶乡使用"):
        county_join.join_township(root, source)
    set_("fonds", "Z109")
    set_("township", "黔陶乡")
    with pytest.raises(ConflictError, match="已有乡镇「黔陶乡」"):
        county_join.join_township(root, source)
    set_("township", "青岩镇")
    set_("county", "南明区")
    result = run_cli("--home", str(root), "township", "join", str(source))
    assert result.exit_code != 0 and "属于「南明区」，不是花溪区的" in result.output
    result = run_cli("--home", str(root), "township", "join", str(root / "townships" / "黔陶乡"))
    assert result.exit_code != 0 and "互相包含" in result.output
    set_("county", "花溪区")
    for home_dir in (root, source):  # a user name the county already has
        added = run_cli("--home", str(home_dir), "user", "add", "督查甲", "--role", "inspector", "--password-stdin",
                        "--json", input="口令-correct-horse\n")
        assert added.exit_code == 0, added.output
    with pytest.raises(ConflictError, match="用户名督查甲在花溪区已有账号"):
        county_join.join_township(root, source)
    before = (root / "config.yaml").read_text(encoding="utf-8")
    assert (root / "config.yaml").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in (root / "townships").iterdir()) == ["黔陶乡"] and source.is_dir()


def test_a_join_that_fails_half_way_leaves_everything_as_it_was(home, head_id, tmp_path, monkeypatch):
    source = home.root
    _filed_township(home, head_id)
    root = _county(tmp_path)
    before, tables_before = _contents(source)
    county_before = (root / "config.yaml").read_text(encoding="utf-8")
    copied = []
    real_copy = county_join._copy_hashed

    def failing_copy(src: Path, dst: Path):
        if len(copied) == 3:
            raise OSError(28, "No space left on device")
        copied.append(src)
        return real_copy(src, dst)

    monkeypatch.setattr(county_join, "_copy_hashed", failing_copy)
    with pytest.raises(OSError):
        county_join.join_township(root, source)
    assert (root / "config.yaml").read_text(encoding="utf-8") == county_before
    assert sorted(p.name for p in (root / "townships").iterdir()) == ["黔陶乡"]  # no staging folder left
    assert _contents(source) == (before, tables_before)

    def corrupting_copy(src: Path, dst: Path):  # the disk returns other bytes than were written
        result = real_copy(src, dst)
        if src.suffix == ".pdf":
            dst.write_bytes(dst.read_bytes() + b"%")
        return result

    monkeypatch.setattr(county_join, "_copy_hashed", corrupting_copy)
    with pytest.raises(ArchiveError, match="摘要不符"):
        county_join.join_township(root, source)
    assert sorted(p.name for p in (root / "townships").iterdir()) == ["黔陶乡"] and source.is_dir()


@pytest.mark.slow
def test_a_joined_sqlite_catalog_moves_into_the_countys_postgresql(home, head_id, township, tmp_path, postgres_url,
                                                                   monkeypatch):
    source = home.root
    made = _filed_township(home, head_id)
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)  # the county's townships are in PostgreSQL
    root = _county(tmp_path)
    monkeypatch.delenv("ARCHIVE_DATABASE_URL")  # (their config.yaml names the database)
    joined = run_cli("--home", str(root), "township", "join", str(source), "--json")
    assert joined.exit_code == 0, joined.output
    report = json.loads(joined.stdout)
    assert report["ok"] and report["migrated"]["ok"] and report["migrated"]["schema"] == "archive_z109"
    assert "archive_z109" in report["catalog"]
    target = root / "townships" / "青岩镇"
    assert not (target / "catalog.sqlite").exists()
    assert f"database_url: {postgres_url}" in (target / "config.yaml").read_text(encoding="utf-8")
    checked = run_cli("--home", str(root), "verify", "--json")
    assert checked.exit_code == 0, checked.output
    head = next(h.head for h in township if h.head.id_number == head_id)
    found = run_cli("--home", str(root), "search", head.name, "--json")
    assert made["doc_id"] in found.stdout
