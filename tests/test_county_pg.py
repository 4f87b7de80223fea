"""A county whose townships' catalogs are in PostgreSQL (issue #15): `archive backup` of the whole
county (one manifest of digests: each township's pg_dump beside its files, the county's SQLite
catalog), `archive restore` into an empty deployment (an empty database), `verify` passes for every
township; a tampered backup file is refused with nothing restored. Real PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import psycopg
import pytest
from conftest import run_cli
from countyfixtures import THREE, Township, add_township, import_roster

pytestmark = pytest.mark.slow


def _generate(root: Path, township: Township) -> dict:
    head = next(h for h in township.households if h.status == "在保").head
    result = run_cli("--home", str(root), "--township", township.name, "generate", "refusal", "--household",
                     head.id_number, "--date", "2025-07-08", "--set", "reason=家庭人均收入高于当地最低生活保障标准",
                     "--set", "apply_date=2025-06-20", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.splitlines()[0]) | {"head_name": head.name}


def _schemas(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'archive_%'")}


def test_backup_and_restore_of_a_county_with_postgresql_catalogs(tmp_path, postgres_server, postgres_url,
                                                                 monkeypatch):
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)  # every township's catalog in this database
    root = tmp_path / "花溪区"
    townships = [Township(t.name, t.fonds, t.villages, t.seed) for t in THREE[:2]]
    made = {}
    for township in townships:
        add_township(root, township)
        import_roster(root, township, tmp_path)
        made[township.name] = _generate(root, township)
    assert _schemas(postgres_url) == {"archive_z109", "archive_z110"}
    assert not (townships[0].folder(root) / "catalog.sqlite").exists()

    backed = run_cli("--home", str(root), "backup", str(tmp_path / "copy"), "--json")
    assert backed.exit_code == 0, backed.output
    copy = tmp_path / "copy"
    manifest = (copy / "MANIFEST.sha256").read_text(encoding="utf-8")
    for township in townships:
        dump = copy / "townships" / township.name / "catalog.pgdump.sql"
        assert f"CREATE TABLE archive_{township.fonds.lower()}.documents" in dump.read_text(encoding="utf-8")
        assert f"  townships/{township.name}/catalog.pgdump.sql\n" in manifest  # one manifest for the county
        assert not (copy / "townships" / township.name / "catalog.sqlite").exists()
    assert "  catalog.sqlite\n" in manifest  # the county's own catalog (accounts, audit)

    other = postgres_server.create_database(f"county_restore_{os.getpid()}")
    try:
        monkeypatch.setenv("ARCHIVE_DATABASE_URL", other)  # an empty deployment
        tampered = tmp_path / "tampered"
        shutil.copytree(copy, tampered)
        dump = tampered / "townships" / "黔陶乡" / "catalog.pgdump.sql"
        number = made["黔陶乡"]["number"]
        dump.write_text(dump.read_text(encoding="utf-8").replace(number, "黔陶民不批〔2025〕99号"), encoding="utf-8")
        refused = run_cli("restore", str(tampered), "--home", str(tmp_path / "bad"))
        assert refused.exit_code != 0 and "townships/黔陶乡/catalog.pgdump.sql" in refused.output
        assert _schemas(other) == set() and not (tmp_path / "bad").exists()

        restored = run_cli("restore", str(copy), "--home", str(tmp_path / "restored"), "--json")
        assert restored.exit_code == 0, restored.output
        assert _schemas(other) == {"archive_z109", "archive_z110"}
        for township in townships:
            config = (tmp_path / "restored" / "townships" / township.name / "config.yaml").read_text(encoding="utf-8")
            assert "database_url: " + other in config
        checked = run_cli("--home", str(tmp_path / "restored"), "verify", "--json")
        results = [json.loads(line) for line in checked.stdout.splitlines()]
        assert checked.exit_code == 0, checked.output
        assert [r["township"] for r in results][1:] == ["青岩镇", "黔陶乡"] and all(r["ok"] for r in results)
        for name, document in made.items():  # the index was rebuilt in every township
            found = run_cli("--home", str(tmp_path / "restored"), "search", document["head_name"], "--json")
            assert document["doc_id"] in found.stdout and name in found.stdout, found.output

        # a second township whose schema is taken: nothing of the first is left half-restored
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("DROP SCHEMA archive_z109 CASCADE")
        again = run_cli("restore", str(copy), "--home", str(tmp_path / "twice"))
        assert again.exit_code != 0 and "不会恢复到非空的模式" in again.output
        assert _schemas(other) == {"archive_z110"} and not (tmp_path / "twice").exists()
    finally:
        postgres_server.drop_database(f"county_restore_{os.getpid()}")
