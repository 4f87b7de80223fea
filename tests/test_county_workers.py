"""One OCR worker pool for a whole county (issue #15): `archive worker` on a county home serves
every township (a queue per township, files relative to the county home), `--township` narrows it
to one; two townships ingesting at once through two real workers, one killed mid-run, every scan
filed once in its own township. Real Redis (tests/servers.py), real `archive worker` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from countyfixtures import THREE, Township, add_township, import_roster, use_broker
from test_queue_workers import Workers, _env, _scan, _wait_running

from archive.errors import ConfigError
from archive.home import Home
from archive.scans import queue


def _county(root: Path, folder: Path, townships: list[Township], broker: str, roster: bool = True) -> None:
    for township in townships:
        add_township(root, township)
        if roster:
            import_roster(root, township, folder)
        use_broker(root, township, broker)


def _ingest(root: Path, township: Township) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "archive", "--home", str(root), "--township", township.name,
                             "ingest", "--engine", "fake", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


def ingest_with_one_worker_killed(root: Path, townships: list[Township], redis_url: str, tmp_path: Path,
                                  timeout: float) -> tuple[dict, dict, Workers, bool]:
    """Every township's `ingest` at once through two workers of the county home (no --township);
    all of w2 is killed mid-task (its task comes back after the visibility timeout). Returns the
    ingest processes and their (stdout, stderr) by township, the (stopped) workers, whose logs
    stay readable, and whether w1 lived on."""
    client = redis.Redis.from_url(redis_url)
    workers = Workers(SimpleNamespace(root=root), tmp_path)
    workers.start("w1", 1.0)
    workers.start("w2", 1.0)
    try:
        for township in townships:
            workers.wait_ready(queue.Dispatcher(redis_url, root, 5, queue=queue.queue_name(township.fonds)))
        runs = {t.name: _ingest(root, t) for t in townships}
        _wait_running(client, "w2")
        os.killpg(workers.procs["w2"].pid, signal.SIGKILL)
        outputs = {name: run.communicate(timeout=timeout) for name, run in runs.items()}
        return runs, outputs, workers, workers.procs["w1"].poll() is None
    finally:
        workers.stop()


@pytest.mark.slow
def test_two_townships_ingest_at_once_through_one_pool_one_worker_killed(tmp_path, redis_url):
    root = tmp_path / "花溪区"
    townships = [Township(t.name, t.fonds, t.villages, t.seed) for t in THREE[:2]]
    _county(root, tmp_path, townships, redis_url)
    expected = {}
    for township in townships:
        heads = [h.head for h in township.households if h.status == "在保"][:5]
        for index, member in enumerate(heads):
            _scan(township.folder(root) / "scans" / f"身份证{index:02d}.png", member)
        expected[township.name] = sorted(m.id_number for m in heads)
    runs, outputs, workers, w1_lived = ingest_with_one_worker_killed(root, townships, redis_url, tmp_path,
                                                                     timeout=300)
    assert w1_lived

    for township in townships:
        out, err = outputs[township.name]
        assert runs[township.name].returncode == 0, err
        records = [json.loads(line) for line in out.splitlines()]
        assert [r["status"] for r in records] == ["filed"] * 5, records
        assert sorted(r["household"] for r in records) == expected[township.name]  # in its own township
        home = Home(township.folder(root))
        try:
            rows = home.db.execute("SELECT doc_id, pdf_path FROM documents WHERE origin='scan'").fetchall()
            assert len(rows) == 5  # filed once each
            assert all(r["doc_id"].startswith(township.fonds + "-") for r in rows)
            assert all((home.root / r["pdf_path"]).is_file() for r in rows)
            assert [r[0] for r in home.db.execute("SELECT status FROM scans")] == ["filed"] * 5
            assert not list(home.inbox_dir.iterdir())  # nothing lost, nothing left
            assert not list((home.root / ".ingest").glob("run-*"))
        finally:
            home.close()
    done = [json.loads(line) for name in ("w1", "w2") for line in workers.log(name).splitlines()
            if line.startswith('{"event": "file"')]
    assert {e["township"] for e in done if e["worker"].startswith("w1@")} == {"青岩镇", "黔陶乡"}  # one pool
    start = json.loads(workers.log("w1").splitlines()[0])
    assert start["townships"] == ["青岩镇", "黔陶乡"] and start["root"] == str(root)
    assert not list(redis.Redis.from_url(redis_url).scan_iter("archive:ocr:deliveries:*"))


@pytest.mark.slow
def test_a_worker_with_township_serves_only_that_township(tmp_path, redis_url):
    from archive.scans.ingest import Ingester

    root = tmp_path / "花溪区"
    townships = [Township(t.name, t.fonds, t.villages, t.seed) for t in THREE[:2]]
    _county(root, tmp_path, townships, redis_url, roster=False)
    workers = Workers(SimpleNamespace(root=root), tmp_path)
    workers.start("w1", 0, "--township", "黔陶乡")
    try:
        workers.wait_ready(queue.Dispatcher(redis_url, root, queue=queue.queue_name("Z110")))
        other = queue.Dispatcher(redis_url, root, queue=queue.queue_name("Z109"))
        try:
            assert other.workers() == []
        finally:
            other.close()
        home = Home(townships[0].folder(root))
        scan = _scan(home.inbox_dir / "身份证.png", SimpleNamespace(name="张三", id_number="520111197303100673"))
        records = Ingester(home, "fake").run([home.inbox_dir])
        home.close()
    finally:
        workers.stop()
    assert [r.status for r in records] == ["failed"] and "没有正在运行的 OCR 工作进程" in records[0].reason
    assert scan.exists()
    start = json.loads(workers.log("w1").splitlines()[0])
    assert start["townships"] == ["黔陶乡"] and start["queue"] == "archive.ocr.Z110"


def test_a_county_worker_refuses_a_task_outside_the_townships_it_serves(tmp_path, monkeypatch):
    root = tmp_path / "花溪区"
    for name in ("青岩镇", "黔陶乡"):
        (root / "townships" / name / ".ingest" / "run-1").mkdir(parents=True)
        (root / "townships" / name / ".ingest" / "run-1" / "00001.png").write_bytes(b"x")
        (root / "townships" / name / ".ingest" / "run-1" / "known-ids.txt").write_bytes(b"")
    monkeypatch.setattr(queue._STATE, "root", root)
    monkeypatch.setattr(queue._STATE, "townships", frozenset({"青岩镇"}))

    def task(township: str, file_in: str, ids_in: str | None = None) -> dict:
        return {"township": township, "file": f"townships/{file_in}/.ingest/run-1/00001.png",
                "known_ids": f"townships/{ids_in or file_in}/.ingest/run-1/known-ids.txt"}

    assert queue._staged(root, task("青岩镇", "青岩镇")) == (root / "townships/青岩镇/.ingest/run-1/00001.png").resolve()
    with pytest.raises(ValueError, match="不是本工作进程服务的乡镇"):
        queue._staged(root, task("黔陶乡", "黔陶乡"))
    with pytest.raises(ValueError, match="不在乡镇「青岩镇」的目录中"):
        queue._staged(root, task("青岩镇", "黔陶乡"))
    with pytest.raises(ValueError, match="不在乡镇「青岩镇」的目录中"):
        queue._staged(root, task("青岩镇", "青岩镇", "黔陶乡"))
    with pytest.raises(ValueError, match="存储根目录以外"):
        queue._staged(root, {"township": "青岩镇", "file": "../../etc/passwd", "known_ids": "x"})


def test_townships_with_different_brokers_cannot_share_a_worker(tmp_path, monkeypatch):
    from archive.county import CountyHome

    monkeypatch.delenv("ARCHIVE_BROKER_URL", raising=False)
    root = tmp_path / "花溪区"
    townships = [Township(t.name, t.fonds, t.villages, t.seed) for t in THREE[:2]]
    for township, port in zip(townships, (6379, 6380), strict=True):
        add_township(root, township)
        use_broker(root, township, f"redis://127.0.0.1:{port}/0")
    with pytest.raises(ConfigError, match="broker_url）不同"):
        queue.worker_plan(CountyHome(root))
    monkeypatch.setenv("ARCHIVE_BROKER_URL", "redis://127.0.0.1:6390/0")  # one for all
    plan = queue.worker_plan(CountyHome(root))
    assert plan.queues == ["archive.ocr.Z109", "archive.ocr.Z110"] and plan.root == root
    assert plan.townships == ["青岩镇", "黔陶乡"]
    narrowed = queue.worker_plan(Home(townships[1].folder(root)))
    assert narrowed.queues == ["archive.ocr.Z110"] and narrowed.root == root and narrowed.townships == ["黔陶乡"]
