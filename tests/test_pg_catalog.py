"""The catalog in PostgreSQL (issue #15): commands give the same output as on SQLite, migrate-to
moves a SQLite catalog verifiably (and refuses a tampered copy or a non-empty schema), and the
machine-local locks become advisory locks. Real throwaway PostgreSQL server (tests/servers.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path

import psycopg
import pytest

from archive.catalog_move import move_catalog
from archive.config import Config
from archive.documents.generate import Generator
from archive.errors import ArchiveError, BadInputError, LockedError
from archive.home import Home, init_home
from archive.index.store import writer_lock
from archive.locks import advisory_key
from archive.migrations import head_revision
from archive.pgconn import translate
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_placeholders_are_translated_outside_literals_only():
    assert translate("SELECT '?', \"a?\", x FROM t WHERE y=? AND z LIKE '5%' -- ?\n AND w=?") == \
        "SELECT '?', \"a?\", x FROM t WHERE y=%s AND z LIKE '5%%' -- ?\n AND w=%s"


def _flow(root: Path, roster: Path, head_id: str) -> dict[str, object]:
    """The same commands on a home; their JSON output with the home's path taken out."""
    def run(*args: str) -> list[dict]:
        result = run_cli("--home", str(root), *args)
        assert result.exit_code == 0, result.output
        text = result.stdout.replace(str(root), "HOME")
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    run("init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109", "--villages",
        "龙井村,思潜村,新关村,杨眉村,北街社区", "--operator", "王敏", "--json")
    out: dict[str, object] = {"import": run("roster", "import", str(roster), "--json")}
    out["generate"] = [run("generate", "refusal", "--household", head_id, "--date", "2025-07-08", "--set",
                           f"reason=理由{i}", "--set", "apply_date=2025-06-20", "--json") for i in range(3)]
    out["void"] = run("void", out["generate"][1][0]["doc_id"], "--reason", "写错", "--json")  # type: ignore[index]
    out["file"] = run("file-month", "2025-07", "--json")
    out["search"] = run("search", "理由", "--json")
    out["show"] = run("show", head_id, "--json")
    out["verify"] = run("verify", "--json")
    return out


def _scrub(value: object) -> object:
    """Times, the digests of files that carry a time, and the index's own scores (fts5 beside SQLite,
    postgresql beside PostgreSQL rank differently; the hits and their order are compared) are not."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?", "TIME", text)
    text = re.sub(r'"(seconds|elapsed|ms|took|score)": [0-9.e-]+', r'"\1": 0', text)
    text = re.sub(r"[0-9a-f]{64}", "SHA", text)
    return json.loads(text)


def test_commands_give_the_same_output_on_postgresql(tmp_path, township, head_id, postgres_url, monkeypatch):
    from archive import sample

    roster = sample.write_roster_xlsx(township, tmp_path / "roster.xlsx")
    monkeypatch.delenv("ARCHIVE_DATABASE_URL", raising=False)
    on_sqlite = _flow(tmp_path / "sqlite", roster, head_id)
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    on_pg = _flow(tmp_path / "pg", roster, head_id)
    assert not (tmp_path / "pg" / "catalog.sqlite").exists()
    assert "database_url: " + postgres_url in (tmp_path / "pg" / "config.yaml").read_text(encoding="utf-8")
    assert on_pg["verify"][0]["ok"] is True  # type: ignore[index]
    for step in on_sqlite:
        assert _scrub(on_pg[step]) == _scrub(on_sqlite[step]), step
    # the catalog and the index are both in the database's archive_z109 schema
    with psycopg.connect(postgres_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='archive_z109'")}
    assert {"documents", "audit", "alembic_version", "docs"} <= tables


def test_migrate_to_moves_the_catalog_verifiably(home, head_id, postgres_url):
    made = Generator(home).household_document("refusal", head_id, dt.date(2025, 7, 8), {"reason": "甲"})
    root = home.root
    home.close()
    result = run_cli("--home", str(root), "migrate-to", postgres_url, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["schema"] == "archive_z109"
    by_table = {t["table"]: t for t in report["tables"]}
    assert by_table["households"]["rows_after"] == by_table["households"]["rows_before"] > 0
    assert all(t["digest_before"] == t["digest_after"] and t["same"] for t in report["tables"])
    assert not (root / "catalog.sqlite").exists() and (root / report["old_catalog"]).exists()
    written = json.loads((root / report["report"]).read_text(encoding="utf-8"))
    assert written["tables"] == report["tables"]
    moved = Home(root)
    assert moved.catalog_target == (postgres_url, "archive_z109")
    assert moved.db.execute("SELECT number FROM documents WHERE doc_id=?", (made.doc_id,)).fetchone()[0] == made.number
    following = Generator(moved).household_document("refusal", head_id, dt.date(2025, 7, 9), {"reason": "乙"})
    assert int(following.doc_id.split("-")[1]) == int(made.doc_id.split("-")[1]) + 1  # sequences continue
    moved.close()
    checked = run_cli("--home", str(root), "verify", "--json")
    assert checked.exit_code == 0 and json.loads(checked.stdout)["ok"] is True, checked.output
    again = run_cli("--home", str(root), "migrate-to", postgres_url, "--json")
    assert again.exit_code != 0 and "已经在 PostgreSQL" in again.output


def test_migrate_to_refuses_a_copy_that_differs(home, postgres_url):
    root = home.root

    def tamper(cur) -> None:  # a row changed between the copy and the check
        cur.execute("UPDATE households SET head_name = head_name || '改' WHERE id = (SELECT min(id) FROM households)")

    with pytest.raises(ArchiveError, match="迁移核对不一致（households）"):
        move_catalog(home, postgres_url, _tamper=tamper)
    home.close()
    assert (root / "catalog.sqlite").exists()
    assert "database_url" not in (root / "config.yaml").read_text(encoding="utf-8")
    with psycopg.connect(postgres_url) as conn:  # the copy was rolled back
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname='archive_z109'").fetchone()[0] == 0
    assert Home(root).catalog_target is None


def test_migrate_to_refuses_a_schema_that_holds_tables(home, postgres_url):
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE SCHEMA archive_z109; CREATE TABLE archive_z109.other (x int)")
    with pytest.raises(BadInputError, match="已经有表"):
        move_catalog(home, postgres_url)
    assert (home.root / "catalog.sqlite").exists()


def test_init_refuses_a_schema_of_another_home(tmp_path, postgres_url, monkeypatch):
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    config = dict(fonds="Z109", county="花溪区", township="青岩镇", villages=["龙井村"])
    init_home(tmp_path / "a", Config(**config)).close()
    upgraded = run_cli("--home", str(tmp_path / "a"), "upgrade", "--json")
    assert upgraded.exit_code == 0 and json.loads(upgraded.stdout)["changed"] is False, upgraded.output
    with psycopg.connect(postgres_url) as conn:  # the schema is versioned like a SQLite catalog
        assert conn.execute("SELECT version_num FROM archive_z109.alembic_version").fetchone()[0] == head_revision()
    with pytest.raises(BadInputError, match="已经有"):
        init_home(tmp_path / "b", Config(**config))
    other = init_home(tmp_path / "c", Config(**{**config, "fonds": "Z110"}))  # another township: own schema
    assert other.catalog_target == (postgres_url, "archive_z110")
    other.close()


def test_index_writer_is_a_database_lock(tmp_path, postgres_url, monkeypatch):
    """Another machine holding the index writer lock: this one waits, then is refused politely."""
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    home = init_home(tmp_path / "home", Config(fonds="Z109", county="花溪区", township="青岩镇", villages=["龙井村"]))
    with psycopg.connect(postgres_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (advisory_key("archive_z109", "index-writer"),))
        with pytest.raises(LockedError, match="全文索引正被另一个进程写入"):
            with writer_lock(home, wait_s=0.3):
                pass
    # the other holder disconnected: its lock is gone with it
    with writer_lock(home, wait_s=5):
        with psycopg.connect(postgres_url, autocommit=True) as other:
            key = advisory_key("archive_z109", "index-writer")
            assert other.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0] is False
    home.close()


def test_ingest_leaves_a_scan_another_machine_is_working_on(tmp_path, postgres_url, monkeypatch):
    import hashlib

    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    home = init_home(tmp_path / "home", Config(fonds="Z109", county="花溪区", township="青岩镇", villages=["龙井村"]))
    scan = home.inbox_dir / "a.pdf"
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    with open(scan, "wb") as handle:
        writer.write(handle)
    digest = hashlib.sha256(scan.read_bytes()).hexdigest()
    home.close()
    with psycopg.connect(postgres_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (advisory_key("archive_z109", f"ingest:{digest[:3]}"),))
        result = run_cli("--home", str(home.root), "ingest", "--json")
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert any(r.get("status") == "waiting" and "另一个导入进程" in (r.get("reason") or "") for r in records), result.output
    assert scan.exists()


def test_backup_restore_verify_on_postgresql(head_id, postgres_server, postgres_url, tmp_path, monkeypatch):
    """pg_dump of the schema with the files and manifest; restore into an empty deployment (another
    database); verify passes there; a changed dump is refused before anything is restored."""
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    from archive import sample
    from archive.roster.importer import import_roster

    pg_home = init_home(tmp_path / "pg", Config(fonds="Z109", county="花溪区", township="青岩镇",
                                                villages=list(sample.VILLAGES)))
    roster = tmp_path / "roster.xlsx"
    sample.write_roster_xlsx(sample.make_township(40, dt.date(2025, 7, 1), seed=3), roster)
    import_roster(pg_home.db, roster, pg_home.config, "tester")
    made = Generator(pg_home).household_document("refusal", head_id, dt.date(2025, 7, 8), {"reason": "甲"})
    pg_home.close()
    backed = run_cli("--home", str(pg_home.root), "backup", str(tmp_path / "copy"), "--json")
    assert backed.exit_code == 0, backed.output
    dump = tmp_path / "copy" / "catalog.pgdump.sql"
    assert "CREATE TABLE archive_z109.documents" in dump.read_text(encoding="utf-8")
    assert not (tmp_path / "copy" / "catalog.sqlite").exists()

    other = postgres_server.create_database(f"restore_{os.getpid()}")
    try:
        monkeypatch.setenv("ARCHIVE_DATABASE_URL", other)
        tampered = tmp_path / "tampered"
        shutil.copytree(tmp_path / "copy", tampered)
        text = (tampered / "catalog.pgdump.sql").read_text(encoding="utf-8")
        (tampered / "catalog.pgdump.sql").write_text(text.replace(made.number, "青岩民不批〔2025〕99号"), encoding="utf-8")
        refused = run_cli("restore", str(tampered), "--home", str(tmp_path / "bad"))
        assert refused.exit_code != 0 and "catalog.pgdump.sql" in refused.output
        with psycopg.connect(other) as conn:
            assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname='archive_z109'").fetchone()[0] == 0

        restored = run_cli("restore", str(tmp_path / "copy"), "--home", str(tmp_path / "restored"), "--json")
        assert restored.exit_code == 0, restored.output
        assert "database_url: " + other in (tmp_path / "restored" / "config.yaml").read_text(encoding="utf-8")
        checked = run_cli("--home", str(tmp_path / "restored"), "verify", "--json")
        assert checked.exit_code == 0 and json.loads(checked.stdout)["ok"] is True, checked.output
        found = run_cli("--home", str(tmp_path / "restored"), "search", made.number, "--json")
        assert made.doc_id in found.stdout
        again = run_cli("restore", str(tmp_path / "copy"), "--home", str(tmp_path / "twice"))
        assert again.exit_code != 0 and "不会恢复到非空的模式" in again.output
    finally:
        postgres_server.drop_database(f"restore_{os.getpid()}")


def test_web_login_search_and_audit_on_postgresql(tmp_path, postgres_url, monkeypatch):
    """The web application on a PostgreSQL catalog: login (users table), a search, the audit entries."""
    from starlette.testclient import TestClient
    from webfixtures import csrf, login, make_web_home, open_home

    from archive.web import create_app

    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    web = make_web_home(tmp_path)
    with TestClient(create_app(web.root)) as client:  # the lifespan closes the pool's connections
        assert login(client, web.user("inspector"), "wrong-password").status_code == 401
        assert login(client, web.user("inspector")).status_code == 303
        page = client.post("/search", data={"q": web.head_name, "csrftoken": csrf(client)})
        assert page.status_code == 200 and web.head_name in page.text
    home = open_home(web)
    try:
        assert home.catalog_target is not None
        rows = home.db.execute("SELECT action, operator FROM audit WHERE action IN ('login.failed', 'search') "
                               "ORDER BY id").fetchall()
        last = home.db.execute("SELECT last_login FROM users WHERE name=?", (web.user("inspector"),)).fetchone()[0]
    finally:
        home.close()
    assert [r["action"] for r in rows] == ["login.failed", "search"]
    assert rows[1]["operator"] == web.user("inspector") and last


def _allocate(root: str, count: int) -> list[int]:
    from archive.catalog import audit, next_value, transaction

    home = Home(Path(root))
    numbers = []
    for _ in range(count):
        with transaction(home.db):
            # the audit entry first: it reads the last hash before any row lock is taken, so only the
            # transaction's advisory lock keeps two writers from chaining onto the same row
            audit(home.db, "tester", "test.allocate")
            number = next_value(home.db, "__test__", 2025)
        numbers.append(number)
    home.close()
    return numbers


def test_several_processes_allocate_gapless_numbers_and_keep_the_audit_chain(tmp_path, postgres_url, monkeypatch):
    """Four processes against PostgreSQL: every number once, none missing, each process's rising, and
    the audit chain unbroken (two writers reading the same last hash would fork it)."""
    import multiprocessing as mp

    from archive.filing.verify import Context, VerifyResult, check_audit_chain

    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    init_home(tmp_path / "home", Config(fonds="Z109", county="花溪区", township="青岩镇", villages=["龙井村"])).close()
    with mp.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(_allocate, [(str(tmp_path / "home"), 25)] * 4)
    assert sorted(n for own in results for n in own) == list(range(1, 101))
    assert all(own == sorted(own) for own in results)
    home = Home(tmp_path / "home")
    result = VerifyResult()
    check_audit_chain(Context(home, result))
    home.close()
    assert result.audit_rows == 101 and result.findings == []


def test_a_catalog_database_that_does_not_answer_is_unavailable_not_bad_input(tmp_path, monkeypatch):
    """No server on the address: exit 4 with the kind `unavailable` (a service is down, nothing
    was changed), the address named and its password not."""
    from tests.servers import free_port

    monkeypatch.setenv("ARCHIVE_DATABASE_URL", f"postgresql://archive:secret@127.0.0.1:{free_port()}/county")
    result = run_cli("--home", str(tmp_path / "home"), "init", "--fonds", "Z109", "--county", "花溪区",
                     "--township", "青岩镇", "--villages", "龙井村", "--json")
    assert result.exit_code == 4, result.output
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["kind"] == "unavailable", error
    assert "无法连接目录数据库 127.0.0.1:" in error["error"] and "secret" not in result.stderr
