"""Ingest: take every file in the inbox (or the paths given), process it, and file it.

Rules that hold (issue: nothing is lost):
- A scan leaves the inbox only after its original, searchable PDF and OCR sidecar are written
  (fsync'd) into the archive home and recorded in the catalog.
- Each file is known by its SHA-256: the same file twice is recorded once. A document ID is
  reserved when processing starts, so a run killed at any moment and started again writes the
  same files under the same names and finishes the job.
- A bad file (corrupt, truncated or encrypted PDF, empty, unsupported, too large) is moved to
  quarantine/ with a Chinese reason beside it; the batch goes on. Files outside the inbox are
  copied, never moved.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from archive import files
from archive.catalog import audit, file_digest, new_doc_id, record_files, transaction
from archive.documents import storage
from archive.home import Home
from archive.roster.households import get_household
from archive.scans.identify import TYPE_TITLES, Identification, identify
from archive.scans.pipeline import Processed, init_worker, process_in_worker
from archive.scans.readers import SUPPORTED

REVIEW_FOLDER = "待分拣"
_DATE = re.compile(r"(20\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


@dataclass
class IngestRecord:
    source: str
    sha256: str
    status: str            # filed / linked / review / duplicate / quarantined
    household: str | None = None
    type: str | None = None
    doc_id: str | None = None
    reason: str = ""
    pages: int = 0

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("pages")
        return data


def collect_inputs(paths: Iterable[Path]) -> list[Path]:
    """Files to ingest: the given files, and every file under the given folders (sorted)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.exists():
            found.append(path)
    return found


def _in_inbox(home: Home, path: Path) -> bool:
    try:
        path.resolve().relative_to(home.inbox_dir.resolve())
        return True
    except ValueError:
        return False


def _leave_source(home: Home, path: Path) -> None:
    """Only after the scan is safely stored and recorded: it leaves the inbox."""
    if _in_inbox(home, path) and path.exists():
        path.unlink()


class Ingester:
    def __init__(self, home: Home, engine: str = "rapidocr", workers: int = 1,
                 progress: Callable[[str], None] | None = None) -> None:
        self._locks: dict[str, object] = {}
        self._sha_cache: dict[Path, str] = {}
        self.home = home
        self.conn = home.db
        self.engine = engine
        self.workers = max(1, workers)
        self.progress = progress or (lambda message: None)
        self.model_dir = os.environ.get("ARCHIVE_OCR_MODEL_DIR")

    # --- the run ------------------------------------------------------------------------

    def run(self, paths: list[Path]) -> list[IngestRecord]:
        try:
            return self._run(paths)
        finally:
            for handle in self._locks.values():
                handle.close()  # closing releases the lock
            self._locks.clear()

    def _lock(self, digest: str) -> bool:
        """Claim a file for this process: two ingest runs over one inbox never work on the same
        scan at once (the other run skips it and finds it recorded next time)."""
        import fcntl

        folder = files.ensure_dir(self.home.root / ".locks")
        # 4,096 lock files at most: two different scans may share one, which only makes one wait
        handle = open(folder / f"{digest[:3]}.lock", "w", opener=lambda p, f: os.open(p, f, files.PRIVATE_FILE))
        if digest[:3] in self._locks:
            handle.close()
            return True  # this run holds it already
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._locks[digest[:3]] = handle
        return True

    def _run(self, paths: list[Path]) -> list[IngestRecord]:
        inputs = collect_inputs(paths)
        records: list[IngestRecord] = []
        todo: list[tuple[Path, str]] = []
        for path in inputs:
            record = self._screen(path)
            if record is not None:
                records.append(record)
            else:
                todo.append((path, self._sha_cache[path]))
        started = time.perf_counter()
        pages = 0
        for done, (path, digest, processed) in enumerate(self._process_all(todo), start=1):
            record = self._file(path, digest, processed)
            records.append(record)
            pages += record.pages
            elapsed = time.perf_counter() - started
            rate = pages / elapsed * 60 if elapsed > 0 else 0.0
            left = (elapsed / done) * (len(todo) - done)
            self.progress(f"[{done}/{len(todo)}] {pages} 页 · {rate:.1f} 页/分钟 · 剩余约 {_duration(left)} · "
                          f"{path.name}：{_STATUS_ZH[record.status]}")
        return records

    def _process_all(self, todo: list[tuple[Path, str]]) -> Iterator[tuple[Path, str, Processed]]:
        if not todo:
            return
        if self.workers == 1 or len(todo) == 1:
            init_worker(self.engine, self.model_dir)
            for path, digest in todo:
                yield path, digest, process_in_worker(str(path))
            return
        context = mp.get_context("spawn" if sys.platform != "linux" else "fork")
        with context.Pool(self.workers, initializer=init_worker, initargs=(self.engine, self.model_dir)) as pool:
            by_path = {str(path): (path, digest) for path, digest in todo}
            for processed in pool.imap_unordered(process_in_worker, list(by_path)):
                path, digest = by_path[processed.path]
                yield path, digest, processed

    # --- before processing: duplicates, unsupported files ------------------------------------

    def _screen(self, path: Path) -> IngestRecord | None:
        """A record for files that need no processing (duplicates, empty, unsupported); None for
        the rest, with a document ID reserved for them."""
        try:
            digest = file_digest(path)
        except FileNotFoundError:  # taken and filed by another run meanwhile
            return IngestRecord(str(path), "", "duplicate", reason="文件已被另一个导入进程处理")
        self._sha_cache[path] = digest
        if not self._lock(digest):
            return IngestRecord(str(path), digest, "duplicate", reason="另一个导入进程正在运行，本文件留在原处，稍后再运行 ingest 即可")
        if not path.exists():
            return IngestRecord(str(path), digest, "duplicate", reason="文件已被另一个导入进程处理")
        row = self.conn.execute("SELECT * FROM scans WHERE sha256=?", (digest,)).fetchone()
        if row is not None and row["status"] != "processing":
            # recorded before (perhaps by a run killed just before it emptied the inbox)
            _leave_source(self.home, path)
            return IngestRecord(str(path), digest, "duplicate", row["household_id"], row["detected_type"],
                                row["doc_id"], f"与此前导入的 {row['source_name']} 内容相同（{_STATUS_ZH.get(row['status'], row['status'])}）")
        if path.stat().st_size == 0:
            return self._quarantine(path, digest, "文件为空（0 字节），可能扫描或传输中断")
        if path.suffix.lower() not in SUPPORTED:
            return self._quarantine(path, digest, f"不支持的文件格式「{path.suffix or '无扩展名'}」，只接收 PDF、PNG、JPEG、TIFF")
        if row is None:
            with transaction(self.conn):
                self.conn.execute(
                    "INSERT INTO scans(sha256, source_name, source_path, status, doc_id) VALUES (?,?,?,?,?)",
                    (digest, path.name, str(path), "processing", new_doc_id(self.conn, self.home.config.fonds)))
        return None

    def _quarantine(self, path: Path, digest: str, reason: str) -> IngestRecord:
        folder = self.home.root / "quarantine" / dt.date.today().strftime("%Y%m%d")
        files.ensure_dir(folder)
        target = folder / f"{digest[:8]}-{path.name}"
        if _in_inbox(self.home, path):
            files.move_into(path, target)  # a move within the archive home: the file is kept as it is
        else:
            storage.copy_atomic(path, target)
        files.write_text_atomic(
            folder / f"{target.name}.原因.txt",
            f"文件：{path.name}\nSHA-256：{digest}\n隔离时间：{dt.datetime.now():%Y-%m-%d %H:%M:%S}\n原因：{reason}\n")
        with transaction(self.conn):
            self.conn.execute(
                """INSERT INTO scans(sha256, source_name, source_path, status, reason, quarantine_path)
                   VALUES (?,?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET status='quarantined', reason=excluded.reason,
                   quarantine_path=excluded.quarantine_path, updated_at=datetime('now','localtime')""",
                (digest, path.name, str(path), "quarantined", reason, str(target.relative_to(self.home.root))))
            audit(self.conn, self.home.operator, "ingest.quarantine", path.name, {"sha256": digest, "reason": reason})
        return IngestRecord(str(path), digest, "quarantined", reason=reason)

    # --- after processing: identify, store, record ---------------------------------------------

    def _file(self, path: Path, digest: str, processed: Processed) -> IngestRecord:
        if processed.bad_input:
            return self._quarantine(path, digest, processed.bad_input)
        scan = self.conn.execute("SELECT doc_id FROM scans WHERE sha256=?", (digest,)).fetchone()
        doc_id = scan["doc_id"]
        text = processed.text
        found = identify(self.conn, text, list(dict.fromkeys(m.doc_id for m in processed.marks)),
                         self.home.config.villages)
        household = get_household(self.conn, found.household) if found.household else None
        original = self._original(found)
        day = self._document_date(text, original)
        doc_type = found.doc_type or "scan"
        title = original["title"] if original else TYPE_TITLES.get(doc_type, "扫描件")
        if household is not None:
            folder = storage.document_folder(self.home, day.year, household.village, household)
        else:
            folder = self.home.documents_dir / REVIEW_FOLDER / str(day.year)
        stem = storage.file_stem(day, title + ("（签收件）" if found.status == "linked" else "（扫描件）"), doc_id)
        original_path = folder / f"{stem}-原件{path.suffix.lower()}"
        storage.copy_atomic(path, original_path)
        searchable_path = folder / f"{stem}.pdf"
        if processed.searchable_pdf is not None:
            storage.write_atomic(searchable_path, processed.searchable_pdf)
        else:
            searchable_path = original_path  # born-digital PDF: the original is searchable
        sidecar_path = folder / f"{stem}.ocr.json"
        sidecar = {"source": path.name, "sha256": digest, "doc_id": doc_id,
                   "identification": asdict(found), "pages": [page.to_json() for page in processed.pages]}
        storage.write_atomic(sidecar_path, json.dumps(sidecar, ensure_ascii=False, indent=1).encode("utf-8"))
        relative = lambda p: str(p.relative_to(self.home.root))  # noqa: E731
        with transaction(self.conn):
            self.conn.execute("DELETE FROM documents WHERE doc_id=? AND origin='scan'", (doc_id,))  # a rerun
            self.conn.execute(
                """INSERT INTO documents(doc_id, type, title, household_id, village, doc_date, number, request_key,
                   params, context, body_text, pages, pdf_path, origin, source_doc, scan_sha256, original_path,
                   sidecar_path) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (doc_id, doc_type, title, household.id if household else None,
                 household.village if household else _village_in(text, self.home.config.villages),
                 day.isoformat(), original["number"] if original else _number_in(text), f"scan:{digest}",
                 "{}", "{}", text, len(processed.pages), relative(searchable_path), "scan",
                 found.source_doc, digest, relative(original_path), relative(sidecar_path)))
            self.conn.execute(
                """UPDATE scans SET status=?, pages=?, reason=?, detected_type=?, household_id=?,
                   updated_at=datetime('now','localtime') WHERE sha256=?""",
                (found.status, len(processed.pages), found.reason, doc_type, household.id if household else None, digest))
            record_files(self.conn, self.home.root, doc_id)
            audit(self.conn, self.home.operator, "ingest." + found.status, doc_id,
                  {"source": path.name, "sha256": digest, "household": household.id if household else None,
                   "type": doc_type, "reason": found.reason})
        _leave_source(self.home, path)
        return IngestRecord(str(path), digest, found.status, household.id if household else None, doc_type,
                            doc_id, found.reason, len(processed.pages))

    def _original(self, found: Identification):
        if not found.source_doc:
            return None
        return self.conn.execute("SELECT * FROM documents WHERE doc_id=?", (found.source_doc,)).fetchone()

    @staticmethod
    def _document_date(text: str, original) -> dt.date:
        if original is not None:
            return dt.date.fromisoformat(original["doc_date"])
        for year, month, day in _DATE.findall(text):
            try:
                found = dt.date(int(year), int(month), int(day))
            except ValueError:
                continue
            if found <= dt.date.today():
                return found
        return dt.date.today()


def _village_in(text: str, villages: list[str]) -> str | None:
    compact = re.sub(r"\s+", "", text)
    hits = [v for v in villages if v in compact]
    return hits[0] if len(hits) == 1 else None


def _number_in(text: str) -> str | None:
    match = re.search(r"[\u4e00-\u9fff]{2,10}[〔\[［]\s*\d{4}\s*[〕\]］]\s*\d+\s*号", re.sub(r"\s+", "", text))
    return match.group() if match else None


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}秒"
    return f"{seconds // 60}分{seconds % 60:02d}秒"


_STATUS_ZH = {"filed": "已归档", "linked": "已关联原文书", "review": "待人工分拣", "duplicate": "重复",
              "quarantined": "已隔离", "rejected": "已退回", "processing": "处理中"}


def summary_zh(records: list[IngestRecord]) -> str:
    counts = {status: sum(1 for r in records if r.status == status) for status in _STATUS_ZH}
    pages = sum(r.pages for r in records)
    return (f"共 {len(records)} 个文件 {pages} 页：关联原文书 {counts['linked']}，按身份证号或姓名归档 {counts['filed']}，"
            f"待人工分拣 {counts['review']}，重复 {counts['duplicate']}，隔离 {counts['quarantined']}")
