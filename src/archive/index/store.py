"""The index of a home: bring it up to date with the catalog (sync), rebuild it (reindex), and
compare it with the catalog (check). Where and how the index is kept is the backend's business
(index/backend.py: whoosh or SQLite FTS5, chosen by `index.backend` in config.yaml).

The catalog is the source of truth. Each document row has a revision (`rev`, bumped by the catalog's
triggers on every change, see migration 0010) and the revision last written to the index
(`indexed_rev`); sync writes every document whose two differ. One writer at a time: writers queue
on a file lock, and a clear message is given if the wait is too long. A crash between the index
commit and the catalog update only means the same documents are written again next time (update
by unique doc_id).

A full rebuild writes in batches and records its progress in the catalog (indexed_rev), so an
interrupted rebuild is resumed where it stopped by the next `archive reindex` or sync; the
index's version marker says "building" until the last batch is written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from archive import files
from archive.catalog import group_concat, transaction
from archive.errors import ArchiveError, LockedError
from archive.home import Home
from archive.index import backend as backends
from archive.index.schema import SCHEMA_VERSION, id_terms, number_terms
from archive.locks import Locker

BATCH = 20000  # documents per commit: bounds the writer's memory on a full rebuild
LOCK_WAIT_S = float(os.environ.get("ARCHIVE_INDEX_LOCK_WAIT", "300"))
BUILDING = f"{SCHEMA_VERSION}-building"  # the version marker while a full rebuild runs


def index_dir(home: Home) -> Path:
    """The index folder: the whoosh index, the writer lock."""
    return home.root / "index"


def backend(home: Home) -> backends.IndexBackend:
    return backends.for_home(home)


def index_exists(home: Home) -> bool:
    return backend(home).exists()


def index_version(home: Home) -> int:
    """The schema version the index was built with (1: before versions were written; 0: a
    rebuild was interrupted)."""
    marker = backend(home).version()
    if marker is None:
        return 1
    try:
        return int(marker)
    except ValueError:
        return 0


def index_outdated(home: Home) -> bool:
    return index_exists(home) and index_version(home) != SCHEMA_VERSION


def require_current(home: Home) -> None:
    marker = backend(home).version()  # read once: every search asks (a round trip to a county's server)
    if marker == BUILDING:
        raise ArchiveError("全文索引重建尚未完成（上次重建被中断）",
                           hint="请运行 archive reindex，从中断处继续（目录数据库中的记录不受影响）")
    if marker != str(SCHEMA_VERSION) and index_outdated(home):
        raise ArchiveError("全文索引是旧版本程序建立的，格式已更新，需要重建",
                           hint="请运行 archive reindex（目录数据库中的记录不受影响）")


@contextmanager
def writer_lock(home: Home, wait_s: float = LOCK_WAIT_S, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """One index writer at a time across processes (across machines beside a PostgreSQL catalog:
    an advisory lock, archive.locks); others wait their turn."""
    locker = Locker(home)
    try:
        folder = index_dir(home) if not locker.shared else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_s
        told = False
        while (lock := locker.try_lock("index-writer", (folder or home.root) / "writer.lock")) is None:
            if time.monotonic() > deadline:
                raise LockedError(
                    f"全文索引正被另一个进程写入，已等待 {wait_s:.0f} 秒仍未结束",
                    hint="请稍后再运行 archive reindex 补齐索引；目录数据库中的记录不受影响",
                )
            if on_wait and not told:
                on_wait("全文索引正被另一个进程写入，排队等待…")
                told = True
            time.sleep(0.1)
        try:
            yield
        finally:
            lock.release()
    finally:
        locker.close()


def _doc_sql(conn) -> str:
    names = group_concat(conn, "m.name", "char(31)", order_by="m.seq")
    ids = group_concat(conn, "m.id_number", "' '", order_by="m.seq")
    return f"""
SELECT d.doc_id, d.rev, d.type, d.title, d.household_id, d.village, d.doc_date, d.number, d.status,
       d.archival_code, d.body_text, h.head_name, h.category,
       (SELECT {names} FROM members m WHERE m.household_id = d.household_id) AS names,
       (SELECT {ids} FROM members m WHERE m.household_id = d.household_id) AS ids
FROM documents d LEFT JOIN households h ON h.id = d.household_id
"""


def fields(row) -> dict[str, object]:
    """A catalog row (_doc_sql) as the fields of an indexed document (index/queries.py lists
    them): names is a list of names, ids and number whitespace-separated terms, the other keyword
    fields one value each, title/body/people text."""
    names = [n.strip() for n in (row["names"] or "").split("\x1f") if n.strip()]
    if row["head_name"] and row["head_name"] not in names:
        names.insert(0, row["head_name"])
    ids = (row["ids"] or "").split()
    if row["household_id"] and row["household_id"] not in ids:
        ids.append(row["household_id"])
    date = row["doc_date"] or ""
    values = {
        "doc_id": row["doc_id"],
        "rev": row["rev"],
        "household": row["household_id"] or "",
        "names": names,
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
    return {key: value for key, value in values.items() if value not in ("", [])}


@dataclass
class SyncResult:
    written: int = 0
    removed: int = 0
    seconds: float = 0.0


def sync(home: Home, *, full: bool = False, on_wait: Callable[[str], None] | None = None,
         procs: int = 1, on_progress: Callable[[int, int], None] | None = None) -> SyncResult:
    """Write every document whose revision the index does not have (all of them if `full`).
    `on_progress(written, total)` is called after each batch. A full rebuild that was interrupted
    is resumed, not restarted."""
    started = time.perf_counter()
    conn = home.db
    result = SyncResult()
    index = backend(home)
    with files.private_umask(), writer_lock(home, on_wait=on_wait):
        marker = index.version()
        resuming = index.exists() and marker == BUILDING
        # a missing index (deleted, or never built) or one of an older schema is rebuilt
        full = (full or not index.exists() or index_outdated(home)) and not resuming
        if full:
            index.set_version(None)
            index.reset()
            index.set_version(BUILDING)
            with transaction(conn):
                conn.execute("UPDATE documents SET indexed_rev = 0")
        todo = conn.execute("SELECT count(*) FROM documents WHERE indexed_rev != rev").fetchone()[0]
        # the rows in doc_id order (the primary key), each batch after the last one's (not a scan
        # from the start each time); after several batches, once more from the start for documents
        # changed behind them
        after, batches, again = "", 0, False
        while True:
            rows = conn.execute(_doc_sql(conn) + " WHERE d.doc_id > ? AND d.indexed_rev != d.rev ORDER BY d.doc_id LIMIT ?",
                                (after, BATCH)).fetchall()
            if not rows:
                if after == "" or batches < 2:
                    break
                after, batches, again = "", 0, True  # those may be in the index already: replaced
                continue
            after, batches = rows[-1]["doc_id"], batches + 1

            def mark(rows=rows) -> None:
                conn.executemany("UPDATE documents SET indexed_rev = ? WHERE doc_id = ?",
                                 [(row["rev"], row["doc_id"]) for row in rows])

            replace = again or not full
            options = {"procs": procs} if not replace and procs > 1 else {}
            index.write([fields(row) for row in rows], replace=replace, mark=mark, **options)
            result.written += len(rows)
            if on_progress:
                on_progress(result.written, max(todo, result.written))
        if full or resuming:
            index.finish()
            # written last: an interrupted rebuild stays "building" and is resumed
            index.set_version(str(SCHEMA_VERSION))
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
    index = backend(home)
    result = CheckResult(outdated=index_outdated(home))
    indexed = index.revisions() if index.exists() else {}
    for doc_id, rev in catalog.items():
        if doc_id not in indexed:
            result.missing.append(doc_id)
        elif indexed[doc_id] != rev:
            result.stale.append(doc_id)
    result.orphans = sorted(set(indexed) - set(catalog))
    return result
