"""Building blocks for the catalog's revisions (versions/), written once for SQLite and PostgreSQL.

Revisions use these instead of bare `op.create_table` / `op.add_column` for three reasons:
- a few column shapes differ by dialect (a timestamp default, a double, a key column's nullability);
- SQLite cannot add a foreign key with ALTER TABLE through Alembic, although it accepts
  `ADD COLUMN … REFERENCES`; `add_column` writes that statement itself on SQLite;
- a catalog made before migrations existed (archive.migrations.adopt) may already hold part of
  what a revision adds (intermediate versions of the old in-place upgrade). While such a catalog is
  adopted, and only then, these operations skip what is already there. Otherwise every operation
  runs as written and fails loudly on an unexpected schema.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import CreateColumn

# SQLite's REAL is an 8-byte double; PostgreSQL's REAL is 4 bytes, too few for money: use DOUBLE there
REAL = sa.REAL().with_variant(sa.Double(), "postgresql")
# file sizes: SQLite integers are 8 bytes already; PostgreSQL's INTEGER stops at 2 GiB
SIZE = sa.Integer().with_variant(sa.BigInteger(), "postgresql")

ADOPTING = "adopting_legacy_catalog"  # key in the Alembic config's attributes, set by archive.migrations


def dialect() -> str:
    return op.get_context().dialect.name


def adopting() -> bool:
    """True while a catalog made before migrations is brought up to date (see the module doc)."""
    config = op.get_context().config
    return bool(config is not None and config.attributes.get(ADOPTING))


def local_now(*, fraction: bool = False) -> sa.TextClause:
    """The server default 'local time now' as text: 2025-07-08 09:30:00, or with `fraction`
    2025-07-08T09:30:00.123 (the audit log's format)."""
    if dialect() == "postgresql":
        pattern = 'YYYY-MM-DD"T"HH24:MI:SS.MS' if fraction else "YYYY-MM-DD HH24:MI:SS"
        return sa.text(f"(to_char(localtimestamp, '{pattern}'))")
    if fraction:
        return sa.text("(strftime('%Y-%m-%dT%H:%M:%f','now','localtime'))")
    return sa.text("(datetime('now','localtime'))")


def key(name: str, type_: Any = sa.Text, *args: Any) -> sa.Column:
    """A primary-key column as the first released schema declared it (`id TEXT PRIMARY KEY`, without
    NOT NULL, so that adopted and new SQLite catalogs are the same; PostgreSQL makes keys NOT NULL)."""
    return sa.Column(name, type_, *args, primary_key=True, nullable=True, autoincrement=False)


def serial(name: str = "id") -> sa.Column:
    """`id INTEGER PRIMARY KEY AUTOINCREMENT` (ids never reused); SERIAL on PostgreSQL. The table
    needs `sqlite_autoincrement=True`."""
    return sa.Column(name, sa.Integer, primary_key=True, nullable=True, autoincrement=True)


def forward_only() -> None:
    """Revisions only go forward: a catalog is taken back by restoring the backup made before
    the upgrade (archive backup), never by undoing DDL on live data."""
    raise NotImplementedError("目录数据库只能升级，不能降级；请从升级前的备份恢复")


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def _columns(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}


def create_table(name: str, *columns: Any, **kw: Any) -> None:
    if adopting() and name in _tables():
        have = _columns(name)
        for column in columns:
            if isinstance(column, sa.Column) and column.name not in have:
                add_column(name, column.copy())
        return
    op.create_table(name, *columns, **kw)


def add_column(table: str, column: sa.Column) -> None:
    if adopting() and column.name in _columns(table):
        return
    if column.foreign_keys and dialect() == "sqlite":
        # Alembic would add the key as a separate constraint, which SQLite cannot do
        spec = str(CreateColumn(column).compile(dialect=op.get_context().dialect)).strip()
        (fk,) = column.foreign_keys
        target_table, target_column = fk.target_fullname.split(".")
        op.execute(f"ALTER TABLE {table} ADD COLUMN {spec} REFERENCES {target_table}({target_column})")
        return
    op.add_column(table, column)


def create_index(name: str, table: str, columns: list[str], *, unique: bool = False,
                 where: str | None = None) -> None:
    if adopting():
        for index in sa.inspect(op.get_bind()).get_indexes(table):
            if index["name"] == name or (unique and index.get("unique")
                                         and list(index["column_names"]) == columns):
                return
        if unique and _unique_constraint_on(table, columns):
            return
    kw: dict[str, Any] = {}
    if where:
        kw = {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}
    op.create_index(name, table, columns, unique=unique, **kw)


def _unique_constraint_on(table: str, columns: list[str]) -> bool:
    """An inline UNIQUE (`archival_code TEXT UNIQUE` in an older catalog) counts as the index."""
    return any(list(c["column_names"]) == columns
               for c in sa.inspect(op.get_bind()).get_unique_constraints(table))

