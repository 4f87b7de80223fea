"""Long jobs in the background: ingest of many scans, month-end filing, reindex, a batch of
notices, 四性检测. The page that starts one does not wait for it; it shows the job's page, which
polls the job's record.

- A job is a row of the catalog's `jobs` table (who started it, when, progress done/total, the
  last message, per-item progress, state running/done/failed/interrupted, the result summary),
  so a page reload, or another user, sees it.
- It runs in a thread of the process that started it (the web server), as the user who started
  it: the audit entries the work writes name that user.
- At most one job of a kind runs per archive home (a unique index over running rows): a second
  start is refused with a Chinese message naming who started the running one and when.
- A job whose process ended while it ran (the server stopped or crashed) is shown as
  interrupted: at the next start of the server and whenever jobs are read.

Progress is written to the catalog at most every PROGRESS_SECONDS, through a connection of its
own that never waits long for the write lock (month-end filing holds it for its whole run); the
process that runs a job also keeps its latest progress in memory, so its own pages are current.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archive.catalog import dialect, now_text, transaction
from archive.errors import ArchiveError, ConflictError, NotFoundError
from archive.home import Home
from archive.identity import acting_as
from archive.processes import pid_alive

log = logging.getLogger(__name__)

KIND_TITLES = {"ingest": "导入扫描件", "file-month": "月末归档", "reindex": "重建全文索引",
               "batch": "批量生成文书", "verify": "四性检测"}
STATE_TITLES = {"running": "进行中", "done": "已完成", "failed": "失败", "interrupted": "已中断"}
PROGRESS_SECONDS = 0.5
INTERRUPTED_MESSAGE = "服务器在任务进行中停止（重启或异常退出），任务未完成；请查看结果后重新开始"

_TOKEN = uuid.uuid4().hex[:12]  # this process: a pid reused after a restart is not taken for it
_HOST = socket.gethostname()
_LIVE: dict[int, Progress] = {}
_LIVE_LOCK = threading.Lock()
_THREADS: dict[int, threading.Thread] = {}


def _owner() -> str:
    return f"{_HOST}:{os.getpid()}:{_TOKEN}"


@dataclass
class Job:
    id: int
    kind: str
    title: str
    operator: str
    started_at: str
    state: str
    done: int = 0
    total: int = 0
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    finished_at: str | None = None

    @property
    def kind_title(self) -> str:
        return KIND_TITLES.get(self.kind, self.kind)

    @property
    def state_title(self) -> str:
        return STATE_TITLES.get(self.state, self.state)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(100, int(self.done * 100 / self.total)) if self.total else 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "operator": self.operator,
                "started_at": self.started_at, "finished_at": self.finished_at, "state": self.state,
                "done": self.done, "total": self.total, "percent": self.percent, "message": self.message,
                "detail": self.detail, "result": self.result, "error": self.error}


class JobBusyError(ConflictError):
    """A job of the same kind is running: the second start is refused (the running job named)."""

    def __init__(self, running: Job) -> None:
        super().__init__(
            f"「{running.kind_title}」正在进行：{running.operator} 于 {_when(running.started_at)} 开始"
            f"（{running.title}），同一时间只能进行一个，请等它完成后再开始",
            hint="可在「后台任务」中查看它的进度")
        self.running = running


def _when(text: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        return text
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _loads(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _job(row) -> Job:
    job = Job(id=row["id"], kind=row["kind"], title=row["title"], operator=row["operator"],
              started_at=row["started_at"], state=row["state"], done=row["done"] or 0, total=row["total"] or 0,
              message=row["message"] or "", detail=_loads(row["detail"]), result=_loads(row["result"]),
              error=row["error"], finished_at=row["finished_at"])
    with _LIVE_LOCK:
        live = _LIVE.get(job.id) if job.state == "running" else None
    if live is not None:  # this process runs it: its progress in memory is newer than the row
        job.done, job.total, job.message, job.detail = live.snapshot()
    return job


def _alive(owner: str) -> bool:
    """Whether the process that owns a running job still runs it. A job of another host cannot be
    seen from here and is taken as alive."""
    host, _, rest = owner.partition(":")
    pid_text, _, token = rest.partition(":")
    if host != _HOST:
        return True
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return token == _TOKEN
    return pid_alive(pid)


def mark_interrupted(home: Home) -> int:
    """Jobs recorded as running whose process is gone are marked interrupted; returns how many."""
    rows = home.db.execute("SELECT id, owner FROM jobs WHERE state='running'").fetchall()
    dead = [row["id"] for row in rows if not _alive(row["owner"])]
    if dead:
        with transaction(home.db):
            for job_id in dead:
                home.db.execute(
                    "UPDATE jobs SET state='interrupted', error=?, finished_at=? WHERE id=? AND state='running'",
                    (INTERRUPTED_MESSAGE, now_text(), job_id))
    return len(dead)


def get_job(home: Home, job_id: int) -> Job:
    mark_interrupted(home)
    row = home.db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"没有编号为 {job_id} 的后台任务")
    return _job(row)


def list_jobs(home: Home, limit: int = 50, kind: str | None = None) -> list[Job]:
    """The latest jobs, newest first (running ones included)."""
    mark_interrupted(home)
    sql, args = "SELECT * FROM jobs", []
    if kind:
        sql += " WHERE kind=?"
        args.append(kind)
    rows = home.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
    return [_job(row) for row in rows]


def running_job(home: Home, kind: str) -> Job | None:
    mark_interrupted(home)
    row = home.db.execute("SELECT * FROM jobs WHERE kind=? AND state='running'", (kind,)).fetchone()
    return _job(row) if row is not None else None


Work = Callable[[Home, "Progress"], dict[str, Any]]


def start(home: Home, kind: str, title: str, work: Work) -> Job:
    """Record the job and run `work(home, progress)` in a thread of this process, as the acting
    user; its returned dict is the job's result. Refused (JobBusyError) while a job of the same
    kind runs."""
    if kind not in KIND_TITLES:
        raise ValueError(f"unknown job kind {kind!r}")
    operator = home.operator
    mark_interrupted(home)
    try:
        with transaction(home.db):
            row = home.db.execute("SELECT * FROM jobs WHERE kind=? AND state='running'", (kind,)).fetchone()
            if row is not None:
                raise JobBusyError(_job(row))
            job_id = home.db.execute(
                "INSERT INTO jobs(kind, title, operator, started_at, state, owner) VALUES (?,?,?,?,?,?) RETURNING id",
                (kind, title, operator, now_text(), "running", _owner())).fetchone()[0]
    except JobBusyError:
        raise
    except Exception:  # the unique index: another process started one between our read and write
        running = running_job(home, kind)
        if running is None:
            raise
        raise JobBusyError(running) from None
    progress = Progress(home.root, job_id)
    with _LIVE_LOCK:
        _LIVE[job_id] = progress
    thread = threading.Thread(target=_run, args=(home.root, job_id, operator, work, progress),
                              name=f"archive-job-{job_id}", daemon=True)
    _THREADS[job_id] = thread
    thread.start()
    return get_job(home, job_id)


def wait(job_id: int, timeout: float | None = None) -> bool:
    """Wait for a job started by this process to end (tests, scripts); True when it has."""
    thread = _THREADS.get(job_id)
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()


def _run(root, job_id: int, operator: str, work: Work, progress: Progress) -> None:
    state, result, error = "failed", {}, None
    home = Home(root)
    try:
        with acting_as(operator):
            result = work(home, progress) or {}
        state = "done"
    except ArchiveError as exc:
        error = exc.message + (f"（{exc.hint}）" if exc.hint else "")
    except Exception:  # noqa: BLE001 - the job fails, the server goes on; the traceback goes to the log
        log.exception("background job %s failed", job_id)
        error = "任务出错而中止（服务器内部错误，详情见服务器日志）；已完成的部分已保存，可再次开始"
    finally:
        done, total, message, detail = progress.snapshot()
        if state == "done" and total:
            done = total
        try:
            with transaction(home.db):
                home.db.execute(
                    """UPDATE jobs SET state=?, done=?, total=?, message=?, detail=?, result=?, error=?,
                       finished_at=? WHERE id=?""",
                    (state, done, total, message, json.dumps(detail, ensure_ascii=False),
                     json.dumps(result, ensure_ascii=False, default=str), error, now_text(), job_id))
        except Exception:  # noqa: BLE001 - the row stays running; the next start marks it interrupted
            log.exception("could not record the end of background job %s", job_id)
        finally:
            with _LIVE_LOCK:
                _LIVE.pop(job_id, None)
            progress.close()
            home.close()


class Progress:
    """What a job's work reports: `progress(done, total, message)` and, per item (a file),
    `progress.item(name, **fields)`. Written to the catalog now and then, never blocking the work."""

    def __init__(self, root, job_id: int) -> None:
        self.root = root
        self.job_id = job_id
        self.done = 0
        self.total = 0
        self.message = ""
        self.items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._written = 0.0
        self._home: Home | None = None

    def __call__(self, done: int | None = None, total: int | None = None, message: str | None = None) -> None:
        with self._lock:
            if done is not None:
                self.done = done
            if total is not None:
                self.total = total
            if message is not None:
                self.message = message
        self.flush()

    def item(self, name: str, **fields: Any) -> None:
        with self._lock:
            self.items.setdefault(name, {"name": name}).update(fields)
        self.flush()

    def snapshot(self) -> tuple[int, int, str, dict[str, Any]]:
        with self._lock:
            detail = {"items": [dict(v) for v in self.items.values()]} if self.items else {}
            return self.done, self.total, self.message, detail

    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < PROGRESS_SECONDS:
            return
        self._written = now
        done, total, message, detail = self.snapshot()
        try:
            conn = self._connection()
            conn.execute("UPDATE jobs SET done=?, total=?, message=?, detail=? WHERE id=? AND state='running'",
                         (done, total, message, json.dumps(detail, ensure_ascii=False), self.job_id))
        except (sqlite3.OperationalError, ArchiveError):
            pass  # the write lock is held (month-end filing): written next time; this process has it in memory

    def _connection(self):
        """A catalog connection of its own (SQLite or PostgreSQL), outside the work's transactions;
        on SQLite it gives up at once when the write lock is held."""
        if self._home is None:
            self._home = Home(self.root)
            if dialect(self._home.db) == "sqlite":
                self._home.db.execute("PRAGMA busy_timeout=50")
        return self._home.db

    def close(self) -> None:
        if self._home is not None:
            self._home.close()
            self._home = None
