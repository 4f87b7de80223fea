"""OCR on Celery workers through a real Redis (tests/servers.py) and real `archive worker`
processes: a worker killed mid-task (SIGKILL) has its task redone, and every scan is filed once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from PIL import Image, PngImagePlugin

from archive.home import Home
from archive.scans import queue
from archive.scans.pipeline import Processed

SRC = Path(__file__).resolve().parent.parent / "src"


def _scan(path: Path, member) -> Path:
    """A PNG the fake engine reads: an ID card of `member` (no model is loaded)."""
    info = PngImagePlugin.PngInfo()
    info.add_text("fake-ocr", f"居民身份证\n姓名 {member.name}\n公民身份号码 {member.id_number}", zip=True)
    Image.new("RGB", (400, 560), "white").save(path, pnginfo=info)
    return path


def _configure(home: Home, broker: str, visibility: int = 5) -> Home:
    """broker_url and a short visibility timeout in config.yaml, read by ingest and the workers."""
    with open(home.config_path, "a", encoding="utf-8") as handle:
        handle.write(f"broker_url: {broker}\ningest:\n  queue_visibility_timeout: {visibility}\n")
    home.close()
    return Home(home.root)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ARCHIVE_BROKER_URL", "ARCHIVE_HOME")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    return {**env, **extra}


class Workers:
    """`archive worker` processes, each in its own process group (so all of it can be killed)."""

    def __init__(self, home: Home, folder: Path) -> None:
        self.home, self.folder, self.procs = home, folder, {}

    def start(self, name: str, seconds_per_page: float, *extra: str) -> None:
        log = open(self.folder / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "archive", "--home", str(self.home.root), "worker", "--concurrency", "1",
             "--name", f"{name}@%h", "--json", *extra],
            stdout=log, stderr=subprocess.STDOUT, env=_env(ARCHIVE_FAKE_OCR_SECONDS=str(seconds_per_page)),
            start_new_session=True)

    def wait_ready(self, dispatcher: queue.Dispatcher, timeout: float = 90) -> None:
        """Wait until every started worker answers on the dispatcher's queue; the dispatcher is
        closed after (its broker connections must not outlive it in this process, which later
        tests fork)."""
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                alive = {name.split("@")[0] for name in dispatcher.workers(timeout=1)}
                if set(self.procs) <= alive:
                    return
                for name, proc in self.procs.items():
                    assert proc.poll() is None, f"worker {name} exited: {self.log(name)}"
            raise AssertionError(f"workers not ready: {[self.log(n) for n in self.procs]}")
        finally:
            dispatcher.close()

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _running(client: redis.Redis, worker: str) -> list[str]:
    """The pool process IDs of `worker` that are in the middle of a task now (heartbeat keys)."""
    found = []
    for key in client.scan_iter("archive:ocr:running:*"):
        value = client.get(key)
        if value and value.decode().startswith(worker + "@"):
            found.append(value.decode().rsplit(":", 1)[1])
    return found


def _deliveries(client: redis.Redis) -> int:
    """How many times a worker has begun reading the one scan of a test (its delivery counter)."""
    counts = [int(client.get(key) or 0) for key in client.scan_iter("archive:ocr:deliveries:*")]
    return max(counts, default=0)


def _wait_running(client: redis.Redis, worker: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = _running(client, worker)
        if pids:
            return int(pids[0])
        time.sleep(0.05)
    raise AssertionError(f"{worker} never started a task")


@pytest.mark.slow
def test_two_workers_one_killed_mid_task_every_scan_filed_once(home, township, redis_url, tmp_path):
    home = _configure(home, redis_url)
    members = [h.head for h in township if h.status == "在保"][:10]
    for index, member in enumerate(members):
        _scan(home.inbox_dir / f"身份证{index:02d}.png", member)
    client = redis.Redis.from_url(redis_url)
    dispatcher = queue.Dispatcher(redis_url, home.root, 5)
    workers = Workers(home, tmp_path)
    workers.start("w1", 1.0)
    workers.start("w2", 1.0)
    try:
        workers.wait_ready(dispatcher)
        ingest = subprocess.Popen(
            [sys.executable, "-m", "archive", "--home", str(home.root), "ingest", "--engine", "fake", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        # 1. only w1's pool process dies mid-task: reject_on_worker_lost puts the task back at once
        child = _wait_running(client, "w1")
        os.kill(child, signal.SIGKILL)
        # 2. all of w2 dies mid-task (machine gone): its task comes back after the visibility timeout
        _wait_running(client, "w2")
        os.killpg(workers.procs["w2"].pid, signal.SIGKILL)
        out, err = ingest.communicate(timeout=240)
        assert ingest.returncode == 0, err
        assert workers.procs["w1"].poll() is None  # w1 lives on with a new pool process
    finally:
        workers.stop()

    records = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in records] == ["filed"] * 10, records
    assert sorted(r["household"] for r in records) == sorted(m.id_number for m in members)
    assert len({r["doc_id"] for r in records}) == 10
    # progress across workers: pages per minute overall and per worker
    assert "页/分钟" in err and "工作进程 w1@" in err

    home = Home(home.root)
    rows = home.db.execute("SELECT doc_id, household_id, pdf_path, original_path, sidecar_path FROM documents "
                           "WHERE origin='scan'").fetchall()
    assert len(rows) == 10  # filed once each, nothing twice
    for row in rows:
        for column in ("pdf_path", "original_path", "sidecar_path"):
            assert (home.root / row[column]).is_file()
    assert [r[0] for r in home.db.execute("SELECT status FROM scans")] == ["filed"] * 10
    assert len(list(home.documents_dir.rglob("*.ocr.json"))) == 10
    assert not [p for p in home.inbox_dir.iterdir()]  # nothing lost, nothing left
    assert not list((home.root / ".ingest").glob("run-*"))  # no staged copies or stray outputs left
    assert not list(client.scan_iter("archive:ocr:deliveries:*"))  # results collected, counters gone
    # each worker reported the files it finished, with its pages per minute
    done = [json.loads(line) for name in ("w1", "w2") for line in workers.log(name).splitlines()
            if line.startswith('{"event": "file"')]
    assert len(done) == 10 and all(e["outcome"] == "done" and e["pages_per_minute"] > 0 for e in done)
    home.close()


def test_ingest_without_a_running_worker_leaves_files_for_the_next_run(home, township, redis_url, tmp_path):
    home = _configure(home, redis_url)
    member = next(h for h in township if h.status == "在保").head
    scan = _scan(home.inbox_dir / "身份证.png", member)
    from archive.scans.ingest import Ingester

    ingester = Ingester(home, "fake")
    records = ingester.run([home.inbox_dir])
    assert [r.status for r in records] == ["failed"]
    assert records[0].reason == "未处理：没有正在运行的 OCR 工作进程，文件留在收件箱"
    assert ingester.failure is not None and ingester.failure.kind == "unavailable"  # the CLI exits 4 after the report
    assert ingester.failure.message == "没有正在运行的 OCR 工作进程服务队列 archive.ocr，1 个文件未处理，留在收件箱"
    assert scan.exists()  # left where it was
    workers = Workers(home, tmp_path)
    workers.start("w1", 0)
    try:
        workers.wait_ready(queue.Dispatcher(redis_url, home.root))
        records = Ingester(home, "fake").run([home.inbox_dir])
    finally:
        workers.stop()
    assert [(r.status, r.household) for r in records] == [("filed", member.id_number)]
    assert not scan.exists()
    assert home.db.execute("SELECT count(*) FROM documents WHERE origin='scan'").fetchone()[0] == 1
    home.close()


def test_a_broker_that_is_not_running_is_a_chinese_error(home, township):
    from archive.errors import UnavailableError
    from archive.scans.ingest import Ingester
    from tests.servers import free_port

    home = _configure(home, f"redis://:secret@127.0.0.1:{free_port()}/0")
    _scan(home.inbox_dir / "身份证.png", next(h for h in township if h.status == "在保").head)
    with pytest.raises(UnavailableError, match="无法连接任务队列.*连接被拒绝") as caught:
        Ingester(home, "fake").run([home.inbox_dir])
    assert "secret" not in str(caught.value)
    home.close()


def test_broker_url_from_environment_overrides_config(home, monkeypatch):
    assert queue.broker_url(home) == ""  # the embedded default: no queue
    monkeypatch.setenv("ARCHIVE_BROKER_URL", "redis://10.0.0.5:6379/1")
    assert queue.broker_url(home) == "redis://10.0.0.5:6379/1"


def test_a_result_naming_a_file_outside_the_staging_folder_is_refused(tmp_path):
    root = tmp_path / "home"
    staged = root / ".ingest" / "run-x" / "00001.png"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"x")
    good = queue.processed_from_json({"searchable_pdf": ".ingest/run-x/00001.png.ab-1.searchable.pdf"}, root, staged)
    assert good.error is None and good.searchable_pdf == str(staged.parent / "00001.png.ab-1.searchable.pdf")
    for hostile in ("config.yaml", "../../etc/passwd", ".ingest/run-y/00001.png.ab-1.searchable.pdf",
                    "documents/2025/x.pdf"):
        refused = queue.processed_from_json({"searchable_pdf": hostile}, root, staged)
        assert isinstance(refused, Processed) and refused.searchable_pdf is None
        assert "暂存区以外" in refused.error
    for malformed in ({"pages": [{"width": "wide"}]}, {"pages": "x"}, {"marks": [[1]]}, {"pages": [None]}):
        assert "格式不对" in queue.processed_from_json(malformed, root, staged).error


@pytest.mark.slow
def test_a_file_that_kills_its_worker_every_time_is_quarantined_not_retried_for_ever(home, township, redis_url,
                                                                                     tmp_path):
    home = _configure(home, redis_url)  # ingest.max_attempts: 2 (the default)
    scan = _scan(home.inbox_dir / "每次都崩溃.png", next(h for h in township if h.status == "在保").head)
    client = redis.Redis.from_url(redis_url)
    workers = Workers(home, tmp_path)
    workers.start("w1", 60.0)  # long enough to be killed in the middle, every time
    try:
        workers.wait_ready(queue.Dispatcher(redis_url, home.root, 5))
        ingest = subprocess.Popen(
            [sys.executable, "-m", "archive", "--home", str(home.root), "ingest", "--engine", "fake", "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
        killed = set()
        for attempt in (1, 2):  # as the kernel's OOM killer would, each time the file is read
            pid = _wait_running(client, "w1", timeout=90)
            # killed only once this delivery is counted: a pool process that dies before it counts
            # the delivery has not read the file yet, and rightly that is not held against the file
            while pid in killed or _deliveries(client) < attempt:
                time.sleep(0.1)
                pid = _wait_running(client, "w1", timeout=90)
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        out, err = ingest.communicate(timeout=180)
    finally:
        workers.stop()
    assert ingest.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in records] == ["quarantined"], records
    assert "多次异常终止" in records[0]["reason"]
    assert not scan.exists() and len(list((home.root / "quarantine").rglob("*.原因.txt"))) == 1
    home.close()


@pytest.mark.slow
def test_a_signed_scan_through_a_worker_with_the_real_engine_is_linked(home, head_id, redis_url, tmp_path):
    """RapidOCR in the worker process: the same result as in-process (tests/test_ingest.py)."""
    import datetime as dt

    import pypdf

    from archive.documents.generate import Generator
    from archive.scans.ingest import Ingester
    from archive.scans.synthetic import Degradation
    from tests.scanfixtures import sealed_scan

    generated = Generator(home).household_document("refusal", head_id, dt.date(2025, 7, 8),
                                                   {"reason": "家庭拥有机动车辆"})
    home = _configure(home, redis_url, visibility=600)
    sealed_scan(generated.pdf, home.inbox_dir / "signed.jpg", Degradation(dpi=200, rotation=90, skew=1.2, seal=True))
    workers = Workers(home, tmp_path)
    workers.start("w1", 0)
    try:
        workers.wait_ready(queue.Dispatcher(redis_url, home.root))
        records = Ingester(home).run([home.inbox_dir])
    finally:
        workers.stop()
    assert [(r.status, r.household) for r in records] == [("linked", head_id)]
    row = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (records[0].doc_id,)).fetchone()
    assert row["source_doc"] == generated.doc_id
    text = pypdf.PdfReader(home.root / row["pdf_path"]).pages[0].extract_text()
    assert "机动车辆" in text.replace("\n", "")  # the searchable PDF the worker wrote
    sidecar = json.loads((home.root / row["sidecar_path"]).read_text(encoding="utf-8"))
    assert sidecar["pages"][0]["engine"] == "rapidocr" and sidecar["pages"][0]["rotation"] == 270
    events = [json.loads(line) for line in workers.log("w1").splitlines() if line.startswith("{")]
    assert [(e["event"], e.get("outcome"), e.get("pages")) for e in events] == [("start", None, None), ("file", "done", 1)]
    home.close()
