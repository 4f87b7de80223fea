"""The catalog's schema as Alembic revisions: new homes, `archive upgrade`, catalogs made before
migrations (the DDL of older versions is kept in tests/legacy_schemas/), opening without writing,
and the revision counter kept by the catalog's triggers."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from conftest import run_cli

from archive import migrations
from archive.config import Config
from archive.errors import BadInputError, SchemaError
from archive.home import Home, init_home, upgrade_home

LEGACY = Path(__file__).parent / "legacy_schemas"
FIRST_RELEASE = LEGACY / "0001_first_release_16ff908.sql"
LAST_BEFORE_MIGRATIONS = LEGACY / "last_before_migrations_805c2a4.sql"
HEAD_ID = "520111198001011234"


def _config() -> Config:
    return Config(fonds="Z109", county="花溪区", township="青岩镇", villages=["龙井村", "思潜村"])


def _legacy_home(tmp_path: Path, ddl: Path, name: str = "home") -> Home:
    """A home whose catalog was made by an older version (no alembic_version table)."""
    root = init_home(tmp_path / name, _config()).root
    for leftover in root.glob("catalog.sqlite*"):
        leftover.unlink()
    conn = sqlite3.connect(root / "catalog.sqlite")
    conn.executescript(ddl.read_text(encoding="utf-8"))
    conn.close()
    return Home(root)


def _fill_first_release(path: Path) -> None:
    """Rows as the first release wrote them: a household with two members, an import, a numbered
    notice and two audit entries (without the hash chain, which came later)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO households(id, village, head_name, category, covered, amount, start_date, data_sha) "
                     "VALUES (?,?,?,?,?,?,?,?)", (HEAD_ID, "龙井村", "张三", "低保", 2, 612.5, "2024-03-01", "d1"))
        conn.executemany("INSERT INTO members(household_id, seq, name, relation, id_number) VALUES (?,?,?,?,?)",
                         [(HEAD_ID, 1, "张三", "户主", HEAD_ID), (HEAD_ID, 2, "李梅", "配偶", "520111198203040021")])
        conn.execute("INSERT INTO roster_imports(sha256, file_name, households, members) VALUES ('ab', '花名册.xlsx', 1, 2)")
        conn.execute("INSERT INTO sequences(code, year, last) VALUES ('不批', 2025, 7), ('__doc__', 0, 1)")
        conn.execute(
            "INSERT INTO documents(doc_id, type, title, household_id, village, doc_date, number, number_code, "
            "number_year, number_seq, request_key, params, context, body_text, pages, pdf_path) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            ("Z109-0000001", "refusal", "不予批准告知书", HEAD_ID, "龙井村", "2025-07-08", "青岩民不批〔2025〕7号",
             "不批", 2025, 7, "k1", "{}", "{}", "张三 家庭人均收入高于当地最低生活保障标准", 1, None))
        conn.execute("INSERT INTO audit(operator, action, target) VALUES ('王敏', 'init', '/old/home')")
        conn.execute("INSERT INTO audit(operator, action, target, detail) VALUES ('王敏', 'generate', 'Z109-0000001', '{}')")
    conn.close()


def _rows(path: Path, table: str, columns: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2").fetchall()
    finally:
        conn.close()


def _schema(path: Path, *, ordered: bool = True) -> dict:
    """Tables (columns with type, NOT NULL, default and key; foreign keys; indexes by their columns,
    uniqueness and condition) and triggers, as PRAGMA and sqlite_master report them."""
    conn = sqlite3.connect(path)
    out: dict = {}
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            columns = [(r[1], r[2], r[3], r[4], r[5]) for r in conn.execute(f'PRAGMA table_info("{table}")')]
            indexes = []
            for index in conn.execute(f'PRAGMA index_list("{table}")').fetchall():
                # an expression index's columns have no name (migration 0014): its SQL stands for them
                cols = tuple(r[2] if r[2] is not None else "<expression>"
                             for r in conn.execute(f'PRAGMA index_info("{index[1]}")'))
                if "<expression>" in cols:
                    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index[1],)).fetchone()[0]
                    cols += (sql.split(" ON ", 1)[1],)
                indexes.append((bool(index[2]), bool(index[4]), cols))
            out[table] = {
                "columns": columns if ordered else sorted(columns),
                "foreign_keys": sorted((r[2], r[3], r[4]) for r in conn.execute(f'PRAGMA foreign_key_list("{table}")')),
                "indexes": sorted(indexes),
            }
        out["triggers"] = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger' ORDER BY name"))
    finally:
        conn.close()
    return out


@pytest.fixture
def fresh_catalog(tmp_path) -> Path:
    return init_home(tmp_path / "fresh", _config()).catalog_path


def test_revisions_are_alembics_one_linear_history():
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations.MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [migrations.head_revision()]
    chain = [rev.revision for rev in script.walk_revisions("base", "heads")][::-1]
    assert tuple(chain) == migrations.revisions() and chain[0] == "0001"
    for number, revision in enumerate(chain, start=1):  # numbered without gaps, file name = revision id
        assert revision == f"{number:04d}"


def test_new_home_is_at_head_and_records_it(tmp_path):
    home = init_home(tmp_path / "h", _config())
    assert migrations.catalog_revision(home.db) == migrations.head_revision()
    row = home.db.execute("SELECT detail FROM audit WHERE action='init'").fetchone()
    assert json.loads(row["detail"])["schema"] == migrations.head_revision()
    home.close()


def test_new_catalogs_replayed_from_the_first_have_the_schema_the_revisions_build(tmp_path, monkeypatch):
    monkeypatch.setattr(migrations, "_NEW_CATALOG_SQL", {})
    built = tmp_path / "built.sqlite"
    replayed = tmp_path / "replayed.sqlite"
    migrations.create_catalog(built)  # runs the revisions, keeps the schema
    assert migrations.head_revision() in migrations._NEW_CATALOG_SQL
    migrations.create_catalog(replayed)  # replays it
    upgraded = tmp_path / "upgraded.sqlite"
    migrations.upgrade_catalog(upgraded)  # Alembic step by step, no replay
    sql = [_rows(p, "sqlite_master", "type, name, tbl_name, sql") for p in (built, replayed, upgraded)]
    assert sql[0] == sql[1] == sql[2]
    assert _rows(replayed, "alembic_version", "version_num, 1") == [(migrations.head_revision(), 1)]


def test_catalog_of_revision_0001_upgrades_to_the_schema_of_a_new_one(tmp_path, fresh_catalog):
    old = tmp_path / "old.sqlite"
    result = migrations.upgrade_catalog(old, "0001")
    assert result.after == "0001" and result.applied == ["0001"]
    _fill_first_release(old)
    result = migrations.upgrade_catalog(old)
    assert result.before == "0001" and result.after == migrations.head_revision()
    assert result.applied == list(migrations.revisions()[1:]) and result.adopted is None
    assert _rows(old, "sqlite_master", "type, name, sql") == _rows(fresh_catalog, "sqlite_master", "type, name, sql")
    assert _rows(old, "documents", "doc_id, number, rev, indexed_rev, origin") == [
        ("Z109-0000001", "青岩民不批〔2025〕7号", 1, 0, "generated")]


def test_first_released_catalog_is_recognised_upgraded_and_keeps_its_data(tmp_path, fresh_catalog):
    home = _legacy_home(tmp_path, FIRST_RELEASE)
    _fill_first_release(home.catalog_path)
    columns = {
        "households": "id, village, head_name, category, covered, amount, start_date, data_sha, created_at",
        "members": "household_id, seq, name, relation, id_number",
        "roster_imports": "sha256, file_name, imported_at, households, members",
        "sequences": "code, year, last",
        "documents": "doc_id, type, title, household_id, doc_date, number, number_seq, request_key, body_text, created_at",
        "audit": "id, at, operator, action, target, detail"}
    before = {table: _rows(home.catalog_path, table, names) for table, names in columns.items()}

    refused = run_cli("--home", str(home.root), "review", "list", "--json")
    assert refused.exit_code == 5
    assert json.loads(refused.stderr)["kind"] == "schema" and "archive upgrade" in refused.stderr

    upgraded = run_cli("--home", str(home.root), "upgrade", "--json")
    assert upgraded.exit_code == 0, upgraded.output
    report = json.loads(upgraded.stdout)
    assert report["before"] is None and report["adopted"] == "0001"
    assert report["after"] == migrations.head_revision() and report["applied"] == list(migrations.revisions()[1:])

    after = {table: _rows(home.catalog_path, table, names) for table, names in columns.items()}
    assert after["audit"][:2] == before["audit"] and after["audit"][2][3] == "catalog.upgrade"
    assert after | {"audit": before["audit"]} == before
    # the same tables, columns in the same order, keys, indexes and triggers as a new catalog
    assert _schema(home.catalog_path) == _schema(fresh_catalog)

    # the upgrade is in the audit log; the old documents are indexed and found
    upgrade_entry = Home(home.root).db.execute("SELECT operator, detail FROM audit WHERE action='catalog.upgrade'").fetchone()
    assert json.loads(upgrade_entry["detail"])["adopted"] == "0001"
    assert run_cli("--home", str(home.root), "reindex", "--json").exit_code == 0
    found = run_cli("--home", str(home.root), "search", "青岩民不批〔2025〕7号", "--json")
    assert found.exit_code == 0 and "Z109-0000001" in found.stdout

    again = run_cli("--home", str(home.root), "upgrade", "--json")
    assert json.loads(again.stdout)["changed"] is False


def _after(revision: str) -> list[str]:
    """The revisions after `revision`, to the head (later revisions are applied too)."""
    every = list(migrations.revisions())
    return every[every.index(revision) + 1:]


def test_last_catalog_before_migrations_is_stamped_and_gains_the_triggers(tmp_path, fresh_catalog, monkeypatch):
    from archive.catalog import HMAC_PREFIX
    from archive.filing.verify import verify

    home = _legacy_home(tmp_path, LAST_BEFORE_MIGRATIONS)
    key = tmp_path / "audit.key"
    key.write_bytes(b"k" * 32)
    monkeypatch.setenv("ARCHIVE_AUDIT_KEY_FILE", str(key))
    result = upgrade_home(home)
    assert result.adopted == "0009" and result.applied == _after("0009")
    # its columns were declared in another order; everything else is the same
    assert _schema(home.catalog_path, ordered=False) == _schema(fresh_catalog, ordered=False)
    # the upgrade's audit entry was written in the upgrade's transaction, chained with the home's key
    entry = home.db.execute("SELECT action, hash FROM audit").fetchall()
    assert [row["action"] for row in entry] == ["catalog.upgrade"] and entry[0]["hash"].startswith(HMAC_PREFIX)
    assert [f for f in verify(home, check_usability=False).findings if f.code.startswith("audit")] == []
    home.close()


def test_intermediate_catalog_is_completed_without_adding_twice(tmp_path, fresh_catalog):
    """A version that had the filing round but not yet the outputs table (as on branch commit
    61f452b): recognised as the last revision it wholly has; the later revisions skip what it had."""
    home = _legacy_home(tmp_path, LAST_BEFORE_MIGRATIONS)
    home.catalog_path.unlink()
    conn = sqlite3.connect(home.catalog_path)
    # without its comments, which SQLite's DROP COLUMN cannot always edit around
    conn.executescript(re.sub(r"--[^\n]*", "", LAST_BEFORE_MIGRATIONS.read_text(encoding="utf-8")))
    for table in ("outputs", "users", "api_tokens", "household_keys", "case_events", "roster_differences"):
        conn.execute(f"DROP TABLE {table}")
    for table, column in (("documents", "void_pdf_path"), ("documents", "void_docx_path"), ("scans", "attempts")):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.close()
    result = upgrade_home(home)
    assert result.adopted == "0005" and result.applied == _after("0005")
    assert _schema(home.catalog_path, ordered=False) == _schema(fresh_catalog, ordered=False)
    home.close()


def test_a_database_that_is_not_a_catalog_is_refused_unchanged(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(BadInputError, match="不是本程序的目录数据库"):
        migrations.upgrade_catalog(path)
    assert path.read_bytes() == before


def test_catalog_newer_than_the_program_is_refused(tmp_path):
    home = init_home(tmp_path / "h", _config())
    with home.db:
        home.db.execute("UPDATE alembic_version SET version_num='9999'")
    home.close()
    with pytest.raises(SchemaError, match="比本程序.*新"):
        _ = Home(home.root).db


def test_opening_an_outdated_catalog_changes_nothing(tmp_path):
    home = _legacy_home(tmp_path, FIRST_RELEASE)
    _fill_first_release(home.catalog_path)
    before = _rows(home.catalog_path, "sqlite_master", "type, name, sql")
    with pytest.raises(SchemaError, match="archive upgrade"):
        _ = home.db
    assert _rows(home.catalog_path, "sqlite_master", "type, name, sql") == before


def test_opening_a_home_takes_no_write_lock(tmp_path):
    """Another process holds the write lock (a long file-month, say): reading still works at once."""
    home = init_home(tmp_path / "h", _config())
    home.close()
    writer = sqlite3.connect(home.catalog_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    seen: list = []

    def read() -> None:
        reader = Home(home.root)
        seen.append(reader.db.execute("SELECT count(*) FROM documents").fetchone()[0])
        reader.close()

    thread = threading.Thread(target=read, daemon=True)
    try:
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive() and seen == [0]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        thread.join()


def _add_document(conn: sqlite3.Connection, doc_id: str) -> None:
    conn.execute("INSERT INTO documents(doc_id, type, title, household_id, village, doc_date, request_key, "
                 "params, context) VALUES (?, 'refusal', '不予批准告知书', ?, '龙井村', '2025-07-08', ?, '{}', '{}')",
                 (doc_id, HEAD_ID, doc_id))


def test_rev_is_bumped_by_the_catalog_not_by_each_statement(tmp_path):
    conn = sqlite3.connect(init_home(tmp_path / "h", _config()).catalog_path, isolation_level=None)
    conn.execute("INSERT INTO households(id, village, head_name, category, covered, amount, data_sha) "
                 "VALUES (?, '龙井村', '张三', '低保', 1, 600, 'x')", (HEAD_ID,))
    _add_document(conn, "Z109-0000001")
    _add_document(conn, "Z109-0000002")

    def revs() -> list[tuple]:
        return conn.execute("SELECT doc_id, rev, indexed_rev FROM documents ORDER BY doc_id").fetchall()

    assert revs() == [("Z109-0000001", 1, 0), ("Z109-0000002", 1, 0)]
    conn.execute("UPDATE documents SET status='voided', void_reason='写错' WHERE doc_id='Z109-0000001'")
    assert revs() == [("Z109-0000001", 2, 0), ("Z109-0000002", 1, 0)]  # one change, one bump
    conn.execute("UPDATE documents SET indexed_rev = rev")  # the index's bookkeeping is no change
    assert revs() == [("Z109-0000001", 2, 2), ("Z109-0000002", 1, 1)]
    conn.execute("UPDATE households SET head_name='张叁' WHERE id=?", (HEAD_ID,))  # indexed with its documents
    assert revs() == [("Z109-0000001", 3, 2), ("Z109-0000002", 2, 1)]
    conn.execute("UPDATE documents SET rev = rev + 1 WHERE doc_id='Z109-0000002'")  # an explicit bump counts once
    assert revs() == [("Z109-0000001", 3, 2), ("Z109-0000002", 3, 1)]
    # members' names and ID numbers are indexed too: a member added, renamed or removed counts
    conn.execute("INSERT INTO members(household_id, seq, name, relation, id_number) VALUES (?, 2, '李梅', '配偶', ?)",
                 (HEAD_ID, "520111198203040021"))
    conn.execute("UPDATE members SET name='李玫' WHERE seq=2")
    conn.execute("DELETE FROM members WHERE seq=2")
    assert revs() == [("Z109-0000001", 6, 2), ("Z109-0000002", 6, 1)]  # one bump for each change
    conn.close()


def test_no_statement_bumps_rev_by_hand():
    source = Path(__file__).resolve().parents[1] / "src" / "archive"
    offenders = [str(p) for p in source.rglob("*.py") if "migrations" not in p.parts
                 and any(s in p.read_text(encoding="utf-8") for s in ("rev=rev+1", "rev = rev + 1", "rev = rev+1"))]
    assert offenders == []


def test_revisions_render_for_postgresql():
    """The county deployment runs the same revisions on PostgreSQL: they must at least compile
    for it (offline SQL), with its own trigger and types."""
    import io

    from alembic import command

    buffer = io.StringIO()
    config = AlembicConfig(output_buffer=buffer)
    config.set_main_option("script_location", str(migrations.MIGRATIONS_DIR))
    config.cmd_opts = type("Opts", (), {"x": ["dialect=postgresql"]})()
    command.upgrade(config, "head", sql=True)
    sql = buffer.getvalue()
    assert "CREATE TABLE households" in sql and "id SERIAL" in sql and "DOUBLE PRECISION" in sql
    assert "to_char(localtimestamp" in sql and "EXECUTE FUNCTION documents_bump_rev()" in sql
    assert "datetime(" not in sql and "AUTOINCREMENT" not in sql


def test_outdated_home_can_be_backed_up_before_the_upgrade_and_restored(tmp_path):
    """The hint says: back up, then upgrade. Both must work on a catalog behind the program."""
    from archive.backup import backup, restore

    home = _legacy_home(tmp_path, FIRST_RELEASE)
    _fill_first_release(home.catalog_path)
    saved = backup(home, tmp_path / "saved")
    assert saved.schema_outdated and saved.files >= 2
    assert _rows(home.catalog_path, "audit", "action, target") == [("generate", "Z109-0000001"), ("init", "/old/home")]
    restored = restore(tmp_path / "saved", tmp_path / "restored")
    assert restored.schema_outdated
    result = upgrade_home(Home(tmp_path / "restored"))
    assert result.adopted == "0001" and result.after == migrations.head_revision()
    assert _rows(tmp_path / "restored" / "catalog.sqlite", "documents", "doc_id, number") == [
        ("Z109-0000001", "青岩民不批〔2025〕7号")]


def test_revisions_run_on_postgresql_with_the_same_rev_rules(postgres_url):
    """The county deployment: the same revisions on a real PostgreSQL server (tests/servers.py)."""
    import sqlalchemy as sa
    from alembic import command

    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    with engine.begin() as conn:
        command.upgrade(migrations._config(conn), "head")
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == migrations.head_revision()
        conn.exec_driver_sql("INSERT INTO households(id, village, head_name, category, covered, amount, data_sha) "
                             f"VALUES ('{HEAD_ID}', '龙井村', '张三', '低保', 1, 612.35, 'x')")
        for doc_id in ("Z109-0000001", "Z109-0000002"):
            conn.exec_driver_sql("INSERT INTO documents(doc_id, type, title, household_id, doc_date, request_key, params, "
                                 f"context) VALUES ('{doc_id}', 'refusal', 't', '{HEAD_ID}', '2025-07-08', '{doc_id}', '{{}}', '{{}}')")
        conn.exec_driver_sql("UPDATE documents SET status='voided' WHERE doc_id='Z109-0000001'")
        conn.exec_driver_sql("UPDATE documents SET indexed_rev = rev")
        conn.exec_driver_sql("UPDATE households SET head_name='张叁'")
        conn.exec_driver_sql("INSERT INTO members(household_id, seq, name, relation, id_number) "
                             f"VALUES ('{HEAD_ID}', 2, '李梅', '配偶', '520111198203040021')")
        conn.exec_driver_sql("UPDATE members SET name='李玫' WHERE seq=2")
        conn.exec_driver_sql("DELETE FROM members WHERE seq=2")
        rows = conn.exec_driver_sql("SELECT doc_id, rev, indexed_rev, origin FROM documents ORDER BY 1").fetchall()
        assert [tuple(r) for r in rows] == [("Z109-0000001", 6, 2, "generated"), ("Z109-0000002", 5, 1, "generated")]
        assert conn.exec_driver_sql("SELECT amount FROM households").scalar() == 612.35  # a double, not float4
    engine.dispose()
