"""OCR work on Celery workers through a Redis broker: a county deployment's `archive worker`.

With a broker (`broker_url:` in config.yaml, or ARCHIVE_BROKER_URL) `ingest` sends each staged
file to the queue instead of its own process pool; any number of `archive worker` processes, on
any machine that mounts the same storage root, read it and send back what they found through the
Redis result backend. The rules of the process pool hold:

- Workers never touch the catalog. A task names files relative to the storage root (the home);
  a worker reads the staged copy and writes a searchable PDF beside it, under a name of its own
  (two executions of one task never write the same file). ingest, in one process, checks what
  comes back (hostile input: a path outside its own staging folder is refused), files it,
  records it and seals it — once per file, by its SHA-256, as without workers.
- Late acknowledgement: a task is acknowledged when it is done, so the task of a worker that is
  killed is redone — at once by the same worker when only its pool process died
  (reject_on_worker_lost), otherwise by any worker once the visibility timeout passes
  (config.yaml `ingest.queue_visibility_timeout`). While an execution runs it keeps a heartbeat
  key in Redis; an execution of the same task delivered again meanwhile waits for it instead of
  doing the work twice.
- A county deployment (archive/county.py) has one worker pool for every township: each township
  has its own queue (archive.ocr.<全宗号>), a task names its township and its files relative to the
  county home (the shared storage root), and `archive worker` on the county home consumes every
  township's queue (`--township` narrows it to one). A township home on its own uses archive.ocr.
- A file that kills its worker every time is not retried for ever: the deliveries of each task
  are counted in Redis, and past `ingest.max_attempts` the file is quarantined with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.errors import ConfigError, UnavailableError, error_text
from archive.rendering import qr
from archive.scans.ocr.base import OcrLine, OcrPage
from archive.scans.pipeline import PageReader, Processed
from archive.scans.readers import Limits

if TYPE_CHECKING:
    from celery import Celery

    from archive.home import Home

BROKER_ENV = "ARCHIVE_BROKER_URL"
TASK_NAME = "archive.ocr_file"
QUEUE_NAME = "archive.ocr"
RESULT_SECONDS = 86_400        # results nobody collected (an ingest run that was killed) expire
HEARTBEAT_SECONDS = 10         # a running execution's key lives this long unless renewed
_KEY = "archive:ocr:"          # Redis keys of our own: deliveries and heartbeats per task

NO_WORKERS_REASON = "没有正在运行的 OCR 工作进程"  # every message about it starts so
WORKER_DIED_REASON = ("处理此文件的工作进程多次异常终止（多为内存不足被系统终止），为免再次中断不再处理；"
                      "请检查文件的页数和页面尺寸，拆分或重新扫描后再导入")


def queue_name(fonds: str | None = None) -> str:
    """The queue of a county's township (by its 全宗号, unique in the county), else the one queue."""
    return f"{QUEUE_NAME}.{fonds.upper()}" if fonds else QUEUE_NAME


@dataclass
class Storage:
    """Where a home's OCR work goes: the storage root its tasks' paths are relative to (the county
    home for a county's township, else the home), its queue, and its township (county only)."""
    root: Path
    queue: str = QUEUE_NAME
    township: str = ""


def no_workers_error(storage: Storage, files: int) -> UnavailableError:
    """No `archive worker` consumes this home's queue: nothing was sent, the files stay in the inbox."""
    if storage.township:
        whose = f"{storage.township}的队列 {storage.queue}"
        hint = (f"请在县级档案库上启动 archive worker（服务全县各乡镇；加 --township {storage.township} 则只服务本乡镇），"
                "再运行 ingest；新添加的乡镇要重启已在运行的工作进程")
    else:
        whose, hint = f"队列 {storage.queue}", "请启动 archive worker，再运行 ingest"
    return UnavailableError(f"{NO_WORKERS_REASON}服务{whose}，{files} 个文件未处理，留在收件箱", hint=hint)


def storage_of(home: Home) -> Storage:
    from archive.county import county_root_of

    county = county_root_of(home.root)
    if county is None:
        return Storage(home.root)
    return Storage(county, queue_name(home.config.fonds), home.root.absolute().name)


def broker_url(home: Home) -> str:
    """ARCHIVE_BROKER_URL, else `broker_url` in config.yaml; empty: no queue (the embedded default)."""
    return os.environ.get(BROKER_ENV, "").strip() or (home.config.broker_url or "").strip()


def make_app(url: str, visibility_timeout: float = 3600) -> Celery:
    """The Celery application for `url`, with the OCR task registered (client and worker alike)."""
    try:
        from celery import Celery
    except ImportError as exc:  # pragma: no cover - the county extra is not installed
        raise ConfigError("配置了任务队列（broker_url），但未安装 Celery",
                          hint="请安装：pip install 'township-archive[county]'") from exc
    if not url.startswith(("redis://", "rediss://")):
        raise ConfigError(f"任务队列地址「{url}」不是 Redis 地址", hint="应形如 redis://127.0.0.1:6379/0")
    app = Celery("archive", broker=url, backend=url, set_as_current=False)
    restore_every = max(1, min(10, int(visibility_timeout)))
    app.conf.update(
        task_acks_late=True,                 # acknowledged when done: a killed worker's task is redone
        task_reject_on_worker_lost=True,     # ... at once when only the pool process died
        worker_prefetch_multiplier=1,        # a worker holds no more than it works on
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_expires=RESULT_SECONDS,
        task_default_queue=QUEUE_NAME,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout,
                                  "unacked_restore_interval": restore_every, "unacked_restore_throttle": 1},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)(_ocr_task)
    return app


# --- what travels: tasks and results as JSON ------------------------------------------------

def processed_to_json(processed: Processed, root: Path) -> dict[str, Any]:
    def relative(path: str | None) -> str | None:
        return None if path is None else str(Path(path).relative_to(root))

    return {"path": relative(processed.path),
            "pages": [{k: v for k, v in page.to_json().items() if k != "text"} for page in processed.pages],
            "marks": [[mark.doc_id, mark.page] for mark in processed.marks],
            "searchable_pdf": relative(processed.searchable_pdf), "bad_input": processed.bad_input,
            "error": processed.error, "seconds": processed.seconds}


def processed_from_json(data: dict[str, Any], root: Path, staged: Path) -> Processed:
    """A worker's result, checked: the searchable PDF it names must be one written beside the
    staged file in this run's staging folder (anything else is refused, never moved); a result
    that is not what a worker writes is this file's error, never the run's."""
    try:
        return _processed_from_json(data, root, staged)
    except (KeyError, TypeError, ValueError, AttributeError):
        return Processed(str(staged), error="工作进程返回的结果格式不对，不予采用")


def _processed_from_json(data: dict[str, Any], root: Path, staged: Path) -> Processed:
    searchable = data.get("searchable_pdf")
    if searchable is not None:
        path = (root / str(searchable)).resolve()
        if path.parent != staged.parent.resolve() or not path.name.startswith(staged.name + ".") \
                or not path.name.endswith(".searchable.pdf"):
            return Processed(str(staged), error=f"工作进程返回了暂存区以外的文件路径（{searchable}），不予采用")
        searchable = str(path)
    pages = [OcrPage(int(p["width"]), int(p["height"]),
                     [OcrLine(str(line["text"]), line["box"], float(line["confidence"])) for line in p["lines"]],
                     str(p.get("engine", "")), str(p.get("source", "ocr")), int(p.get("rotation", 0)),
                     float(p.get("skew", 0.0)), list(p.get("corrections", [])))
             for p in data.get("pages", [])]
    worker = data.get("worker")
    return Processed(str(staged), pages, [qr.PageMark(str(d), int(n)) for d, n in data.get("marks", [])],
                     searchable, data.get("bad_input"), data.get("error"), float(data.get("seconds", 0.0)),
                     str(worker) if worker else None)


@dataclass
class Task:
    """One staged file for a worker; paths relative to the storage root."""
    file: str
    title: str
    engine: str
    limits: tuple[int, int]
    known_ids: str         # a file listing the roster's ID numbers (textfix corrects to these only)
    known_ids_sha256: str
    max_attempts: int
    township: str = ""     # a county's township: its files are under townships/<township>/

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "title": self.title, "engine": self.engine, "limits": list(self.limits),
                "known_ids": self.known_ids, "known_ids_sha256": self.known_ids_sha256,
                "max_attempts": self.max_attempts, "township": self.township}


def write_known_ids(folder: Path, ids: Collection[str]) -> tuple[Path, str]:
    """The roster's ID numbers as a file for the workers (they never read the catalog)."""
    from archive import files

    data = "\n".join(sorted(ids)).encode("ascii")
    path = folder / "known-ids.txt"
    files.write_atomic(path, data)
    return path, hashlib.sha256(data).hexdigest()


def check_broker(app: Celery) -> None:
    """A Chinese error naming the broker (never its password) when it cannot be reached."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:
        from kombu.utils.url import maybe_sanitize_url

        raise UnavailableError(f"无法连接任务队列 {maybe_sanitize_url(app.conf.broker_url)}（{broker_error_text(exc)}）",
                               hint="请检查 Redis 是否在运行，以及 config.yaml 的 broker_url 或环境变量 "
                                    f"{BROKER_ENV}") from exc


def broker_error_text(exc: BaseException) -> str:
    """Why the broker did not answer, in Chinese: the cause is usually an OSError a few exceptions
    down the chain (kombu wraps redis-py, which wraps the socket's error)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "连接被拒绝：该地址上没有运行 Redis"
        if isinstance(cause, socket.gaierror):
            return "主机名无法解析"
        if isinstance(cause, (TimeoutError, socket.timeout)):
            return "连接超时：主机不可达或被防火墙拦截"
        name = type(cause).__name__
        if name.startswith("Authentication") or "NOAUTH" in str(cause):
            return "口令不对或缺少口令"
        if isinstance(cause, OSError):
            return f"网络错误：{cause.strerror or name}"
        cause = cause.__cause__ or cause.__context__
    return f"无法建立连接（{type(exc).__name__}）"


# --- the client side: send, wait, collect ------------------------------------------------------

class Dispatcher:
    """Sends tasks and yields their results as they come back, from whichever worker."""

    def __init__(self, url: str, root: Path, visibility_timeout: float = 3600,
                 progress: Callable[[str], None] | None = None, queue: str = QUEUE_NAME) -> None:
        self.app = make_app(url, visibility_timeout)
        self.root = root
        self.queue = queue
        self.progress = progress or (lambda message: None)
        self.pending: dict[str, Any] = {}  # task id -> caller's key

    def workers(self, timeout: float = 2.0) -> list[str]:
        """Names of the workers that answer now and consume this dispatcher's queue."""
        try:
            # a connection of its own, closed at once: a broadcast leaves its channel waiting on
            # the broker, and a pooled one would be inherited by the ingest's forked processes,
            # whose after-fork cleanup then waited on it for ever
            with self.app.connection_for_write() as connection:
                replies = self.app.control.inspect(timeout=timeout, connection=connection).active_queues() or {}
        except Exception:  # the broker is down: no worker can be reached either
            return []
        return sorted(name for name, queues in replies.items()
                      if any(isinstance(q, dict) and q.get("name") == self.queue for q in queues or []))

    def check_broker(self) -> None:
        check_broker(self.app)

    def send(self, task: Task, key: Any) -> str:
        result = self.app.send_task(TASK_NAME, args=[task.to_json()], queue=self.queue)
        self.pending[result.id] = key
        return result.id

    def results(self, check_every: float = 30.0) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(key, result payload) for each task as it completes; a task that failed inside Celery
        gives {"error": ...}. Waits as long as it takes; every `check_every` seconds without a
        result it says how many are left and warns when no worker answers."""
        backend = self.app.backend
        last = [time.monotonic()]

        def on_interval() -> None:
            if time.monotonic() - last[0] < check_every:
                return
            last[0] = time.monotonic()
            alive = self.workers()
            self.progress(f"等待 OCR 工作进程：还有 {len(self.pending)} 个文件"
                          + (f"（{len(alive)} 个工作进程在运行）" if alive else
                             "；警告：没有工作进程应答，请启动 archive worker（可按 Ctrl+C 中止，下次运行 ingest 接着处理）"))

        try:
            while self.pending:
                for task_id, meta in backend.get_many(set(self.pending), interval=0.2, on_interval=on_interval):
                    key = self.pending.pop(task_id)
                    last[0] = time.monotonic()
                    if meta["status"] == "SUCCESS" and isinstance(meta.get("result"), dict):
                        payload = meta["result"]
                    else:
                        payload = {"error": "工作进程中的任务失败（Celery 状态 " + str(meta["status"]) + "）"}
                    self.forget(task_id)
                    yield key, payload
        finally:
            if self.pending:  # interrupted: nobody will collect these, so let no worker start them
                self.app.control.revoke(list(self.pending))

    def close(self) -> None:
        """Release the broker and result-backend connections."""
        self.app.close()

    def forget(self, task_id: str) -> None:
        self.app.AsyncResult(task_id).forget()
        self.app.backend.client.delete(_KEY + "deliveries:" + task_id)


# --- the worker side ---------------------------------------------------------------------------

@dataclass
class _WorkerState:
    root: Path | None = None
    townships: frozenset[str] | None = None  # a county's worker: the townships it serves
    as_json: bool = False
    echo: Callable[[str], None] = print
    reader: PageReader | None = None
    reader_key: tuple | None = None
    files: int = 0
    pages: int = 0
    seconds: float = 0.0


_STATE = _WorkerState()


def configure_worker(root: Path, as_json: bool = False, echo: Callable[[str], None] | None = None,
                     townships: Collection[str] | None = None) -> None:
    _STATE.root = root
    _STATE.townships = frozenset(townships) if townships is not None else None
    _STATE.as_json = as_json
    if echo is not None:
        _STATE.echo = echo


@dataclass
class WorkerPlan:
    """What a worker serves: the storage root, its queues, the broker; the townships of a county."""
    root: Path
    queues: list[str]
    url: str
    visibility_timeout: float
    model_dir: str = ""
    townships: list[str] | None = None


def worker_plan(home: Home) -> WorkerPlan:
    """A county home (archive.county.CountyHome): every township's queue, the county home as the
    storage root. A county's township (`--township`): its queue only, the same storage root. A
    township home on its own: its one queue. The townships served must agree on the broker."""
    from archive.county import CountyHome

    if isinstance(home, CountyHome):
        homes = [each for _, each in home.township_homes()]
        if not homes:
            raise ConfigError(f"县级档案库 {home.root} 还没有乡镇，工作进程无事可做",
                              hint="请先添加乡镇：archive township add …")
    else:
        homes = [home]
    try:
        places = [storage_of(each) for each in homes]
        urls = sorted({broker_url(each) for each in homes} - {""})
        if not urls:
            raise ConfigError("没有配置任务队列，无法启动工作进程",
                              hint=f"请在 config.yaml 中设置 broker_url: redis://主机:6379/0，或设置环境变量 {BROKER_ENV}")
        if len(urls) > 1:
            from kombu.utils.url import maybe_sanitize_url

            raise ConfigError("各乡镇配置的任务队列（broker_url）不同，一个工作进程只能连接一个："
                              + "、".join(maybe_sanitize_url(u) for u in urls),
                              hint=f"请让各乡镇的 broker_url 相同，或用环境变量 {BROKER_ENV} 指定，或用 --township 逐个乡镇启动")
        county = places[0].township != ""
        return WorkerPlan(places[0].root, [p.queue for p in places], urls[0],
                          max(float(each.config.ingest["queue_visibility_timeout"]) for each in homes),
                          next((each.config.ocr_model_dir for each in homes if each.config.ocr_model_dir), ""),
                          [p.township for p in places] if county else None)
    finally:
        if isinstance(home, CountyHome):
            for each in homes:
                each.close()


def run_worker(home: Home, concurrency: int = 1, name: str | None = None, as_json: bool = False,
               echo: Callable[[str], None] | None = None) -> None:
    """Run a Celery worker for this home's queue (a county home: every township's; see
    `worker_plan`) until stopped (SIGTERM / Ctrl+C: warm shutdown)."""
    plan = worker_plan(home)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if plan.model_dir:
        os.environ.setdefault("ARCHIVE_OCR_MODEL_DIR", plan.model_dir)
    app = make_app(plan.url, plan.visibility_timeout)
    check_broker(app)
    configure_worker(plan.root, as_json, echo, plan.townships)
    argv = ["--quiet", "worker", "--concurrency", str(max(1, concurrency)), "--pool", "prefork",
            "--loglevel", "WARNING", "--queues", ",".join(plan.queues), "--without-gossip", "--without-mingle"]
    if name:
        argv += ["--hostname", name]
    from celery.utils.nodenames import default_nodename, host_format

    started = {"event": "start", "worker": host_format(default_nodename(name)), "concurrency": max(1, concurrency),
               "queue": ",".join(plan.queues), "root": str(plan.root)}
    if plan.townships is not None:
        started["townships"] = plan.townships
    serving = f"服务乡镇：{'、'.join(plan.townships)}，" if plan.townships is not None else ""
    say = echo or print
    say(json.dumps(started, ensure_ascii=False) if as_json else
        f"OCR 工作进程 {started['worker']} 已启动：并发 {started['concurrency']}，{serving}存储根目录 {plan.root}，"
        "等待任务（Ctrl+C 或 SIGTERM 停止：做完手上的任务再退出）")
    app.worker_main(argv)


def _reader(task: dict[str, Any], root: Path) -> PageReader:
    ids_path = _inside(root, task["known_ids"])
    key = (task["engine"], tuple(task["limits"]), task["known_ids_sha256"])
    if _STATE.reader is None or _STATE.reader_key != key:
        data = ids_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != task["known_ids_sha256"]:
            raise ValueError("身份证号清单与任务不符")
        ids = frozenset(line for line in data.decode("ascii").split("\n") if line)
        engine = _STATE.reader.engine.name if _STATE.reader is not None else None
        if _STATE.reader is not None and engine == task["engine"] and _STATE.reader_key[1] == key[1]:
            _STATE.reader.known_ids = ids  # the engine and its models stay loaded
        else:
            _STATE.reader = PageReader(task["engine"], os.environ.get("ARCHIVE_OCR_MODEL_DIR") or None,
                                       Limits(*task["limits"]), ids)
        _STATE.reader_key = key
    return _STATE.reader


def _inside(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"任务中的路径在存储根目录以外：{relative}")
    return path


def _staged(root: Path, task: dict[str, Any]) -> Path:
    """The task's staged file, inside the storage root; a county worker's, inside the folder of a
    township it serves (hostile input: a task naming another place is refused)."""
    staged = _inside(root, task["file"])
    if _STATE.townships is not None:
        from archive.county import TOWNSHIPS_DIR

        township = str(task.get("township") or "")
        if township not in _STATE.townships:
            raise ValueError(f"任务的乡镇「{township}」不是本工作进程服务的乡镇")
        if not staged.is_relative_to((root / TOWNSHIPS_DIR / township).resolve()) or \
                not _inside(root, task["known_ids"]).is_relative_to((root / TOWNSHIPS_DIR / township).resolve()):
            raise ValueError(f"任务中的路径不在乡镇「{township}」的目录中：{task['file']}")
    return staged


def _ocr_task(self, task: dict[str, Any]) -> dict[str, Any]:
    """One staged file: read, prepare, OCR, searchable PDF. Never touches the catalog."""
    root = _STATE.root
    if root is None:
        raise RuntimeError("worker not configured (run it with archive worker)")
    client = self.app.backend.client
    task_id = self.request.id
    me = f"{self.request.hostname or socket.gethostname()}:{os.getpid()}"
    running = _KEY + "running:" + task_id
    # a redelivery while another execution of this task is alive (visibility timeout passed):
    # wait for that one instead of doing the work twice
    while not client.set(running, me, nx=True, ex=HEARTBEAT_SECONDS):
        time.sleep(2)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS / 3):
            client.set(running, me, xx=True, ex=HEARTBEAT_SECONDS)

    heart = threading.Thread(target=beat, daemon=True)
    heart.start()
    try:
        done = self.app.AsyncResult(task_id)
        if done.state == "SUCCESS":
            return done.result
        deliveries = client.incr(_KEY + "deliveries:" + task_id)
        client.expire(_KEY + "deliveries:" + task_id, RESULT_SECONDS)
        staged = _staged(root, task)
        if deliveries > int(task["max_attempts"]):
            processed = Processed(str(staged), bad_input=WORKER_DIED_REASON)
        else:
            searchable = staged.with_name(f"{staged.name}.{task_id[:8]}-{deliveries}.searchable.pdf")
            try:
                processed = _reader(task, root).process(staged, task["title"], searchable)
            except MemoryError:
                processed = Processed(str(staged), bad_input="文件过大，处理时内存不足")
            except Exception as exc:  # one file's failure is reported, the worker goes on
                processed = Processed(str(staged), error=error_text(exc))
        _report(task, processed, me)
        return {**processed_to_json(processed, root), "worker": me}
    finally:
        stop.set()
        heart.join()
        client.delete(running)


def _report(task: dict[str, Any], processed: Processed, me: str) -> None:
    _STATE.files += 1
    _STATE.pages += len(processed.pages)
    _STATE.seconds += processed.seconds
    rate = _STATE.pages / _STATE.seconds * 60 if _STATE.seconds > 0 else 0.0
    outcome = "error" if processed.error else ("bad_input" if processed.bad_input else "done")
    if _STATE.as_json:
        line = json.dumps({"event": "file", "worker": me, "township": task.get("township") or "",
                           "file": task["title"], "outcome": outcome,
                           "reason": processed.error or processed.bad_input or "",
                           "pages": len(processed.pages), "seconds": round(processed.seconds, 3),
                           "worker_files": _STATE.files, "worker_pages": _STATE.pages,
                           "pages_per_minute": round(rate, 1)}, ensure_ascii=False)
    else:
        line = (f"{me}：{'【' + task['township'] + '】' if task.get('township') else ''}{task['title']} {_OUTCOME_ZH[outcome]}，{len(processed.pages)} 页 {processed.seconds:.1f} 秒；"
                f"本进程累计 {_STATE.files} 个文件 {_STATE.pages} 页，{rate:.1f} 页/分钟")
    _STATE.echo(line)
    sys.stdout.flush()


_OUTCOME_ZH = {"done": "完成", "bad_input": "将被隔离", "error": "出错"}
