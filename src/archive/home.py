"""The archive home: a folder with config.yaml, the catalog, generated documents and the inbox.

Layout (readable by a person without the software):
    config.yaml            configuration (schemas/config.schema.json)
    catalog.sqlite         catalog (source of truth); with `database_url` (a county deployment)
                           the catalog is a PostgreSQL schema instead (see catalog_target)
    templates/             the township's own template overrides (optional)
    documents/YYYY/村/户主姓名-身份证后4位/   generated documents per household
    documents/YYYY/村/_村级/                  village-level documents (publicity sheets)
    documents/YYYY/_乡镇/                     township-level records (rosters, statistics)
    scans/                 the inbox for scanned paper
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from archive import catalog, files, migrations
from archive.config import Config, load_config, save_config
from archive.errors import ConfigError, HomeExistsError, HomeMissingError, UsageError, os_error_text

CONFIG_NAME = "config.yaml"
CATALOG_NAME = "catalog.sqlite"
AUDIT_KEY_ENV = "ARCHIVE_AUDIT_KEY_FILE"
DATABASE_URL_ENV = "ARCHIVE_DATABASE_URL"


def database_url(config: Config) -> str:
    """The PostgreSQL catalog's URL: ARCHIVE_DATABASE_URL, else `database_url` in config.yaml;
    "" for the embedded SQLite catalog."""
    return (os.environ.get(DATABASE_URL_ENV) or "").strip() or (config.database_url or "").strip()


def default_schema(fonds: str) -> str:
    """archive_ + the 全宗号 in lower case (the PostgreSQL index's default schema too)."""
    return "archive_" + re.sub(r"[^a-z0-9_]", "_", fonds.lower())


def pg_target(config: Config) -> tuple[str, str] | None:
    """(url, schema) of the PostgreSQL catalog a configuration names; None for SQLite.
    Several township homes share one database, each in its own schema."""
    url = database_url(config)
    if not url:
        return None
    if not re.match(r"^postgres(ql)?://", url):
        raise ConfigError(f"目录数据库地址「{url.split('@')[-1]}」不是 PostgreSQL 地址",
                          hint=f"请写成 postgresql://用户@主机:端口/数据库（config.yaml 的 database_url 或 {DATABASE_URL_ENV}）")
    schema = (config.database_schema or "").strip() or default_schema(config.fonds)
    from archive.pgconn import check_schema_name

    return url, check_schema_name(schema)


@dataclass
class Home:
    root: Path
    # the full-text index backend (index/backend.py), kept open between searches
    index_backend: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_NAME

    @property
    def catalog_target(self) -> tuple[str, str] | None:
        """(url, schema) when the catalog is in PostgreSQL, None for catalog.sqlite."""
        return pg_target(self.config)

    @property
    def catalog_shown(self) -> str:
        """Where the catalog is, for messages (never a password)."""
        target = self.catalog_target
        if target is None:
            return str(self.catalog_path)
        from archive.pgconn import where

        return f"PostgreSQL {where(target[0])} 模式 {target[1]}"

    @property
    def documents_dir(self) -> Path:
        return self.root / "documents"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def inbox_dir(self) -> Path:
        return self.root / "scans"

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path)

    @cached_property
    def db(self) -> catalog.CatalogConn:
        target = self.catalog_target
        if target is None and not self.catalog_path.exists():
            raise HomeMissingError(f"档案库 {self.root} 中没有目录数据库（{CATALOG_NAME}），请先运行 archive init")
        conn = catalog.connect_target(target or self.catalog_path, audit_key=self.audit_key)
        try:
            if target is not None and migrations.catalog_revision(conn) is None:
                raise HomeMissingError(f"{self.catalog_shown} 中没有目录数据库，请先运行 archive init 或 archive migrate-to")
            # read only: a catalog behind this program is refused with the hint `archive upgrade`
            migrations.require_current(conn, self.catalog_shown if target else self.catalog_path)
        except BaseException:
            conn.close()
            raise
        return conn

    @cached_property
    def audit_key(self) -> bytes | None:
        """The optional key that makes the audit chain an HMAC: the file named by ARCHIVE_AUDIT_KEY_FILE,
        else by `audit.hmac_key_file` in config.yaml (relative to the home; best kept outside it, e.g.
        on the operator's USB key). None when neither is set."""
        name = os.environ.get(AUDIT_KEY_ENV, "").strip() or str(self.config.audit.get("hmac_key_file") or "").strip()
        if not name:
            return None
        try:
            key = (self.root / Path(name).expanduser()).read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"无法读取操作日志密钥文件 {name}：{os_error_text(exc)}",
                              hint=f"请检查环境变量 {AUDIT_KEY_ENV}") from exc
        if len(key) < 16:
            raise ConfigError(f"操作日志密钥文件 {name} 太短（至少 16 字节）")
        return key

    @property
    def operator(self) -> str:
        """The acting user named in audit entries: the web application's logged-in user
        (archive.identity.acting_as), else ARCHIVE_OPERATOR, config `operator`, the OS login."""
        return self.named_operator or _login_name()

    @property
    def named_operator(self) -> str | None:
        """The acting user if someone named them (web login, ARCHIVE_OPERATOR, config `operator`, set
        by `init`); None when only the OS login is known. Printed forms (整理人 on the 备考表) use this
        and leave the line blank rather than print an account such as root."""
        from archive.identity import acting_user

        return acting_user() or os.environ.get("ARCHIVE_OPERATOR") or self.config.operator or None

    def save_config(self) -> None:
        save_config(self.config, self.config_path)

    def add_villages(self, names: list[str]) -> list[str]:
        """Append villages to config.yaml, keeping every other key and comment (a locked,
        atomic read-modify-write, so concurrent additions are all kept). Returns those added."""
        from archive.config import check_village_names, update_config

        names = check_village_names(names)

        def change(document) -> list[str]:
            if document.get("villages") is None:
                document["villages"] = []
            added = [name for name in dict.fromkeys(names) if name not in document["villages"]]
            document["villages"].extend(added)
            return added

        config, added = update_config(self.config_path, change)
        self.__dict__["config"] = config
        with catalog.transaction(self.db):
            catalog.audit(self.db, self.operator, "village.add", None, {"villages": added})
        return added

    def close(self) -> None:
        if self.index_backend is not None:
            self.index_backend.close()
            self.index_backend = None
        if "db" in self.__dict__:
            self.db.close()
            del self.__dict__["db"]


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def init_home(root: Path, config: Config) -> Home:
    """Create a new archive home. Refuses to overwrite an existing configuration. A PostgreSQL
    catalog's schema is made (or refused) before anything is written to the folder, so that a
    refused init leaves nothing behind and can simply be run again (`township add` too)."""
    made = not root.exists()
    files.ensure_dir(root)
    home = Home(root)
    if home.config_path.exists():
        raise HomeExistsError(
            f"{root} 已经是一个档案库（存在 {CONFIG_NAME}），不会覆盖",
            hint="要修改配置请直接编辑 config.yaml，或用 archive village add 添加村",
        )
    target = pg_target(config)
    if target is not None and not config.database_url:
        config.database_url = _without_password(target[0])  # later commands find it without the variable
    if target is not None:
        # a fresh schema (made if missing), refused when it holds tables: homes never share one
        try:
            schema = migrations.upgrade_catalog(target, require_empty=True)
        except BaseException:
            if made:
                with contextlib.suppress(OSError):
                    root.rmdir()  # the folder this init made, still empty
            raise
    os.chmod(root, files.PRIVATE_DIR)  # personal data: the home is private to its owner
    for folder in (home.documents_dir, home.templates_dir, home.inbox_dir):
        files.ensure_dir(folder)
    save_config(config, home.config_path)
    config.path = home.config_path
    home.__dict__["config"] = config
    if target is None:
        files.create_private_file(home.catalog_path)  # SQLite's WAL and journal take this file's mode
        schema = migrations.create_catalog(home.catalog_path)
    conn = catalog.connect_target(target or home.catalog_path, audit_key=home.audit_key)
    with catalog.transaction(conn):
        catalog.audit(conn, home.operator, "init", str(root), {"township": config.township, "schema": schema.after})
    conn.close()
    return home


def _without_password(url: str) -> str:
    """The URL as written to config.yaml: a password stays in the environment (or ~/.pgpass)."""
    return re.sub(r"^(postgres(?:ql)?://[^:@/]*):[^@/]*@", r"\1@", url)


def upgrade_home(home: Home) -> migrations.UpgradeResult:
    """`archive upgrade`: bring the home's catalog to this program's schema (a catalog made before
    migrations is recognised first), and record it in the audit log when anything changed."""
    target = home.catalog_target
    if target is None and not home.catalog_path.exists():
        raise HomeMissingError(f"档案库 {home.root} 中没有目录数据库（{CATALOG_NAME}），请先运行 archive init")
    home.close()

    def record(conn: catalog.CatalogConn, result: migrations.UpgradeResult) -> None:
        catalog.audit(conn, home.operator, "catalog.upgrade", str(home.catalog_path) if target is None else home.catalog_shown,
                      {"before": result.before, "after": result.after, "applied": result.applied,
                       "adopted": result.adopted})

    return migrations.upgrade_catalog(target or home.catalog_path, audit_key=home.audit_key, record=record)


def resolve_root(option: str | None) -> Path:
    """--home, else ARCHIVE_HOME; an error if neither is given."""
    value = option or os.environ.get("ARCHIVE_HOME")
    if not value:
        raise UsageError("未指定档案库目录", hint="请用 --home 目录 指定，或设置环境变量 ARCHIVE_HOME")
    return Path(value).expanduser().resolve()


def resolve_home(option: str | None, township: str | None = None) -> Home:
    """The home a command works on: --home (else ARCHIVE_HOME); in a county home, the township
    named by `township` (--township, else ARCHIVE_TOWNSHIP, else the only one; see archive.county)."""
    from archive.county import open_home

    return open_home(resolve_root(option), township)
