"""The catalog's schema, as numbered Alembic revisions (versions/NNNN_*.py).

- `upgrade_catalog` brings a catalog to the newest revision in one BEGIN IMMEDIATE transaction:
  all revisions or none, one upgrader at a time (`archive upgrade`, and `init` on a new catalog).
- `require_current` is what opening a home does: one read of `alembic_version`, no lock, no
  change. A catalog behind the program is refused with the hint `archive upgrade`.
- A catalog made before migrations existed (no `alembic_version`; its tables were created and
  widened in place by older versions) is recognised: the newest revision whose tables, columns and
  triggers it all has is stamped, and the revisions after it run with `ddl.adopting()` set, so
  that what an intermediate version had already added is skipped.

Alembic is configured in code; no alembic.ini is read at run time (the one beside this file is
for developers, see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from archive.errors import BadInputError, SchemaError

MIGRATIONS_DIR = Path(__file__).resolve().parent
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")
_INTERNAL_TABLES = {"alembic_version", "sqlite_sequence"}
UPGRADE_HINT = "请先运行 archive upgrade 升级目录数据库（建议先用 archive backup 备份）"


@cache
def revisions() -> tuple[str, ...]:
    """The revision ids in order, from the file names (0001_first_release.py → 0001). A test checks
    that they form Alembic's one linear history."""
    return tuple(sorted(m[1] for p in VERSIONS_DIR.iterdir() if (m := _REVISION_FILE.match(p.name))))


def head_revision() -> str:
    return revisions()[-1]


def catalog_revision(conn: Any) -> str | None:
    """The revision recorded in the catalog; None for a catalog made before migrations (or empty)."""
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        if conn.execute("SELECT to_regclass('alembic_version')").fetchone()[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return row[0] if row else None


def require_current(conn: Any, catalog: Path | str) -> None:
    """Refuse a catalog whose schema is not this program's (read only: takes no lock)."""
    current, head = catalog_revision(conn), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaError(f"目录数据库 {catalog} 是旧版本程序建立的，还没有结构版本记录，需要先升级",
                          hint=UPGRADE_HINT)
    if current not in revisions():
        raise SchemaError(f"目录数据库 {catalog} 的结构版本 {current} 比本程序（{head}）新",
                          hint="请安装新版本的程序后再使用这个档案库")
    raise SchemaError(f"目录数据库 {catalog} 的结构版本 {current} 落后于本程序（{head}），需要先升级",
                      hint=UPGRADE_HINT)


@dataclass
class UpgradeResult:
    catalog: str
    before: str | None  # None: made before migrations (or new)
    after: str
    applied: list[str] = field(default_factory=list)
    adopted: str | None = None  # the revision a catalog made before migrations was recognised as

    @property
    def changed(self) -> bool:
        return bool(self.applied) or self.adopted is not None

    def to_json(self) -> dict[str, Any]:
        return {"catalog": self.catalog, "before": self.before, "after": self.after, "applied": self.applied,
                "adopted": self.adopted, "changed": self.changed}


def catalog_engine(path: str | Path, audit_key: bytes | None = None):
    """A SQLAlchemy engine on a catalog whose transactions begin with BEGIN IMMEDIATE (the write lock
    up front, as archive.catalog.transaction does), so DDL is transactional and upgraders queue.
    Its connections carry `audit_key` (archive.catalog.audit chains with it)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from archive.catalog import CatalogConnection

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False,
                               factory=CatalogConnection)
        conn.audit_key = audit_key
        return conn

    engine = sa.create_engine("sqlite://", poolclass=NullPool, creator=connect)

    @sa.event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def pg_engine(url: str, schema: str):
    """A SQLAlchemy engine on a PostgreSQL catalog schema (made if missing): its transactions
    take the schema's advisory lock first (archive.pgconn.schema_lock_key, the same lock as
    archive.catalog.transaction), so upgraders and writers queue as on SQLite."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from archive.pgconn import check_schema_name, open_psycopg, schema_lock_key

    check_schema_name(schema)

    def connect():
        conn = open_psycopg(url)
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        conn.commit()
        return conn

    engine = sa.create_engine("postgresql+psycopg://", poolclass=NullPool, creator=connect)

    @sa.event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (schema_lock_key(schema),))

    return engine


def _config(connection, *, adopting: bool = False):
    from alembic.config import Config

    from archive.migrations import ddl

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    config.attributes[ddl.ADOPTING] = adopting
    return config


def _current(connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _shape(connection) -> dict[str, frozenset[str]]:
    """Tables with their columns, and triggers (as 'trigger NAME' with no columns)."""
    rows = connection.exec_driver_sql("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger')")
    shape: dict[str, frozenset[str]] = {}
    for kind, name in rows.fetchall():
        if kind == "trigger":
            shape[f"trigger {name}"] = frozenset()
        elif name not in _INTERNAL_TABLES:
            columns = connection.exec_driver_sql(f'PRAGMA table_info("{name}")').fetchall()
            shape[name] = frozenset(c[1] for c in columns)
    return shape


@cache
def _revision_shapes() -> tuple[tuple[str, dict[str, frozenset[str]]], ...]:
    """What each revision's catalog holds, built once by running the revisions on an empty database."""
    from alembic import command

    engine = catalog_engine(":memory:")
    shapes = []
    with engine.begin() as connection:
        for revision in revisions():
            command.upgrade(_config(connection), revision)
            shapes.append((revision, _shape(connection)))
    engine.dispose()
    return tuple(shapes)


def _recognise(connection, catalog: Path) -> str:
    """The newest revision whose tables, columns and triggers a catalog made before migrations all has."""
    have = _shape(connection)
    matched = None
    for revision, shape in _revision_shapes():
        if all(name in have and columns <= have[name] for name, columns in shape.items()):
            matched = revision
    if matched is None:
        raise BadInputError(f"{catalog} 不是本程序的目录数据库（缺少必需的表或列），无法升级")
    return matched


def upgrade_catalog(path: Path | tuple[str, str], target: str = "head", *, audit_key: bytes | None = None,
                    record: Callable[[Any, UpgradeResult], None] | None = None,
                    require_empty: bool = False) -> UpgradeResult:
    """Bring the catalog at `path` (a SQLite file, or (url, schema) on PostgreSQL) to `target`
    (default the newest revision); see the module doc. When anything changed, `record` is called
    with the catalog connection inside the same transaction (the audit entry commits with the
    upgrade or not at all). `require_empty`: refuse a PostgreSQL schema that already has tables."""
    from alembic import command

    postgres = isinstance(path, tuple)
    engine = pg_engine(*path) if isinstance(path, tuple) else catalog_engine(path, audit_key)
    shown = f"{path[1]}@{_where(path[0])}" if isinstance(path, tuple) else str(path)
    try:
        with engine.begin() as connection:
            if postgres and require_empty:
                tables = connection.exec_driver_sql(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()").scalar()
                if tables:
                    raise BadInputError(f"PostgreSQL 模式 {shown} 中已经有 {tables} 张表，不会在其中建立新的目录数据库",
                                        hint="模式名默认是 archive_ + 全宗号（小写），这些表多半属于全宗号相同的另一个档案库："
                                             "请核对全宗号，或换一个数据库（ARCHIVE_DATABASE_URL），或先确认那些表可以删除")
            before = _current(connection)
            adopted = None
            if not postgres and before is None and _shape(connection):
                adopted = _recognise(connection, path)
                command.stamp(_config(connection), adopted)
            command.upgrade(_config(connection, adopting=adopted is not None), target)
            after = _current(connection)
            order = revisions()
            start = order.index(adopted or before) + 1 if (adopted or before) else 0
            result = UpgradeResult(shown, before, after, list(order[start: order.index(after) + 1]), adopted)
            if record is not None and result.changed:
                raw = connection.connection.driver_connection
                if postgres:
                    from archive.pgconn import PgConnection

                    raw = PgConnection.wrap(raw, path[1], audit_key)
                record(raw, result)
    finally:
        engine.dispose()
    return result


def _where(url: str) -> str:
    from archive.pgconn import where

    return where(url)


_NEW_CATALOG_SQL: dict[str, tuple[str, ...]] = {}  # head revision → the schema its revisions built


def create_catalog(path: Path) -> UpgradeResult:
    """A new catalog at the newest revision (`init`). The first one in a process is built by running
    the revisions; its schema (sqlite_master, verbatim) is kept and replayed for the next new
    catalogs of the process, which is ~20 times faster (a test checks both give the same schema)."""
    head = head_revision()
    statements = _NEW_CATALOG_SQL.get(head)
    if statements is None:
        result = upgrade_catalog(path)
        _NEW_CATALOG_SQL[head] = _schema_sql(path)
        return result
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            conn.execute("ROLLBACK")
            return upgrade_catalog(path)
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO alembic_version(version_num) VALUES (?)", (head,))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return UpgradeResult(str(path), None, head, list(revisions()))


def _schema_sql(path: Path) -> tuple[str, ...]:
    """Every CREATE statement of a catalog in creation order (sqlite_sequence and the automatic
    indexes of keys are made by SQLite itself)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name != 'sqlite_sequence' "
                            "ORDER BY rowid").fetchall()
    finally:
        conn.close()
    return tuple(row[0] for row in rows)
