"""`archive township join PATH`: bring an existing township home into a county home, verifiably.

1. Checks before anything is copied: PATH is a township home (not a county home, not inside the
   county), its 县(区) is the county's, and neither its name nor its 全宗号 (case aside) nor its
   PostgreSQL schema is already a township's of the county.
2. With the township's catalog locked for writing (BEGIN IMMEDIATE, or the schema's advisory lock)
   the home is copied into a staging folder beside townships/: its catalog through SQLite's backup
   API, every file (as `archive backup` chooses them: not the index, locks or staging, which are
   derived or transient; private keys included: this is a move, not a copy for a USB drive) with
   its SHA-256 taken while copying. Nothing in the original changes.
3. The copy is checked: every file's digest again, each catalog table's row count and digest (as
   `migrate-to` computes them, archive/catalog_move.py) against the original. Any difference
   removes the staging folder and stops: the original is as it was.
4. Only then the staging folder becomes townships/<name>/ and the county's config.yaml lists it
   (under the county's config lock). When the county's townships keep their catalogs in
   PostgreSQL (or `database_url` is given), the joined SQLite catalog moves there with
   `migrate-to` (its own verified move, rolled back on any difference).
5. The original folder is renamed PATH.joined-YYYYmmdd-HHMMSS (kept, not deleted) so that nobody
   keeps working in it; the report (counts and digests before and after) is written to the joined
   home's reports/ and registered; both the township's and the county's audit logs record the join.
   The township's web accounts (and API tokens) become the county's, scoped to the township (a
   county's accounts live in its own catalog, archive/users.py); a user name the county already
   has is refused in step 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from archive import catalog, files
from archive.backup import _copy_hashed, _home_files, _snapshot_catalog
from archive.catalog_move import TableCheck, _sqlite_columns, _sqlite_digest, _sqlite_tables
from archive.config import config_lock
from archive.county import (
    TOWNSHIPS_DIR,
    CountyHome,
    check_township_name,
    is_county_root,
    save_county_config,
)
from archive.errors import (
    ArchiveError,
    BadInputError,
    ConflictError,
    HomeExistsError,
    NotFoundError,
)
from archive.home import CATALOG_NAME, CONFIG_NAME, Home

REPORT_FOLDER = "reports"


@dataclass
class JoinReport:
    county: str
    township: str
    fonds: str
    source: str
    home: str = ""
    files: int = 0
    bytes: int = 0
    manifest_sha256: str = ""
    tables: list[TableCheck] = field(default_factory=list)
    catalog: str = "sqlite"           # where the joined township's catalog is now
    migrated: dict[str, Any] | None = None  # migrate-to's report when the catalog moved to PostgreSQL
    accounts: list[str] = field(default_factory=list)  # the township's web accounts, now the county's
    skipped: list[str] = field(default_factory=list)  # links and special files, never followed
    kept_as: str = ""                 # the original folder, renamed
    report: str = ""

    @property
    def ok(self) -> bool:
        return all(t.same for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tables"] = [asdict(t) | {"same": t.same} for t in self.tables]
        return {"ok": self.ok, **data}


def _table_digests(conn: Any) -> dict[str, tuple[int, str]]:
    out = {}
    for table in _sqlite_tables(conn):
        digest = _sqlite_digest(conn, table, *_sqlite_columns(conn, table))
        out[table] = (digest.rows, digest.hash.hexdigest())
    return out


def _pg_key(target: tuple[str, str] | None) -> tuple[str, str] | None:
    if target is None:
        return None
    from archive.pgconn import where

    return where(target[0]), target[1]


def _county_database(county: CountyHome, skip: str = "") -> str:
    """The PostgreSQL database the county's townships keep their catalogs in ('' when none does,
    or when they use several)."""
    from archive.home import _without_password

    urls = set()
    for name, home in county.township_homes():
        if name == skip:
            home.close()
            continue
        try:
            target = home.catalog_target
        finally:
            home.close()
        if target is not None:
            urls.add(_without_password(target[0]))
    return urls.pop() if len(urls) == 1 else ""


def _check(county: CountyHome, source: Path, home: Home) -> str:
    """The township's name in the county, after every refusal that applies."""
    if not (source / CONFIG_NAME).is_file():
        raise NotFoundError(f"{source} 不是档案库（没有 {CONFIG_NAME}）")
    if is_county_root(source):
        raise BadInputError(f"{source} 是一个县级档案库，不能作为乡镇并入")
    real, root = source.resolve(), county.root.resolve()
    if real == root or root in real.parents or real in root.parents:
        raise BadInputError(f"{source} 与县级档案库 {county.root} 互相包含，不能并入",
                            hint="请指定县级档案库之外的乡镇档案库目录")
    config = home.config
    name = check_township_name(config.township)
    if config.county.strip() != county.county:
        raise ConflictError(f"乡镇档案库 {source} 属于「{config.county}」，不是{county.county}的，不能并入",
                            hint="请确认县级档案库和乡镇档案库是否选对")
    if name in county.townships:
        raise ConflictError(f"{county.county}已有乡镇「{name}」，不能再并入一个同名的乡镇档案库",
                            hint="请先用 archive township list 查看现有乡镇")
    mine = _pg_key(home.catalog_target)
    for other, other_home in county.township_homes():
        try:
            if other_home.config.fonds.upper() == config.fonds.upper():
                raise ConflictError(f"全宗号 {config.fonds} 已由{other}使用；每个乡镇有自己的全宗号，不能并入",
                                    hint="全宗号由档案馆编定，请与档案馆核对")
            if mine is not None and _pg_key(other_home.catalog_target) == mine:
                raise ConflictError(f"{other}的目录数据库与要并入的乡镇档案库是同一个（PostgreSQL 模式 {mine[1]}）")
        finally:
            other_home.close()
    mine_users = {r[0] for r in home.db.execute("SELECT name FROM users")}
    taken = sorted(mine_users & {r[0] for r in county.db.execute("SELECT name FROM users")})
    if taken:
        raise ConflictError(f"用户名{'、'.join(taken)}在{county.county}已有账号（县级档案库的用户名全县唯一），不能并入",
                            hint="请先在原乡镇档案库中停用这些账号，或请县里改用别的用户名")
    target = county.township_root(name)
    if target.exists() and (target.is_symlink() or not target.is_dir() or any(target.iterdir())):
        raise HomeExistsError(f"{target} 已存在且不是空目录，不会覆盖")
    return name


def join_township(county_root: Path, source: Path, database_url: str | None = None) -> JoinReport:
    """Bring the township home at `source` into the county home at `county_root` (see the module doc)."""
    if not is_county_root(county_root):
        raise NotFoundError(f"{county_root} 不是县级档案库（config.yaml 中没有 townships）",
                            hint="先用 archive --home 县级目录 township add … 建立县级档案库")
    source = source.expanduser().absolute()
    county = CountyHome(county_root)
    original = Home(source)
    try:
        with config_lock(county.config_path):
            county.__dict__.pop("config", None)
            name = _check(county, source, original)
            config = original.config
            report = JoinReport(county.county, name, config.fonds, str(source))
            target = county.township_root(name)
            staging = county.townships_dir / f".joining-{config.fonds}-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            try:
                _copy_verified(original, staging, report)
                if target.exists():
                    target.rmdir()  # empty, checked above
                os.replace(staging, target)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            original.close()
            county_config = county.config
            county_config.townships.append(name)
            save_county_config(county_config, county.config_path)
        report.home = str(target)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = source.with_name(f"{source.name}.joined-{stamp}")
        try:  # nobody keeps working in the original
            os.replace(source, kept)
            report.kept_as = str(kept)
        except OSError as exc:
            report.skipped.append(f"原目录未能改名（{exc.strerror}），请勿再在 {source} 中工作")
        joined = Home(target)
        try:
            report.catalog = "sqlite" if joined.catalog_target is None else joined.catalog_shown
            _record(joined, county, report, stamp)
        finally:
            joined.close()
        url = (database_url or "").strip() or _county_database(county, skip=name)
        if report.catalog == "sqlite" and url:
            from archive.catalog_move import move_catalog

            joined = Home(target)
            try:
                report.migrated = move_catalog(joined, url).to_json()
                report.catalog = Home(target).catalog_shown
            except ArchiveError as exc:
                raise ArchiveError(f"乡镇「{name}」已并入{county.county}（目录数据库仍是 SQLite），但迁移到 PostgreSQL 未完成：{exc}",
                                   hint=f"排除问题后运行：archive --township {name} migrate-to 数据库地址") from exc
            finally:
                joined.close()
        return report
    finally:
        original.close()
        county.close()


def _copy_verified(home: Home, staging: Path, report: JoinReport) -> None:
    files.ensure_dir(staging)
    os.chmod(staging, files.PRIVATE_DIR)
    conn = home.db
    pg = home.catalog_target is not None
    if pg:
        conn.begin_locked()  # type: ignore[attr-defined]
    else:
        conn.execute("BEGIN IMMEDIATE")  # no writer changes the township while it is copied
    manifest: list[tuple[str, str]] = []
    try:
        if not pg:
            before = _table_digests(conn)
            _snapshot_catalog(home, staging / CATALOG_NAME)
        relatives, report.skipped = _home_files(home.root)
        _copy_folders(home.root, staging)  # the empty ones too (the scans/ inbox, …)
        for relative in relatives:
            digest, size = _copy_hashed(home.root / relative, staging / relative)
            manifest.append((digest, str(relative)))
            report.bytes += size
    finally:
        conn.execute("ROLLBACK")
    changed = [name for digest, name in manifest if catalog.file_digest(staging / name) != digest]
    if changed:
        raise ArchiveError("并入乡镇时复制的文件与原文件的摘要不符，已停止，原乡镇档案库未改动：" + "、".join(changed[:10]))
    if not pg:
        with sqlite3.connect(staging / CATALOG_NAME) as copy:
            after = _table_digests(copy)
        copy.close()
        report.tables = [TableCheck(t, before[t][0], after.get(t, (0, ""))[0], before[t][1], after.get(t, (0, ""))[1])
                         for t in sorted(before)]
        if set(after) != set(before) or not report.ok:
            different = "、".join(t.table for t in report.tables if not t.same) or "表的数目"
            raise ArchiveError(f"并入乡镇时复制的目录数据库与原目录数据库不一致（{different}），已停止，原乡镇档案库未改动")
    report.files = len(manifest)
    text = "".join(f"{d}  {n}\n" for d, n in sorted(manifest, key=lambda m: m[1]))
    report.manifest_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()


def _copy_folders(root: Path, staging: Path) -> None:
    from archive.backup import SKIPPED_TOP

    for folder, dirs, _ in os.walk(root):
        here = Path(folder)
        if here == root:
            dirs[:] = [d for d in dirs if d not in SKIPPED_TOP]
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
        for name in dirs:
            files.ensure_dir(staging / (here / name).relative_to(root))


def _record(joined: Home, county: CountyHome, report: JoinReport, stamp: str) -> None:
    from archive.sealing import register_output

    # the township's web accounts: a county's are in the county catalog (archive.users), scoped to it
    users = [dict(r) for r in joined.db.execute(
        "SELECT name, role, password_hash, disabled, created_at, last_login FROM users ORDER BY name")]
    tokens = [dict(r) for r in joined.db.execute(
        "SELECT token_sha256, user_name, created_at, last_used FROM api_tokens ORDER BY token_sha256")]
    report.accounts = [u["name"] for u in users]
    folder = files.ensure_dir(joined.root / REPORT_FOLDER)
    path = folder / f"并入{county.county}-{stamp}.json"
    files.write_text_atomic(path, json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n")
    report.report = str(path.relative_to(joined.root))
    detail = {"county": county.county, "source": report.source, "kept_as": report.kept_as, "files": report.files,
              "manifest_sha256": report.manifest_sha256, "catalog": report.catalog,
              "tables": {t.table: [t.rows_after, t.digest_after] for t in report.tables}}
    with catalog.transaction(joined.db):
        register_output(joined.db, joined.root, path, "join-report", joined.operator)
        catalog.audit(joined.db, joined.operator, "township.join", report.report, detail)
    with catalog.transaction(county.db):
        for user in users:
            county.db.execute("INSERT INTO users(name, role, password_hash, disabled, created_at, last_login, township) "
                              "VALUES (?,?,?,?,?,?,?)", (user["name"], user["role"], user["password_hash"],
                                                         user["disabled"], user["created_at"], user["last_login"],
                                                         report.township))
            catalog.audit(county.db, county.operator, "user.add", user["name"],
                          {"role": user["role"], "township": report.township, "from": "township.join"})
        for token in tokens:
            county.db.execute("INSERT INTO api_tokens(token_sha256, user_name, created_at, last_used) VALUES (?,?,?,?)",
                              (token["token_sha256"], token["user_name"], token["created_at"], token["last_used"]))
        catalog.audit(county.db, county.operator, "township.join", report.township,
                      {**detail, "fonds": report.fonds, "folder": f"{TOWNSHIPS_DIR}/{report.township}",
                       "accounts": report.accounts})
