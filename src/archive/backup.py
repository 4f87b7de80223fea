"""Backup of an archive home and restore into an empty one.

A backup is a plain folder a person can read without the software:

    catalog.sqlite     a consistent copy of the catalog, made with SQLite's online backup API
                       while the catalog's write lock is held (no command can register a file
                       or take a number until the copy of catalog and files is complete)
    catalog.pgdump.sql instead, when the catalog is in PostgreSQL: pg_dump of its schema (plain
                       SQL) while the schema's advisory lock is held (archive/pgdump.py); restored
                       with psql into an empty deployment (ARCHIVE_DATABASE_URL, else the
                       backup's database_url), in one transaction
    config.yaml, documents/, quarantine/, templates/, scans/, secure/*.pem …   the home's files
    BACKUP.json        what, when, from where; the digest of the manifest
    MANIFEST.sha256    SHA-256 of every other file, in `sha256sum -c` format

Not copied: the full-text index (rebuilt on restore), lock and staging folders, and the private
key material in secure/ (certificate key files, the seal image, signature images) unless asked
for: a backup travels to another machine or a USB drive, where a seal or a key must not. Public
certificates (secure/*.pem) are copied: `verify` needs them to check signatures.

Restore checks every file against the manifest before copying, copies into a new folder, checks
every restored file again, and only then puts the home in place; any mismatch, missing or extra
file stops it with nothing left behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from archive import __version__, catalog, files
from archive.catalog import file_digest
from archive.errors import ArchiveError, SchemaError
from archive.home import CATALOG_NAME, CONFIG_NAME, Home

MANIFEST_NAME = "MANIFEST.sha256"
INFO_NAME = "BACKUP.json"
FORMAT = 1
# derived or transient: never part of a backup
SKIPPED_TOP = {"index", ".locks", ".ingest"}
SKIPPED_NAMES = {CATALOG_NAME, f"{CATALOG_NAME}-wal", f"{CATALOG_NAME}-shm", f"{CATALOG_NAME}-journal"}
SECURE = "secure"
TOWNSHIPS = "townships"  # archive.county.TOWNSHIPS_DIR
PUBLIC_SECURE_SUFFIXES = (".pem", ".crt", ".cer")
_BLOCK = 1 << 20
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


class BackupError(ArchiveError):
    """A backup could not be made, or a backup failed its checks on restore."""


@dataclass
class BackupResult:
    dest: str
    files: int = 0
    bytes: int = 0
    manifest_sha256: str = ""
    include_keys: bool = False
    left_out_keys: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # links and special files, never followed
    schema_outdated: bool = False  # a catalog behind the program (backed up before `archive upgrade`)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class RestoreResult:
    home: str
    files: int = 0
    bytes: int = 0
    manifest_sha256: str = ""
    created: str = ""
    source: str = ""
    schema_outdated: bool = False  # the restored catalog needs `archive upgrade` (not audited until then)

    def to_json(self) -> dict:
        return asdict(self)


def _copy_hashed(source: Path, target: Path) -> tuple[str, int]:
    """Copy (0600, fsync'd, atomic) and return the SHA-256 and size of the bytes written."""
    digest = hashlib.sha256()
    size = 0
    with files.atomic_output(target, overwrite=False) as out, open(source, "rb") as src:
        for block in iter(lambda: src.read(_BLOCK), b""):
            digest.update(block)
            out.write(block)
            size += len(block)
    return digest.hexdigest(), size


def _empty_or_absent(path: Path, what: str) -> None:
    if path.is_symlink() or (path.exists() and (not path.is_dir() or any(path.iterdir()))):
        raise BackupError(f"{what} {path} 已存在且不是空目录，不会覆盖", hint="请指定一个不存在的目录或空目录")


def _is_key_material(relative: PurePosixPath) -> bool:
    parts = relative.parts
    if parts[0] == TOWNSHIPS and len(parts) > 2:  # a township of a county home: its own secure/
        parts = parts[2:]
    return parts[0] == SECURE and not relative.name.lower().endswith(PUBLIC_SECURE_SUFFIXES)


def _home_dirs(home: Home) -> list[tuple[PurePosixPath, Home]]:
    """Each home whose catalog a backup holds, by its folder relative to the backup: the home
    itself, and for a county home (archive.county) each township's home under townships/."""
    from archive.county import CountyHome

    homes: list[tuple[PurePosixPath, Home]] = [(PurePosixPath("."), home)]
    if isinstance(home, CountyHome):
        homes += [(PurePosixPath(TOWNSHIPS, name), township) for name, township in home.township_homes()]
    return homes


def _home_files(root: Path, homes: set[Path] | None = None) -> tuple[list[PurePosixPath], list[str]]:
    """Every regular file of the home to back up (relative, sorted), and what was skipped. In each
    folder of `homes` (default: the root) the index, locks, staging and catalog files are left out."""
    homes = homes or {root}
    out: list[PurePosixPath] = []
    skipped: list[str] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        relative_dir = PurePosixPath(here.relative_to(root).as_posix())
        if here in homes:
            dirs[:] = [d for d in dirs if d not in SKIPPED_TOP]
        for name in list(dirs):
            if (here / name).is_symlink():
                skipped.append(str(relative_dir / name))
                dirs.remove(name)
        dirs.sort()
        for name in sorted(names):
            if here in homes and name in SKIPPED_NAMES:
                continue
            mode = os.lstat(here / name).st_mode
            relative = relative_dir / name if str(relative_dir) != "." else PurePosixPath(name)
            if not stat.S_ISREG(mode):
                skipped.append(str(relative))
                continue
            out.append(relative)
    return out, skipped


def _snapshot_catalog(home: Home, target: Path) -> None:
    """A consistent copy of the catalog through SQLite's backup API, checked for integrity."""
    files.ensure_dir(target.parent)
    files.create_private_file(target)
    source = sqlite3.connect(f"file:{home.catalog_path}?mode=ro", uri=True, timeout=60)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        problem = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if problem != "ok":
        raise BackupError(f"目录数据库的备份未通过完整性检查：{problem}")


def backup(home: Home, dest: Path, include_keys: bool = False) -> BackupResult:
    """Copy the home to `dest` (a new or empty folder); see the module's docstring."""
    dest = dest.expanduser().absolute()
    real, root = dest.resolve(), home.root.resolve()
    if real == root or root in real.parents:
        raise BackupError(f"备份目录 {dest} 不能在档案库 {home.root} 之内")
    _empty_or_absent(dest, "备份目录")
    homes = _home_dirs(home)
    for _, each in homes:
        each.config  # noqa: B018 - a home without a valid configuration is refused before any copy
    # (url, schema) of each home's PostgreSQL catalog, or None for SQLite: a county's townships may
    # have either, each backed up beside its folder (catalog.pgdump.sql or catalog.sqlite)
    targets = [each.catalog_target for _, each in homes]
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    files.ensure_dir(partial)
    result = BackupResult(str(dest), include_keys=include_keys)
    manifest: list[tuple[str, str]] = []
    conns = []
    for _, each in homes:
        try:
            conns.append(each.db)
        except SchemaError:  # backed up as it is, before `archive upgrade` (which is what its hint advises)
            conns.append(catalog.connect_target(each.catalog_target or each.catalog_path, audit_key=each.audit_key))
            result.schema_outdated = True
    locked = []
    try:
        try:
            for each_conn, target in zip(conns, targets, strict=True):  # in one order (county, then townships):
                if target is not None:                                   # writers wait, catalogs and files agree
                    each_conn.begin_locked()  # type: ignore[union-attr]  # the schema's advisory lock
                else:
                    each_conn.execute("BEGIN IMMEDIATE")
                locked.append(each_conn)
            for (folder, each), target in zip(homes, targets, strict=True):
                if target is not None:
                    from archive.pgdump import DUMP_NAME, dump_schema

                    name = (folder / DUMP_NAME).as_posix()
                    files.ensure_dir((partial / name).parent)
                    dump_schema(target[0], target[1], partial / name)
                    files.make_private(partial / name)
                else:
                    name = (folder / CATALOG_NAME).as_posix()
                    _snapshot_catalog(each, partial / name)
                manifest.append((file_digest(partial / name), name))
            relatives, result.skipped = _home_files(home.root, {home.root / folder for folder, _ in homes})
            for relative in relatives:
                if _is_key_material(relative) and not include_keys:
                    result.left_out_keys.append(str(relative))
                    continue
                digest, size = _copy_hashed(home.root / relative, partial / relative)
                manifest.append((digest, str(relative)))
                result.bytes += size
        finally:
            for each_conn in locked:
                each_conn.execute("ROLLBACK")
        result.files = len(manifest)
        text = "".join(f"{digest}  {name}\n" for digest, name in sorted(manifest, key=lambda m: m[1]))
        files.write_text_atomic(partial / MANIFEST_NAME, text)
        result.manifest_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
        info = {"format": FORMAT, "software": f"archive {__version__}", "created": dt.datetime.now().isoformat(timespec="seconds"),
                "source": str(home.root), **_identity(home, homes),
                "files": result.files, "bytes": result.bytes, "manifest_sha256": result.manifest_sha256,
                "include_keys": include_keys, "left_out_keys": result.left_out_keys}
        files.write_text_atomic(partial / INFO_NAME, json.dumps(info, ensure_ascii=False, indent=1) + "\n")
        if dest.exists():
            dest.rmdir()  # empty, checked above
        os.replace(partial, dest)
        os.chmod(dest, files.PRIVATE_DIR)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    from archive.catalog import audit, transaction

    if result.schema_outdated:  # an older audit log's format is not this program's to extend
        for (_, each), each_conn in zip(homes, conns, strict=True):
            if each_conn is not each.__dict__.get("db"):
                each_conn.close()
        return result
    for (_, each), each_conn in zip(homes, conns, strict=True):
        with transaction(each_conn):
            audit(each_conn, each.operator, "backup", str(dest),
                  {"files": result.files, "manifest_sha256": result.manifest_sha256, "include_keys": include_keys})
    return result


def _identity(home: Home, homes: list[tuple[PurePosixPath, Home]]) -> dict:
    """Whose backup it is, for BACKUP.json: the township and 全宗号, or the county and its townships."""
    from archive.county import CountyHome

    if isinstance(home, CountyHome):
        return {"county": home.county, "townships": [{"township": each.config.township, "fonds": each.config.fonds,
                                                      "folder": folder.as_posix()} for folder, each in homes[1:]]}
    return {"township": home.config.township, "fonds": home.config.fonds}


def read_manifest(backup_dir: Path) -> tuple[dict[str, str], str]:
    """{relative path: sha256} of a backup and the manifest's own digest; refuses a manifest that
    is malformed or names a path outside the backup."""
    path = backup_dir / MANIFEST_NAME
    if not path.is_file():
        raise BackupError(f"{backup_dir} 不是本系统的备份：没有 {MANIFEST_NAME}")
    raw = path.read_bytes()
    entries: dict[str, str] = {}
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise BackupError(f"备份清单 {path} 不是 UTF-8 文本，已损坏") from None
    for number, line in enumerate(lines, 1):
        match = _LINE.match(line)
        if not match:
            raise BackupError(f"备份清单 {path} 第{number}行格式不对：{line[:80]}")
        relative = PurePosixPath(match[2])
        if relative.is_absolute() or ".." in relative.parts or not relative.parts or relative.name in (MANIFEST_NAME,):
            raise BackupError(f"备份清单 {path} 第{number}行的路径不允许：{match[2]}")
        if str(relative) in entries:
            raise BackupError(f"备份清单 {path} 第{number}行重复列出：{match[2]}")
        entries[str(relative)] = match[1]
    from archive.pgdump import DUMP_NAME

    if (CATALOG_NAME not in entries and DUMP_NAME not in entries) or CONFIG_NAME not in entries:
        raise BackupError(f"备份清单 {path} 中没有 {CATALOG_NAME} 或 {CONFIG_NAME}，备份不完整")
    return entries, hashlib.sha256(raw).hexdigest()


def check_backup(backup_dir: Path) -> tuple[dict[str, str], dict]:
    """Every file of the backup against its manifest: each listed file present with its digest,
    no file that the manifest does not list (links and special files included). Returns the
    manifest and BACKUP.json; raises BackupError listing every problem."""
    backup_dir = backup_dir.expanduser().absolute()
    if not backup_dir.is_dir():
        raise BackupError(f"找不到备份目录：{backup_dir}")
    entries, manifest_digest = read_manifest(backup_dir)
    problems: list[str] = []
    try:
        info = json.loads((backup_dir / INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        info = {}
        problems.append(f"{INFO_NAME} 缺失或已损坏")
    if info and info.get("manifest_sha256") != manifest_digest:
        problems.append(f"备份清单 {MANIFEST_NAME} 与 {INFO_NAME} 中记录的校验值不一致（清单被改动过）")
    present: set[str] = set()
    for folder, dirs, names in os.walk(backup_dir):
        here = Path(folder)
        for name in dirs + names:
            path = here / name
            relative = path.relative_to(backup_dir).as_posix()
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                problems.append(f"{relative}：链接或特殊文件，不应出现在备份中")
            elif path.is_file() and relative not in (MANIFEST_NAME, INFO_NAME):
                present.add(relative)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    for relative in sorted(present - set(entries)):
        problems.append(f"{relative}：备份清单中没有这个文件（被加入的文件）")
    for relative, digest in sorted(entries.items()):
        path = backup_dir / relative
        if relative not in present:
            problems.append(f"{relative}：清单中列出的文件缺失")
        elif file_digest(path) != digest:
            problems.append(f"{relative}：摘要值与备份清单不符（文件被改动或损坏）")
    if problems:
        raise BackupError(f"备份 {backup_dir} 未通过校验，不予恢复：\n" + "\n".join(f"  {p}" for p in problems[:50])
                          + (f"\n  ……另有 {len(problems) - 50} 处问题" if len(problems) > 50 else ""))
    return entries, info


def _restore_pg_catalog(partial: Path) -> tuple[str, str]:
    """Load the catalog dump of the home in `partial` (the restored home, or one township's folder
    of a restored county) into PostgreSQL: the database of ARCHIVE_DATABASE_URL, else the backup's
    own database_url; the schema the home's config names. config.yaml then names that database.
    Returns (url, schema)."""
    from archive.config import load_config, update_config
    from archive.home import DATABASE_URL_ENV, _without_password, pg_target
    from archive.pgdump import DUMP_NAME, restore_schema

    config = load_config(partial / CONFIG_NAME)
    target = pg_target(config)
    if target is None:
        raise BackupError(f"备份中的目录数据库是 PostgreSQL 导出（{DUMP_NAME}），但没有指定恢复到哪个数据库",
                          hint=f"请设置环境变量 {DATABASE_URL_ENV}=postgresql://用户@主机/数据库")
    url, schema = target
    restore_schema(url, schema, partial / DUMP_NAME)
    if _without_password(url) != config.database_url:
        def change(document) -> None:
            document["database_url"] = _without_password(url)

        update_config(partial / CONFIG_NAME, change)
    return url, schema


def _drop_schema(url: str, schema: str) -> None:
    from archive.pgconn import open_psycopg

    with contextlib.suppress(Exception), open_psycopg(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def restore(backup_dir: Path, target: Path) -> RestoreResult:
    """Restore a backup into `target`, which must not exist or be an empty folder."""
    backup_dir = backup_dir.expanduser().absolute()
    target = target.expanduser().absolute()
    real, source = target.resolve(), backup_dir.resolve()
    if real == source or source in real.parents:
        raise BackupError(f"恢复目标 {target} 不能在备份 {backup_dir} 之内（会改动备份本身）",
                          hint="请指定备份目录以外的一个不存在的目录或空目录")
    _empty_or_absent(target, "恢复目标")
    entries, info = check_backup(backup_dir)  # before copying
    partial = target.with_name(f".{target.name}.restoring-{os.getpid()}")
    restored: list[tuple[str, str]] = []  # the PostgreSQL catalogs loaded by this restore
    shutil.rmtree(partial, ignore_errors=True)
    files.ensure_dir(partial)
    result = RestoreResult(str(target), manifest_sha256=info.get("manifest_sha256", ""),
                           created=info.get("created", ""), source=info.get("source", ""))
    try:
        for relative, digest in sorted(entries.items()):
            written, size = _copy_hashed(backup_dir / relative, partial / relative)
            if written != digest:
                raise BackupError(f"恢复时 {relative} 的摘要值与备份清单不符（复制过程中备份被改动？），已停止恢复")
            result.bytes += size
        mismatched = [r for r, d in entries.items() if file_digest(partial / r) != d]  # after copying
        if mismatched:
            raise BackupError("恢复后的文件与备份清单不符，已停止恢复：\n" + "\n".join(f"  {r}" for r in mismatched[:50]))
        for name in _catalogs(entries):
            with contextlib.closing(sqlite3.connect(partial / name)) as conn:
                problem = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if problem != "ok":
                raise BackupError(f"备份中的目录数据库 {name} 未通过完整性检查：{problem}")
        for name in _catalogs(entries, _dump_name()):  # a township (or the home) whose catalog is in PostgreSQL
            restored.append(_restore_pg_catalog((partial / name).parent))
        files.make_private(partial)
        _empty_or_absent(target, "恢复目标")  # again: nothing appeared there meanwhile
        if target.exists():
            target.rmdir()
        os.replace(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        for url, schema in restored:  # nothing half-restored is left in the database either
            _drop_schema(url, schema)
        raise
    result.files = len(entries)
    from archive.catalog import audit, transaction
    from archive.county import accounts_home

    homes = _home_dirs(accounts_home(target))
    try:
        for _, home in homes:
            _ = home.db
    except SchemaError:  # a backup made by an older version: recorded once `archive upgrade` has run
        result.schema_outdated = True
        for _, home in homes:
            home.close()
        return result
    for _, home in homes:
        with transaction(home.db):
            audit(home.db, home.operator, "restore", str(backup_dir),
                  {"files": result.files, "manifest_sha256": result.manifest_sha256, "backup_created": result.created})
        home.close()
    return result


def _dump_name() -> str:
    from archive.pgdump import DUMP_NAME

    return DUMP_NAME


def _catalogs(entries: dict[str, str], kind: str = CATALOG_NAME) -> list[str]:
    """The catalogs a backup holds (SQLite files, or `kind` catalog.pgdump.sql: PostgreSQL dumps):
    the home's, and each township's of a county home."""
    return sorted(name for name in entries if name == kind
                  or (name.startswith(f"{TOWNSHIPS}/") and name.count("/") == 2 and name.endswith(f"/{kind}")))
