"""The index on disk: open or create it, bring it up to date with the catalog (sync), rebuild it
(reindex), and compare it with the catalog (check).

The catalog is the source of truth. Each document row has a revision (`rev`, bumped by the catalog's
triggers on every change, see migration 0010) and the revision last written to the index
(`indexed_rev`); sync writes every document
whose two differ. whoosh allows one writer at a time: writers queue on a file lock, and a clear
message is given if the wait is too long. A crash between the index commit and the catalog
update only means the same documents are written again next time (update by unique doc_id).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.index import Index

from archive import files
from archive.catalog import transaction
from archive.errors import ArchiveError, LockedError
from archive.home import Home
from archive.index.schema import SCHEMA_VERSION, build_schema, id_terms, number_terms

INDEX_NAME = "main"
BATCH = 20000  # documents per commit: bounds the writer's memory on a full rebuild
LOCK_WAIT_S = float(os.environ.get("ARCHIVE_INDEX_LOCK_WAIT", "300"))


def index_dir(home: Home) -> Path:
    return home.root / "index"


def index_exists(home: Home) -> bool:
    return whoosh_index.exists_in(str(index_dir(home)), INDEX_NAME)


def _version_file(home: Home) -> Path:
    return index_dir(home) / "schema-version"


def index_version(home: Home) -> int:
    """The schema version the index on disk was built with (1: before versions were written)."""
    try:
        return int(_version_file(home).read_text().strip())
    except (FileNotFoundError, ValueError):
        return 1


def index_outdated(home: Home) -> bool:
    return index_exists(home) and index_version(home) != SCHEMA_VERSION


def require_current(home: Home) -> None:
    if index_outdated(home):
        raise ArchiveError("全文索引是旧版本程序建立的，格式已更新，需要重建",
                           hint="请运行 archive reindex（目录数据库中的记录不受影响）")


def open_index(home: Home, create: bool = True) -> Index:
    folder = index_dir(home)
    if whoosh_index.exists_in(str(folder), INDEX_NAME):
        return whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
    if not create:
        raise ArchiveError(f"档案库 {home.root} 还没有全文索引", hint="请运行 archive reindex")
    with files.private_umask():
        folder.mkdir(parents=True, exist_ok=True)
        created = whoosh_index.create_in(str(folder), build_schema(), indexname=INDEX_NAME)
        _version_file(home).write_text(f"{SCHEMA_VERSION}\n")
    return created


def searcher(home: Home):
    """A searcher kept open on the home for repeated searches in one process, refreshed when
    another writer has committed since (opening a segment's files is most of a query's cost)."""
    from whoosh import scoring

    cached = home.__dict__.get("_searcher")
    if cached is not None:
        if cached.up_to_date():
            return cached
        fresh = cached.refresh()
        home.__dict__["_searcher"] = fresh
        return fresh
    fresh = open_index(home, create=False).searcher(weighting=scoring.BM25F())
    home.__dict__["_searcher"] = fresh
    return fresh


@contextmanager
def writer_lock(home: Home, wait_s: float = LOCK_WAIT_S, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """One index writer at a time across processes; others wait their turn."""
    folder = index_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "writer.lock", "a+") as handle:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockedError(
                        f"全文索引正被另一个进程写入，已等待 {wait_s:.0f} 秒仍未结束",
                        hint="请稍后再运行 archive reindex 补齐索引；目录数据库中的记录不受影响",
                    ) from None
                if on_wait and not told:
                    on_wait("全文索引正被另一个进程写入，排队等待…")
                    told = True
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_DOC_SQL = """
SELECT d.doc_id, d.rev, d.type, d.title, d.household_id, d.village, d.doc_date, d.number, d.status,
       d.archival_code, d.body_text, h.head_name, h.category,
       (SELECT group_concat(m.name, char(31)) FROM members m WHERE m.household_id = d.household_id) AS names,
       (SELECT group_concat(m.id_number, ' ') FROM members m WHERE m.household_id = d.household_id) AS ids
FROM documents d LEFT JOIN households h ON h.id = d.household_id
"""


def _fields(row) -> dict[str, object]:
    names = [n.strip() for n in (row["names"] or "").split("\x1f") if n.strip()]
    if row["head_name"] and row["head_name"] not in names:
        names.insert(0, row["head_name"])
    ids = (row["ids"] or "").split()
    if row["household_id"] and row["household_id"] not in ids:
        ids.append(row["household_id"])
    date = row["doc_date"] or ""
    fields = {
        "doc_id": row["doc_id"],
        "rev": row["rev"],
        "household": row["household_id"] or "",
        # one term per name; a comma inside a (garbled) name must not split it
        "names": ",".join(n.replace(",", "，") for n in names),
        "people": "、".join(names),
        "ids": id_terms(ids),
        "village": row["village"] or "",
        "type": row["type"],
        "category": row["category"] or "",
        "year": date[:4],
        "month": date[:7],
        "status": row["status"] or "active",
        "linked": "yes" if row["household_id"] else "no",
        "number": number_terms(row["number"] or ""),
        "archival_code": row["archival_code"] or "",
        "title": row["title"] or "",
        "body": row["body_text"] or "",
    }
    return {key: value for key, value in fields.items() if value != ""}


@dataclass
class SyncResult:
    written: int = 0
    removed: int = 0
    seconds: float = 0.0


def sync(home: Home, *, full: bool = False, on_wait: Callable[[str], None] | None = None,
         procs: int = 1) -> SyncResult:
    """Write every document whose revision the index does not have (all of them if `full`)."""
    started = time.perf_counter()
    conn = home.db
    result = SyncResult()
    with files.private_umask(), writer_lock(home, on_wait=on_wait):
        # a missing index (deleted, or never built) or one of an older schema is rebuilt
        full = full or not whoosh_index.exists_in(str(index_dir(home)), INDEX_NAME) or index_outdated(home)
        if full:
            folder = index_dir(home)
            folder.mkdir(parents=True, exist_ok=True)
            _version_file(home).unlink(missing_ok=True)
            ix = whoosh_index.create_in(str(folder), build_schema(), indexname=INDEX_NAME)
            with transaction(conn):
                conn.execute("UPDATE documents SET indexed_rev = 0")
        else:
            ix = open_index(home)
        while True:
            rows = conn.execute(_DOC_SQL + " WHERE d.indexed_rev != d.rev LIMIT ?", (BATCH,)).fetchall()
            if not rows:
                break
            if full and procs > 1:
                writer = ix.writer(procs=procs, limitmb=128, multisegment=True)
            else:
                writer = ix.writer(limitmb=128)
            try:
                for row in rows:
                    if full:
                        writer.add_document(**_fields(row))
                    else:
                        writer.update_document(**_fields(row))
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            with transaction(conn):
                conn.executemany("UPDATE documents SET indexed_rev = ? WHERE doc_id = ?",
                                 [(row["rev"], row["doc_id"]) for row in rows])
            result.written += len(rows)
        if full:
            # written last: an interrupted rebuild leaves no version, so it is rebuilt again
            _version_file(home).write_text(f"{SCHEMA_VERSION}\n")
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class CheckResult:
    missing: list[str] = field(default_factory=list)   # in the catalog, not in the index
    stale: list[str] = field(default_factory=list)     # in the index with an older revision
    orphans: list[str] = field(default_factory=list)   # in the index, not in the catalog
    outdated: bool = False                              # built with an older schema

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.orphans or self.outdated)

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "missing": self.missing, "stale": self.stale, "orphans": self.orphans,
                "outdated": self.outdated}


def check(home: Home) -> CheckResult:
    """Compare what the index holds (document ID and revision) with the catalog."""
    catalog = {row[0]: row[1] for row in home.db.execute("SELECT doc_id, rev FROM documents")}
    result = CheckResult(outdated=index_outdated(home))
    folder = index_dir(home)
    indexed: dict[str, int] = {}
    if whoosh_index.exists_in(str(folder), INDEX_NAME):
        ix = whoosh_index.open_dir(str(folder), indexname=INDEX_NAME)
        with ix.searcher() as searcher:
            for stored in searcher.all_stored_fields():
                indexed[stored["doc_id"]] = stored["rev"]
    for doc_id, rev in catalog.items():
        if doc_id not in indexed:
            result.missing.append(doc_id)
        elif indexed[doc_id] != rev:
            result.stale.append(doc_id)
    result.orphans = sorted(set(indexed) - set(catalog))
    return result
