"""`archive migrate-to URL`: move a township home's SQLite catalog into PostgreSQL, verifiably.

1. The SQLite catalog is locked for writing (BEGIN IMMEDIATE) for the whole move: nothing changes
   under it. It must be at this program's schema revision.
2. In one PostgreSQL transaction: the target schema (archive_<全宗号> unless given) is refused if it
   holds any table; the Alembic revisions build it; every table is copied row by row (user triggers
   off while copying, so that e.g. members' rev trigger does not touch the copied documents);
   SERIAL sequences are set past the largest id (and past SQLite's AUTOINCREMENT high-water mark:
   ids are never reused); then each table's row count and digest are computed on both sides.
   Any difference refuses the move and rolls the copy back: nothing is half-moved.
3. The digest of a table: SHA-256 over its rows in primary-key order (text keys in byte order on
   both sides), each row the canonical JSON of its values by sorted column name.
4. After the commit: the audit chain is checked on the new catalog, config.yaml gets
   `database_url` (and `database_schema` when not the default), the old catalog.sqlite is renamed
   (catalog.sqlite.migrated-YYYYmmdd-HHMMSS beside config.yaml, kept, not deleted; its SHA-256 in
   the audit entry), and the report (counts and digests before and after) is written to the home's
   reports/ and registered as an output.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from archive import catalog, files, migrations
from archive.errors import ArchiveError, BadInputError, UsageError
from archive.home import CATALOG_NAME, Home, default_schema

REPORT_FOLDER = "reports"
_SKIPPED = {"alembic_version", "sqlite_sequence"}


@dataclass
class TableCheck:
    table: str
    rows_before: int
    rows_after: int
    digest_before: str
    digest_after: str

    @property
    def same(self) -> bool:
        return self.rows_before == self.rows_after and self.digest_before == self.digest_after


@dataclass
class MoveReport:
    url: str
    schema: str
    revision: str
    tables: list[TableCheck] = field(default_factory=list)
    old_catalog: str = ""
    report: str = ""
    audit_rows: int = 0

    @property
    def ok(self) -> bool:
        return all(t.same for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "database": self.url, "schema": self.schema, "revision": self.revision,
                "tables": [asdict(t) | {"same": t.same} for t in self.tables], "old_catalog": self.old_catalog,
                "report": self.report, "audit_rows": self.audit_rows}


def _canonical(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"hex": bytes(value).hex()}
    return value


class _Digest:
    def __init__(self, columns: list[str]) -> None:
        self.order = sorted(range(len(columns)), key=lambda i: columns[i])
        self.hash = hashlib.sha256()
        self.rows = 0

    def add(self, row: Any) -> None:
        values = [_canonical(row[i]) for i in self.order]
        self.hash.update(json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
        self.rows += 1


def _is_fts5_index(table: str) -> bool:
    """The SQLite FTS5 index (index/fts5_backend.py) lives in the catalog's database but is derived,
    not catalog: it is not moved (the index is rebuilt in its new place, as after a restore)."""
    return table in ("search_docs", "search_meta") or table.startswith("search_fts")


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").fetchall()
    return [r[0] for r in rows if r[0] not in _SKIPPED and not r[0].startswith("sqlite_") and not _is_fts5_index(r[0])]


def _sqlite_columns(conn: sqlite3.Connection, table: str) -> tuple[list[str], list[str]]:
    """Columns, and the primary key's columns in key order (all columns when there is no key)."""
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    columns = [r[1] for r in info]
    key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    return columns, key or columns


def _order(key: list[str], text: set[str], postgres: bool) -> str:
    return ", ".join(f'"{c}" COLLATE "C"' if postgres and c in text else f'"{c}"' for c in key)


def _sqlite_digest(conn: sqlite3.Connection, table: str, columns: list[str], key: list[str]) -> _Digest:
    digest = _Digest(columns)
    names = ", ".join(f'"{c}"' for c in columns)
    for row in conn.execute(f'SELECT {names} FROM "{table}" ORDER BY {_order(key, set(), False)}'):
        digest.add(row)
    return digest


def _pg_digest(cur: Any, table: str, columns: list[str], key: list[str], text: set[str]) -> _Digest:
    digest = _Digest(columns)
    names = ", ".join(f'"{c}"' for c in columns)
    cur.execute(f'SELECT {names} FROM "{table}" ORDER BY {_order(key, text, True)}')
    while batch := cur.fetchmany(2000):
        for row in batch:
            digest.add(row)
    return digest


def _pg_text_columns(cur: Any, table: str) -> set[str]:
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s AND data_type IN ('text', 'character varying')", (table,))
    return {r[0] for r in cur.fetchall()}


def _copy_order(cur: Any, tables: list[str]) -> list[str]:
    """Tables so that a table comes after those its foreign keys point to."""
    cur.execute("""SELECT tc.table_name, ccu.table_name FROM information_schema.table_constraints tc
                   JOIN information_schema.constraint_column_usage ccu
                     ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
                   WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()""")
    needs: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in cur.fetchall():
        if child in needs and parent != child:
            needs[child].add(parent)
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, deps in needs.items() if not deps - set(ordered))
        if not ready:  # a cycle: cannot happen with this schema; copy the rest in name order
            ready = sorted(needs)
        for t in ready:
            ordered.append(t)
            del needs[t]
    return ordered


def move_catalog(home: Home, url: str, schema: str | None = None, *,
                 _tamper: Any = None) -> MoveReport:
    """Move the home's SQLite catalog to PostgreSQL at `url` (see the module doc). `_tamper`
    (tests only) is called with the PostgreSQL cursor after the copy, before the digests."""
    from archive.pgconn import check_schema_name, where

    if home.catalog_target is not None:
        raise UsageError(f"档案库 {home.root} 的目录数据库已经在 PostgreSQL 中（{home.catalog_shown}）",
                         hint="migrate-to 只迁移档案库中的 catalog.sqlite")
    if not home.catalog_path.exists():
        raise BadInputError(f"档案库 {home.root} 中没有目录数据库（{CATALOG_NAME}）")
    schema = check_schema_name((schema or "").strip() or default_schema(home.config.fonds))
    source = home.db  # checks the revision: a catalog behind this program is upgraded first
    revision = migrations.head_revision()
    shown = f"{where(url)} 模式 {schema}"
    report = MoveReport(where(url), schema, revision)

    source.execute("BEGIN IMMEDIATE")  # no writer changes the catalog while it moves
    try:
        engine = migrations.pg_engine(url, schema)  # its transactions take the schema's advisory lock
        try:
            with engine.begin() as connection:
                _copy(source, connection, schema, report, shown, _tamper)
        except _Mismatch:
            pass  # rolled back; reported below
        finally:
            engine.dispose()
        if not report.ok:
            changed = "、".join(t.table for t in report.tables if not t.same)
            raise ArchiveError(f"迁移核对不一致（{changed}）：PostgreSQL 中的行数或摘要与原目录数据库不同，已撤销，"
                               "原目录数据库未改动", hint="请检查 PostgreSQL 服务器后重试；详情见 --json 输出")
    finally:
        source.execute("ROLLBACK")
    home.close()
    return _finish(home, url, schema, report)


def _copy(source: Any, connection: Any, schema: str, report: MoveReport, shown: str, tamper: Any) -> None:
    """Inside the SQLAlchemy connection's transaction (search_path is the schema, lock taken)."""
    from alembic import command

    cur = connection.connection.driver_connection.cursor()
    cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,))
    if cur.fetchone()[0]:
        raise BadInputError(f"PostgreSQL {shown} 中已经有表，不会迁移到非空的模式",
                            hint="请换一个空的模式（--schema），或先确认那些表可以删除")
    command.upgrade(migrations._config(connection), "head")
    tables = _sqlite_tables(source)
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    target_tables = {r[0] for r in cur.fetchall()} - _SKIPPED
    if set(tables) != target_tables:
        raise ArchiveError(f"原目录数据库的表（{len(tables)} 张）与新建的 PostgreSQL 结构（{len(target_tables)} 张）不同，"
                           "不能迁移", hint="请先运行 archive upgrade")
    high_water = dict(source.execute("SELECT name, seq FROM sqlite_sequence").fetchall()) \
        if source.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'").fetchone() else {}
    shapes = {t: _sqlite_columns(source, t) for t in tables}
    before = {t: _sqlite_digest(source, t, *shapes[t]) for t in tables}
    for table in _copy_order(cur, tables):
        columns, _key = shapes[table]
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        cur.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        rows = source.execute(f'SELECT {names} FROM "{table}"')
        while batch := rows.fetchmany(1000):
            cur.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', [tuple(r) for r in batch])
        cur.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
    _reset_sequences(cur, high_water)
    if tamper is not None:
        tamper(cur)
    for table in tables:
        columns, key = shapes[table]
        after = _pg_digest(cur, table, columns, key, _pg_text_columns(cur, table))
        report.tables.append(TableCheck(table, before[table].rows, after.rows,
                                        before[table].hash.hexdigest(), after.hash.hexdigest()))
    if not report.ok:
        raise _Mismatch()


class _Mismatch(Exception):
    """Raised inside the PostgreSQL transaction to roll the copy back (caught in _copy's caller)."""


def _reset_sequences(cur: Any, high_water: dict[str, int]) -> None:
    cur.execute("""SELECT table_name, column_name FROM information_schema.columns
                   WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%%'""")
    for table, column in cur.fetchall():
        cur.execute(f'SELECT coalesce(max("{column}"), 0) FROM "{table}"')
        top = max(int(cur.fetchone()[0]), int(high_water.get(table) or 0))
        cur.execute("SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
                    (f'"{table}"', column, max(top, 1), top > 0))


def _finish(home: Home, url: str, schema: str, report: MoveReport) -> MoveReport:
    from archive.config import update_config
    from archive.filing.verify import Context, VerifyResult, check_audit_chain
    from archive.home import _without_password
    from archive.sealing import register_output

    def change(document: Any) -> None:
        document["database_url"] = _without_password(url)
        if schema != default_schema(home.config.fonds):
            document["database_schema"] = schema

    config, _ = update_config(home.config_path, change)
    home.__dict__["config"] = config
    home.__dict__.pop("db", None)
    moved = Home(home.root)
    try:
        result = VerifyResult()
        check_audit_chain(Context(moved, result))
        report.audit_rows = result.audit_rows
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        old = home.catalog_path.with_name(f"{CATALOG_NAME}.migrated-{stamp}")
        plain = sqlite3.connect(home.catalog_path)
        plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        plain.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        plain.close()
        home.catalog_path.rename(old)
        for suffix in ("-wal", "-shm"):
            home.catalog_path.with_name(CATALOG_NAME + suffix).unlink(missing_ok=True)
        report.old_catalog = old.name
        folder = files.ensure_dir(home.root / REPORT_FOLDER)
        path = folder / f"迁移到PostgreSQL-{stamp}.json"
        files.write_text_atomic(path, json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n")
        report.report = str(path.relative_to(home.root))
        with catalog.transaction(moved.db):
            register_output(moved.db, moved.root, path, "migration-report", moved.operator)
            catalog.audit(moved.db, moved.operator, "catalog.migrate", report.report,
                          {"schema": schema, "database": report.url, "old_catalog": old.name,
                           "old_catalog_sha256": catalog.file_digest(old),
                           "tables": {t.table: [t.rows_after, t.digest_after] for t in report.tables},
                           "audit_chain": "ok" if result.ok else [f.problem for f in result.findings]})
        if not result.ok:
            raise ArchiveError("迁移后操作日志链核对不通过：" + "；".join(f.problem for f in result.findings[:3]),
                               hint="请运行 archive verify 查看详情")
    finally:
        moved.close()
    return report
