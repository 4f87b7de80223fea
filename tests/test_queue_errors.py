"""What `ingest` on a county deployment says when the OCR queue cannot do the work (issue #15,
the QA walk through docs/COUNTY.md): no worker serves the township's queue, or Redis is down.
One clear Chinese message, the files stay in the inbox, and a non-zero exit (4, `unavailable`).
Real Redis (tests/servers.py), the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from conftest import run_cli
from countyfixtures import THREE, Township, add_township, use_broker
from test_queue_workers import _scan

from tests.servers import free_port

HEAD = SimpleNamespace(name="张三", id_number="520111197303100673")


def _county_township(tmp_path: Path, broker: str) -> tuple[Path, Township, Path]:
    root = tmp_path / "花溪区"
    township = Township(THREE[0].name, THREE[0].fonds, THREE[0].villages, THREE[0].seed)
    add_township(root, township)
    use_broker(root, township, broker)
    scan = _scan(township.folder(root) / "scans" / "身份证.png", HEAD)
    return root, township, scan


def test_ingest_with_no_worker_says_so_once_and_exits_non_zero(tmp_path, redis_url, monkeypatch):
    monkeypatch.delenv("ARCHIVE_BROKER_URL", raising=False)
    root, township, scan = _county_township(tmp_path, redis_url)

    result = run_cli("--home", str(root), "--township", township.name, "ingest", "--engine", "fake")
    assert result.exit_code == 4, (result.stdout, result.stderr)
    assert "身份证.png：出错，未处理：没有正在运行的 OCR 工作进程，文件留在收件箱" in result.stdout
    assert "处理时出错" not in result.stdout and "如仍出错请报告" not in result.stdout
    assert result.stdout.count("文件留在") == 1  # said once, not wrapped in a second message
    assert "错误：没有正在运行的 OCR 工作进程服务青岩镇的队列 archive.ocr.Z109，1 个文件未处理，留在收件箱" in result.stderr
    assert "提示：请在县级档案库上启动 archive worker" in result.stderr
    assert scan.exists()  # nothing lost

    result = run_cli("--home", str(root), "--township", township.name, "ingest", "--engine", "fake", "--json")
    assert result.exit_code == 4
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["status"] == "failed" and record["reason"].startswith("未处理：没有正在运行的 OCR 工作进程")
    error = json.loads(result.stderr.splitlines()[-1])
    assert error["kind"] == "unavailable" and error["code"] == 4 and "archive.ocr.Z109" in error["error"]
    assert scan.exists()


def test_ingest_with_redis_down_names_the_broker_without_its_password(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHIVE_BROKER_URL", raising=False)
    port = free_port()
    root, township, scan = _county_township(tmp_path, f"redis://:s3cret@127.0.0.1:{port}/0")

    result = run_cli("--home", str(root), "--township", township.name, "ingest", "--engine", "fake")
    assert result.exit_code == 4, (result.stdout, result.stderr)
    assert f"错误：无法连接任务队列 redis://:**@127.0.0.1:{port}/0（连接被拒绝：该地址上没有运行 Redis）" in result.stderr
    assert "提示：请检查 Redis 是否在运行，以及 config.yaml 的 broker_url 或环境变量 ARCHIVE_BROKER_URL" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    assert "内部错误" not in result.stderr and "OperationalError" not in result.stderr
    assert scan.exists()

    monkeypatch.setenv("ARCHIVE_BROKER_URL", f"redis://127.0.0.1:{port}/0")  # the environment wins, same answer
    result = run_cli("--home", str(root), "--township", township.name, "ingest", "--engine", "fake", "--json")
    assert result.exit_code == 4
    error = json.loads(result.stderr.splitlines()[-1])
    assert error["kind"] == "unavailable" and f"127.0.0.1:{port}" in error["error"] and "连接被拒绝" in error["error"]


def test_a_local_ingest_after_asking_the_queue_for_workers_does_not_hang(home, township, redis_url, tmp_path):
    """A process that asked the broker which workers run (the web server, before an upload) and
    then ingests on its own forked pool: the broadcast's connection must not be inherited by the
    forked processes (kombu's after-fork cleanup waited on it for ever, and the run never ended).
    Run in a child process with a deadline, so that a hang fails the test instead of the suite."""
    import os
    import signal
    import subprocess
    import sys

    for index, household in enumerate(h for h in township if h.status == "在保"):
        if index == 3:
            break
        _scan(home.inbox_dir / f"身份证{index}.png", household.head)
    script = f"""
import json
from pathlib import Path
from archive.home import Home
from archive.scans import queue
from archive.scans.ingest import Ingester

asked = queue.Dispatcher({redis_url!r}, Path({str(tmp_path)!r}))  # left open, as a long-lived process would
assert asked.workers(timeout=1) == []
home = Home(Path({str(home.root)!r}))
records = Ingester(home, "fake", workers=2).run([home.inbox_dir])
print(json.dumps(sorted(record.status for record in records)))
"""
    home.close()
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=str(Path(__file__).resolve().parents[1]), start_new_session=True)
    try:
        out, err = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the forked workers too
        child.communicate()
        raise AssertionError("the local ingest never ended: its forked processes hung") from None
    assert child.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == ["filed", "filed", "filed"], out
