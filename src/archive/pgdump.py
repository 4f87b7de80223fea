"""The PostgreSQL catalog in a backup: pg_dump of the home's schema to a plain SQL file (readable
without the software), and its restore with psql into an empty deployment, in one transaction.

The full-text index tables (docs, meta; index/pg_backend.py) are left out: like the whoosh index
folder, the index is rebuilt after a restore (`archive reindex`). Both tools come from Debian's
postgresql-client (installed with postgresql)."""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

from archive.errors import ArchiveError, BadInputError, ConfigError

DUMP_NAME = "catalog.pgdump.sql"
INDEX_TABLES = ("docs", "meta")
TIMEOUT_S = 3600


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise ConfigError(f"找不到 PostgreSQL 的 {name} 程序，无法备份或恢复 PostgreSQL 中的目录数据库",
                          hint="请安装：apt-get install -y postgresql-client")
    return found


def _run(args: list[str], what: str) -> None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ArchiveError(f"{what}超过 {TIMEOUT_S} 秒仍未结束，已停止") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ArchiveError(f"{what}失败：" + " / ".join(detail), hint="请检查 PostgreSQL 是否在运行、地址和权限是否正确")


def dump_schema(url: str, schema: str, target: Path) -> None:
    """pg_dump of `schema` (without the index tables) to the plain SQL file `target`."""
    args = [_tool("pg_dump"), "--dbname", url, "--schema", schema, "--no-owner", "--no-privileges",
            "--format", "plain", "--file", str(target)]
    for table in INDEX_TABLES:
        args += ["--exclude-table", f"{schema}.{table}"]
    _run(args, "pg_dump 导出目录数据库")


def schema_tables(url: str, schema: str) -> int | None:
    """How many tables `schema` holds in the database at `url`; None when the schema does not exist."""
    from archive.pgconn import open_psycopg

    with open_psycopg(url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is None:
            return None
        return int(conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)).fetchone()[0])


def restore_schema(url: str, schema: str, dump: Path) -> None:
    """Load a dump into the database at `url`, in one transaction; refuses a schema that holds tables
    (an empty one, e.g. made by hand for the restore, is replaced)."""
    from archive.pgconn import open_psycopg, where

    tables = schema_tables(url, schema)
    if tables:
        raise BadInputError(f"PostgreSQL {where(url)} 中的模式 {schema} 已经有 {tables} 张表，不会恢复到非空的模式",
                            hint="恢复只能进入空的部署：请换一个数据库，或先确认那个模式可以删除")
    if tables == 0:
        with open_psycopg(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}"')  # empty: the dump creates it
    _run([_tool("psql"), "--dbname", url, "--no-psqlrc", "--quiet", "--single-transaction",
          "--set", "ON_ERROR_STOP=1", "--file", str(dump)], "psql 恢复目录数据库")
