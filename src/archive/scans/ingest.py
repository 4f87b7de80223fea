"""Ingest: take every file in the inbox (or the paths given), process it, and file it.

Rules that hold (issue: nothing is lost, no file can block or bomb the inbox):
- Every entry of the inbox is reported: hidden files are listed as ignored, links and special
  files refused (never followed or opened), files still being written left for the next run.
- Each file is copied once into the home, and its SHA-256 is that of the copied bytes, which are
  the bytes processed and stored (renamed into place, not copied again).
- A scan leaves the inbox only after its original, searchable PDF and OCR sidecar are written
  (fsync'd) into the archive home and recorded in the catalog.
- Each file is known by its SHA-256: the same file twice (in one run or two) is recorded once.
  A document ID is reserved when processing starts, so a run killed at any moment and started
  again writes the same files under the same names and finishes the job; the rerun also repairs
  what a kill leaves (temporary files, records left `processing`).
- A bad file (corrupt, truncated or encrypted PDF, empty, unsupported, too many pages, too large,
  one that killed its worker) is moved to quarantine/ with a Chinese reason beside it; the batch
  goes on. Files outside the inbox are copied, never moved.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path

from archive import files
from archive.catalog import audit, new_doc_id, now_text, record_files, transaction
from archive.documents import storage
from archive.documents.types import registry
from archive.errors import ArchiveError, error_text
from archive.filing.late import closed_month_note
from archive.home import Home
from archive.locks import Lock, Locker
from archive.roster.households import get_household
from archive.scans import recovery
from archive.scans.confidence import check_page, scan_reasons
from archive.scans.identify import Identification, identify
from archive.scans.inbox import Entry, collect_entries, look, still_changing
from archive.scans.names import (
    name_note,
    raw_name,
    readable,
    readable_name,
    readable_path,
    stored_name,
)
from archive.scans.pipeline import Processed, init_worker, process_in_worker, set_page_hook
from archive.scans.readers import SUPPORTED, Limits
from archive.scans.staging import NotARegularFile, StagingArea, StillChanging
from archive.sealing import seal_documents

REVIEW_FOLDER = "待分拣"
_DATE = re.compile(r"(20\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")

WAITING_REASON = "等待写入完成：文件仍在写入（大小或修改时间在变化），留在原处，下次运行 ingest 时再导入"
HIDDEN_REASON = ("隐藏文件（文件名以「.」开头），多为扫描仪或系统的临时文件，未导入；"
                 "如确需导入，请去掉文件名开头的「.」")
WORKER_DIED_REASON = ("处理此文件的进程异常终止（多为内存不足被系统终止），为免再次中断不再处理；"
                      "请检查文件的页数和页面尺寸，拆分或重新扫描后再导入")


@dataclass
class IngestRecord:
    source: str
    sha256: str
    status: str            # filed / linked / review / duplicate / quarantined / waiting / ignored / refused / failed
    household: str | None = None
    type: str | None = None
    doc_id: str | None = None
    reason: str = ""
    pages: int = 0
    name_bytes: str | None = None   # the original name's bytes when they are not UTF-8

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("pages")
        if data["name_bytes"] is None:
            data.pop("name_bytes")
        return data


@dataclass
class Job:
    entry: Entry
    digest: str
    staged: Path
    doc_id: str

    @property
    def name(self) -> str:
        return readable_name(self.entry.path)


def collect_inputs(paths: Iterable[Path]) -> list[Path]:
    """Regular files to ingest under the given paths (sorted; links and hidden files left out)."""
    return [entry.path for entry in collect_entries(paths) if entry.kind == "file"]


def _in_inbox(home: Home, path: Path) -> bool:
    try:
        path.parent.resolve().relative_to(home.inbox_dir.resolve())
        return True
    except ValueError:
        return False


def _refuse_home_folders(home: Home, paths: Iterable[Path]) -> None:
    """The archive's own files are not scans: a path inside the home (other than the inbox), or a
    folder holding the home, would take them in a second time."""
    root, inbox = home.root.resolve(), home.inbox_dir.resolve()
    for path in paths:
        real = Path(path).resolve()
        inside = real == root or root in real.parents
        if (inside and not (real == inbox or inbox in real.parents)) or real in root.parents:
            raise ArchiveError(f"不能从 {path} 导入：它{'在档案库之内' if inside else '包含档案库'}，"
                               "档案库中的文件已经登记，不是待导入的扫描件",
                               hint=f"请把扫描件放进收件箱 {home.inbox_dir} 后运行 archive ingest，或指定档案库以外的目录")


def _name_bytes(path: Path) -> str | None:
    raw = raw_name(path)
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError:
        return repr(raw)


class Ingester:
    def __init__(self, home: Home, engine: str = "rapidocr", workers: int = 1,
                 progress: Callable[[str], None] | None = None, model_dir: str | None = None,
                 on_file: Callable[[str, dict], None] | None = None) -> None:
        """`model_dir`: the local OCR model folder for engines that need one (paddleocr); default
        the home's `ocr_model_dir` in config.yaml. `on_file(name, fields)` follows each file: once
        screened (`state` queued, or its outcome), after each page read in this process (`page`,
        `pages`), and at its outcome (`status`, `status_title`, `pages`, `reason`)."""
        self._locks: dict[str, Lock] = {}
        self._locker = Locker(home)  # lock files, or PostgreSQL advisory locks beside a PostgreSQL catalog
        self.home = home
        self.conn = home.db
        self.engine = engine
        self.workers = max(1, workers)
        self.progress = progress or (lambda message: None)
        self.on_file = on_file or (lambda name, fields: None)
        self.follow_pages = on_file is not None  # page by page only when someone follows the files
        self.model_dir = model_dir or home.config.ocr_model_dir or None
        settings = home.config.ingest
        self.limits = Limits(int(settings["max_pages"]), int(settings["max_page_pixels"]))
        self.max_attempts = int(settings["max_attempts"])
        self.settle_seconds = float(settings["settle_seconds"])
        self.repairs: list[IngestRecord] = []
        self.failure: ArchiveError | None = None  # the run could not process its files (raise it after reporting them)
        self._unsent: set[str] = set()  # digests of files no worker could take
        self._staging: StagingArea | None = None
        from archive.scans.queue import broker_url

        self.broker = broker_url(home)  # a county deployment: OCR on Celery workers (scans/queue.py)

    # --- the run ------------------------------------------------------------------------

    def run(self, paths: list[Path]) -> list[IngestRecord]:
        _refuse_home_folders(self.home, paths)
        self._staging = StagingArea(self.home.root, self._locker.try_lock)
        self.failure, self._unsent = None, set()
        try:
            self.repairs = [IngestRecord(r.path, "", "repaired", reason=r.reason)
                            for r in recovery.repair(self.home, self._lock)]
            if self._staging.removed:
                self.repairs.append(IngestRecord(".ingest", "", "repaired",
                                                 reason=f"删除上次中断的导入留下的 {self._staging.removed} 个暂存副本"))
            return self._run(paths)
        finally:
            self._staging.close()
            for lock in self._locks.values():
                lock.release()
            self._locks.clear()
            self._locker.close()

    def _lock(self, digest: str) -> bool:
        """Claim a file for this process: two ingest runs over one inbox never work on the same
        scan at once (the other run skips it and finds it recorded next time)."""
        folder = files.ensure_dir(self.home.root / ".locks")
        # 4,096 lock files at most: two different scans may share one, which only makes one wait
        if digest[:3] in self._locks:
            return True  # this run holds it already
        lock = self._locker.try_lock(f"ingest:{digest[:3]}", folder / f"{digest[:3]}.lock")
        if lock is None:
            return False
        self._locks[digest[:3]] = lock
        return True

    def _run(self, paths: list[Path]) -> list[IngestRecord]:
        entries = collect_entries(paths)
        changing = still_changing(entries, self.settle_seconds)
        records: list[IngestRecord] = []
        jobs: list[Job] = []
        first: dict[str, Job] = {}
        copies: list[tuple[Entry, str]] = []  # byte-identical to a file earlier in this run
        for entry in entries:
            try:
                outcome = self._screen(entry, entry.path in changing, first)
            except OSError as exc:
                outcome = self._record(entry, "", "failed", f"无法读取（{error_text(exc)}），文件留在原处")
            except Exception as exc:  # one bad file never stops the others
                outcome = self._record(entry, "", "failed", f"处理时出错（{error_text(exc)}），文件留在原处")
            if isinstance(outcome, Job):
                jobs.append(outcome)
                first[outcome.digest] = outcome
                self.on_file(outcome.name, {"state": "queued"})
            else:
                self._outcome(readable_name(entry.path), outcome)
                if outcome.status == "duplicate" and outcome.sha256 in first:
                    copies.append((entry, outcome.sha256))
                records.append(outcome)
        started = time.perf_counter()
        pages = 0
        final: dict[str, str] = {}
        for done, (job, processed) in enumerate(self._process_all(jobs), start=1):
            try:
                record = self._file(job, processed)
            except OSError as exc:  # a full disk, a permission: this file waits, the others go on
                record = self._record(job.entry, job.digest, "failed", f"归档时出错（{error_text(exc)}），文件留在原处")
            except Exception as exc:  # one bad file never stops the others
                record = self._record(job.entry, job.digest, "failed",
                                      f"归档时出错（{error_text(exc)}），文件留在原处")
            final[job.digest] = record.status
            records.append(record)
            self._outcome(job.name, record)
            pages += record.pages
            elapsed = time.perf_counter() - started
            rate = pages / elapsed * 60 if elapsed > 0 else 0.0
            left = (elapsed / done) * (len(jobs) - done)
            by = f"（{processed.worker}）" if processed.worker else ""
            self.progress(f"[{done}/{len(jobs)}] {pages} 页 · {rate:.1f} 页/分钟 · 剩余约 {_duration(left)} · "
                          f"{job.name}：{_STATUS_ZH[record.status]}{by}")
        for entry, digest in copies:
            if final.get(digest) not in (None, "failed", "waiting"):
                self._leave_source(entry)
        return records

    def _outcome(self, name: str, record: IngestRecord) -> None:
        self.on_file(name, {"state": "done", "status": record.status, "pages": record.pages, "reason": record.reason,
                            "status_title": _STATUS_ZH.get(record.status, record.status)})

    def _record(self, entry: Entry, digest: str, status: str, reason: str, **kw) -> IngestRecord:
        return IngestRecord(readable_path(entry.path), digest, status, reason=reason,
                            name_bytes=_name_bytes(entry.path), **kw)

    def _known_ids(self) -> frozenset[str]:
        """The roster's ID numbers: an ID misread by one character is corrected to one of these
        only (textfix.correct_id_numbers)."""
        return frozenset(row[0] for row in self.conn.execute("SELECT id_number FROM members"))

    def _process_all(self, jobs: list[Job]) -> Iterator[tuple[Job, Processed]]:
        if not jobs:
            return
        if self.broker:
            yield from self._process_queued(jobs)
            return
        if self.workers == 1 or len(jobs) == 1:
            init_worker(self.engine, self.model_dir, self.limits, self._known_ids())
            for job in jobs:
                self._attempt(job)
                self.on_file(job.name, {"state": "reading"})
                if self.follow_pages:
                    set_page_hook(lambda page, pages, name=job.name: self.on_file(name, {"page": page, "pages": pages}))
                try:
                    processed = process_in_worker(self._task(job))
                finally:
                    set_page_hook(None)
                self._attempt(job, -1)
                yield job, processed
            return
        pending: deque[Job] = deque(jobs)
        suspects: list[Job] = []
        while pending:
            yield from self._pool_round(pending, self.workers, suspects)
        for job in suspects:  # each alone: only the file that kills its worker is quarantined
            died: list[Job] = []
            yield from self._pool_round(deque([job]), 1, died)
            if died:
                yield job, Processed(str(job.staged), bad_input=WORKER_DIED_REASON)

    def _pool_round(self, pending: deque[Job], workers: int, died: list[Job]) -> Iterator[tuple[Job, Processed]]:
        """Process from `pending` with at most `workers` files in flight; if a worker dies (killed
        for memory), the files in flight go to `died` and the round ends."""
        context = mp.get_context("spawn" if sys.platform != "linux" else "fork")
        executor = ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker,
                                       initargs=(self.engine, self.model_dir, self.limits, self._known_ids()))
        in_flight: dict[Future, Job] = {}
        try:
            while pending or in_flight:
                while pending and len(in_flight) < workers:
                    job = pending.popleft()
                    self._attempt(job)
                    in_flight[executor.submit(process_in_worker, self._task(job))] = job
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    job = in_flight.pop(future)
                    try:
                        processed = future.result()
                    except BrokenProcessPool:
                        died += [job, *in_flight.values()]
                        in_flight.clear()
                        return
                    self._attempt(job, -1)
                    yield job, processed
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    def _process_queued(self, jobs: list[Job]) -> Iterator[tuple[Job, Processed]]:
        """Through the broker to `archive worker` processes (scans/queue.py); they never touch the
        catalog: what they send back is filed here, in this one process."""
        from archive.scans import queue

        storage = queue.storage_of(self.home)  # a county's township: the county's storage root, its own queue
        dispatcher = queue.Dispatcher(self.broker, storage.root,
                                      float(self.home.config.ingest["queue_visibility_timeout"]), self.progress,
                                      storage.queue)
        try:
            yield from self._dispatch(dispatcher, jobs)
        finally:
            dispatcher.close()

    def _dispatch(self, dispatcher, jobs: list[Job]) -> Iterator[tuple[Job, Processed]]:
        from archive.scans import queue

        township = queue.storage_of(self.home).township
        dispatcher.check_broker()
        workers = dispatcher.workers()
        if not workers:  # nothing is sent: every file stays in the inbox, and the run fails (exit 4)
            self.failure = queue.no_workers_error(queue.storage_of(self.home), len(jobs))
            for job in jobs:
                self._unsent.add(job.digest)
                yield job, Processed(str(job.staged), error=self.failure.message)
            return
        self.progress(f"{len(jobs)} 个文件交给 OCR 工作进程（现有 {len(workers)} 个：{'、'.join(workers)}）")
        root = dispatcher.root
        ids_path, ids_sha256 = queue.write_known_ids(self._staging.folder, self._known_ids())
        for job in jobs:
            self._attempt(job)
            dispatcher.send(queue.Task(str(job.staged.absolute().relative_to(root)), job.name, self.engine,
                                       (self.limits.max_pages, self.limits.max_page_pixels),
                                       str(ids_path.absolute().relative_to(root)), ids_sha256, self.max_attempts,
                                       township), job)
        tally: dict[str, list[float]] = {}
        for job, payload in dispatcher.results():
            self._attempt(job, -1)
            processed = queue.processed_from_json(payload, root, job.staged)
            if processed.worker:
                counts = tally.setdefault(processed.worker, [0, 0, 0.0])
                counts[0] += 1
                counts[1] += len(processed.pages)
                counts[2] += processed.seconds
            yield job, processed
        for worker, (count, pages, seconds) in sorted(tally.items()):
            rate = pages / seconds * 60 if seconds > 0 else 0.0
            self.progress(f"工作进程 {worker}：{count} 个文件 {pages} 页，{rate:.1f} 页/分钟")

    def _task(self, job: Job) -> tuple[str, str, str]:
        return str(job.staged), str(job.staged.with_name(job.staged.name + ".searchable.pdf")), job.name

    def _attempt(self, job: Job, change: int = 1) -> None:
        """Counted before the file is read and taken back when its processing returns: what is left
        counts the runs or workers killed (for memory, most likely) while on this file."""
        with transaction(self.conn):
            self.conn.execute("UPDATE scans SET attempts = CASE WHEN attempts + ? > 0 THEN attempts + ? ELSE 0 END WHERE sha256=?",
                              (change, change, job.digest))

    # --- before processing: what each entry is, duplicates, unsupported files ---------------------

    def _screen(self, entry: Entry, changing: bool, first: dict[str, Job]) -> IngestRecord | Job:
        """A record for entries that need no processing; a Job (bytes staged, document ID reserved)
        for the rest."""
        path = entry.path
        if entry.kind == "symlink":
            try:
                target = readable(os.fsencode(os.readlink(path)))
            except OSError:
                target = "?"
            return self._record(entry, "", "refused", f"符号链接（指向 {target}），为安全起见不跟随、不读取、不导入；"
                                "请把文件本身放进收件箱")
        if entry.kind == "special":
            return self._record(entry, "", "refused", "不是普通文件（管道、设备或套接字），不予读取")
        if entry.kind == "hidden":
            return self._record(entry, "", "ignored", HIDDEN_REASON if not path.is_dir() else
                                "隐藏文件夹（名称以「.」开头），其中的文件未导入")
        if changing:
            return self._record(entry, "", "waiting", WAITING_REASON)
        try:
            staged, digest = self._staging.stage(entry)
        except StillChanging:
            return self._record(entry, "", "waiting", WAITING_REASON)
        except NotARegularFile:
            return self._record(entry, "", "refused", "不是普通文件（可能是刚换成的链接或管道），不予读取")
        except FileNotFoundError:  # taken and filed by another run meanwhile
            return self._record(entry, "", "duplicate", "文件已被另一个导入进程处理")
        if digest in first:
            staged.unlink()
            return self._record(entry, digest, "duplicate", f"与本次导入的 {first[digest].name} 内容完全相同，只导入一份",
                                doc_id=first[digest].doc_id)
        if not self._lock(digest):
            staged.unlink()
            return self._record(entry, digest, "waiting", "另一个导入进程正在处理相同内容的文件，本文件留在原处，稍后再运行 ingest 即可")
        row = self.conn.execute("SELECT * FROM scans WHERE sha256=?", (digest,)).fetchone()
        if row is not None and row["status"] not in ("processing", "missing"):
            # recorded before (perhaps by a run killed just before it emptied the inbox)
            staged.unlink()
            self._leave_source(entry)
            return self._record(entry, digest, "duplicate",
                                f"与此前导入的 {row['source_name']} 内容相同（{_STATUS_ZH.get(row['status'], row['status'])}）",
                                household=row["household_id"], type=row["detected_type"], doc_id=row["doc_id"])
        job = Job(entry, digest, staged, row["doc_id"] if row is not None else "")
        if entry.look[0] == 0:
            return self._quarantine(job, "文件为空（0 字节），可能扫描或传输中断")
        if path.suffix.lower() not in SUPPORTED:
            suffix = readable(os.fsencode(path.suffix)) if path.suffix else "无扩展名"
            return self._quarantine(job, f"不支持的文件格式「{suffix}」，只接收 PDF、PNG、JPEG、TIFF")
        if row is not None and (row["attempts"] or 0) >= self.max_attempts:
            return self._quarantine(job, f"此前已 {row['attempts']} 次开始处理而未完成。{WORKER_DIED_REASON}")
        if row is None:
            with transaction(self.conn):
                job.doc_id = new_doc_id(self.conn, self.home.config.fonds)
                self.conn.execute(
                    "INSERT INTO scans(sha256, source_name, source_path, status, doc_id) VALUES (?,?,?,?,?)",
                    (digest, job.name, readable_path(path), "processing", job.doc_id))
        elif row["status"] == "missing":
            with transaction(self.conn):
                self.conn.execute("UPDATE scans SET status='processing', source_name=?, source_path=? WHERE sha256=?",
                                  (job.name, readable_path(path), digest))
        return job

    def _leave_source(self, entry: Entry) -> None:
        """Only after the scan is safely stored and recorded: it leaves the inbox, unless it
        changed since it was copied (then it comes again next run as what it is now)."""
        path = entry.path
        if not _in_inbox(self.home, path):
            return
        try:
            if look(path.lstat()) == entry.look:
                path.unlink()
        except FileNotFoundError:
            pass

    def _quarantine(self, job: Job, reason: str) -> IngestRecord:
        path, digest = job.entry.path, job.digest
        folder = self.home.root / "quarantine" / dt.date.today().strftime("%Y%m%d")
        files.ensure_dir(folder)
        target = folder / f"{digest[:8]}-{stored_name(job.name)}"
        if job.staged.exists():
            files.move_into(job.staged, target)  # the very bytes hashed; the source is left alone until recorded
        note = name_note(path)
        files.write_atomic(folder / f"{target.name}.原因.txt", (
            f"文件：{job.name}\n{note}SHA-256：{digest}\n隔离时间：{dt.datetime.now():%Y-%m-%d %H:%M:%S}\n"
            f"原因：{reason}\n").encode())
        with transaction(self.conn):
            self.conn.execute(
                """INSERT INTO scans(sha256, source_name, source_path, status, reason, quarantine_path, updated_at)
                   VALUES (?,?,?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET status='quarantined', reason=excluded.reason,
                   quarantine_path=excluded.quarantine_path, updated_at=excluded.updated_at""",
                (digest, job.name, readable_path(path), "quarantined", reason, str(target.relative_to(self.home.root)),
                 now_text()))
            audit(self.conn, self.home.operator, "ingest.quarantine", job.name,
                  {"sha256": digest, "reason": reason, **({"name_bytes": _name_bytes(path)} if note else {})})
        self._leave_source(job.entry)
        return self._record(job.entry, digest, "quarantined", reason)

    # --- after processing: identify, store, record ---------------------------------------------

    def _file(self, job: Job, processed: Processed) -> IngestRecord:
        if processed.bad_input:
            return self._quarantine(job, processed.bad_input)
        if job.digest in self._unsent:
            from archive.scans.queue import NO_WORKERS_REASON

            return self._record(job.entry, job.digest, "failed", f"未处理：{NO_WORKERS_REASON}，文件留在收件箱")
        if processed.error:
            return self._record(job.entry, job.digest, "failed", f"处理时出错（{processed.error}），文件留在原处，"
                                "可再次运行 ingest；如仍出错请报告")
        path, digest, doc_id = job.entry.path, job.digest, job.doc_id
        text = processed.text
        types = registry(self.home)
        found = identify(self.conn, text, list(dict.fromkeys(m.doc_id for m in processed.marks)),
                         self.home.config.villages, types)
        proposal = found
        found = self._held_for_review(processed, found)
        household = get_household(self.conn, found.household) if found.household else None
        original = self._original(proposal)  # a linked scan held for review keeps its original's date and title
        day = self._document_date(text, original)
        doc_type = found.doc_type or "scan"
        title = original["title"] if original else types.title(doc_type, "扫描件")
        if household is not None:
            folder = storage.document_folder(self.home, day.year, household.village, household)
        else:
            folder = self.home.documents_dir / REVIEW_FOLDER / str(day.year)
        stem = storage.file_stem(day, title + ("（签收件）" if found.status == "linked" else "（扫描件）"), doc_id)
        original_path = folder / f"{stem}-原件{_content_suffix(job.staged, path.suffix.lower())}"
        searchable_path = folder / f"{stem}.pdf"
        if processed.searchable_pdf is not None:
            _move_into(Path(processed.searchable_pdf), searchable_path)
        else:
            searchable_path = original_path  # born-digital PDF: the original is searchable
        sidecar_path = folder / f"{stem}.ocr.json"
        sidecar = {"source": job.name, "sha256": digest, "doc_id": doc_id,
                   "identification": asdict(proposal), "pages": [page.to_json() for page in processed.pages]}
        if found is not proposal or found.status == "review":
            # what `archive review show` lists and `review accept` resolves; the identification
            # above is the proposal (household, type, original) a person confirms or corrects
            sidecar["review"] = {"status": "open", "reasons": found.reason.split("；")}
        files.write_atomic(sidecar_path, json.dumps(sidecar, ensure_ascii=False, indent=1).encode("utf-8"))
        _move_into(job.staged, original_path)  # the bytes hashed are the bytes stored
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
            # a scan held for review keeps the proposed household in its scans row (not in documents)
            self.conn.execute(
                """UPDATE scans SET status=?, pages=?, reason=?, detected_type=?, household_id=?,
                   updated_at=? WHERE sha256=?""",
                (found.status, len(processed.pages), found.reason, doc_type, household.id if household else
                 proposal.household, now_text(), digest))
            record_files(self.conn, self.home.root, doc_id)
            detail = {"source": job.name, "sha256": digest, "household": household.id if household else None,
                      "type": doc_type, "reason": found.reason}
            if _name_bytes(path):
                detail["name_bytes"] = _name_bytes(path)
            audit(self.conn, self.home.operator, "ingest." + found.status, doc_id, detail)
            seal_documents(self.conn, self.home.operator, [doc_id])
        self._leave_source(job.entry)
        reason = found.reason
        late = closed_month_note(self.conn, day.isoformat()) if found.status in ("filed", "linked") else None
        if late:  # kept and recorded, but its month is closed: said now, not first by verify
            reason = "；".join(filter(None, [reason, late]))
        return self._record(job.entry, digest, found.status, reason, household=household.id if household else None,
                            type=doc_type, doc_id=doc_id, pages=len(processed.pages))

    def _roster_names(self) -> frozenset[str]:
        if getattr(self, "_names", None) is None:
            self._names = frozenset(row[0] for row in self.conn.execute("SELECT name FROM members"))
        return self._names

    def _held_for_review(self, processed: Processed, found: Identification) -> Identification:
        """A scan whose text a person must check first (confidence.py: an uncertain ID number,
        name, date or 文号, a page mostly uncertain, an ID failing its checksum, a name not in the
        roster) goes to the review queue with the reasons, not filed silently; what identification
        proposed stays in the sidecar for `archive review accept`."""
        for page in processed.pages:
            page.review = check_page(page, self._roster_names())
        reasons = scan_reasons(processed.pages)
        if not reasons:
            return found
        if found.status == "review":
            return Identification("review", None, found.doc_type, None, "；".join([found.reason, *reasons]),
                                  found.evidence)
        proposed = f"拟归入：{found.reason}"
        return Identification("review", None, found.doc_type, None, "；".join([*reasons, proposed]), found.evidence)

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


def _content_suffix(path: Path, given: str) -> str:
    """The extension of what the file is (a PDF named .tif is stored as .pdf, so verify can open it)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"%PDF"):
        return ".pdf"
    if head.startswith(b"\x89PNG"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return given if given in (".jpg", ".jpeg") else ".jpg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return given if given in (".tif", ".tiff") else ".tif"
    return given


def _move_into(source: Path, target: Path) -> None:
    """Rename a file made in the staging area into place (same file system), fsync'd first."""
    with open(source, "rb+") as handle:
        os.fsync(handle.fileno())
    files.move_into(source, target)  # private (0600) whatever mode the staged copy had


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
              "quarantined": "已隔离", "rejected": "已退回", "processing": "处理中", "waiting": "等待写入完成",
              "ignored": "已忽略", "refused": "拒绝导入", "failed": "出错", "missing": "原文件缺失",
              "repaired": "已修复"}


def summary_zh(records: list[IngestRecord]) -> str:
    counts = {status: sum(1 for r in records if r.status == status) for status in _STATUS_ZH}
    pages = sum(r.pages for r in records)
    return (f"共 {len(records)} 个文件 {pages} 页：关联原文书 {counts['linked']}，按身份证号或姓名归档 {counts['filed']}，"
            f"待人工分拣 {counts['review']}，重复 {counts['duplicate']}，隔离 {counts['quarantined']}"
            + "".join(f"，{_STATUS_ZH[status]} {counts[status]}" for status in ("waiting", "ignored", "refused", "failed")
                      if counts[status]))


STATUS_ZH = _STATUS_ZH  # how each status reads in Chinese (the CLI's list of every file)
