"""Peak memory of `archive ingest` on hostile and worst-case inputs (issue 10).

Each case builds a fresh archive home, drops its files into the inbox and runs
`python -m archive --home H ingest --json [--workers N]` as a child process. The figure is the
peak resident memory of the whole process tree (the ingest process and its workers, sampled from
/proc every 20 ms and summed), next to ru_maxrss (the largest single process).

Cases:
- bombs: a 124 KB PDF of 1,000 blank pages and a 445-byte PDF whose page renders to 119 MP,
  under the default limits (before: tens of GB and 2.4 GB);
- stream: born-digital PDFs of 24 and 96 pages (a page image is 26 MB at 300 dpi: the old
  pipeline kept them all), to show memory does not grow with pages;
- biggest page: one page just under the default max_page_pixels (36 MP), OCR'd;
- two workers, each on such a page.

    PYTHONPATH=src .venv/bin/python bench/ingest_memory.py [--cases bombs,stream,big,big2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.scanfixtures import blank_pages_pdf, huge_page_pdf, text_pages_pdf  # noqa: E402

PAGE = 4096


def _tree_rss(root_pid: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{name}/statm") as handle:
                rss[int(name)] = int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def run_case(name: str, make, workers: int = 1) -> dict:
    with tempfile.TemporaryDirectory(prefix="ingest-memory-") as folder:
        home = Path(folder) / "home"
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        subprocess.run([sys.executable, "-m", "archive", "--home", str(home), "init", "--township", "青岩镇",
                        "--county", "花溪区", "--fonds", "Z109", "--villages", "龙井村"],
                       check=True, capture_output=True, env=env)
        make(home / "scans")
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "archive", "--home", str(home), "ingest", "--json",
                                  "--workers", str(workers)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 env=env, text=True)
        peak = 0
        while child.poll() is None:
            peak = max(peak, _tree_rss(child.pid))
            time.sleep(0.02)
        out = child.stdout.read()
        seconds = time.perf_counter() - started
        records = [json.loads(line) for line in out.splitlines()]
    return {"case": name, "workers": workers, "seconds": round(seconds, 1),
            "tree_peak_mb": round(peak / 2**20),
            "outcome": ", ".join(f"{Path(r['source']).name}: {r['status']}" for r in records)}


def _bombs(inbox: Path) -> None:
    blank_pages_pdf(inbox / "blank1000.pdf", 1000)
    huge_page_pdf(inbox / "huge-page.pdf", 119e6)


def _stream(pages: int):
    def make(inbox: Path) -> None:
        text_pages_pdf(inbox / f"text{pages}.pdf", pages, ["居民身份证", "公民身份号码 520111198001011234",
                                                          "带文字层的电子文件，用于测量流式处理的内存"])
    return make


def _big(count: int):
    def make(inbox: Path) -> None:
        for index in range(count):
            huge_page_pdf(inbox / f"page36mp-{index}.pdf", 35.9e6 - index * 1e5)  # not byte-identical
    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="bombs,stream,big,big2")
    wanted = parser.parse_args().cases.split(",")
    cases = []
    if "bombs" in wanted:
        cases.append(("bombs: 1,000 blank pages + a 119 MP page", _bombs, 1))
    if "stream" in wanted:
        cases += [("born-digital, 24 pages", _stream(24), 1), ("born-digital, 96 pages", _stream(96), 1)]
    if "big" in wanted:
        cases.append(("one 36 MP page (the default limit), OCR", _big(1), 1))
    if "big2" in wanted:
        cases.append(("two 36 MP pages, 2 workers", _big(2), 2))
    print("| case | workers | seconds | peak RSS, process tree (MB) | outcome |")
    print("| --- | --- | --- | --- | --- |")
    for name, make, workers in cases:
        result = run_case(name, make, workers)
        print(f"| {result['case']} | {workers} | {result['seconds']} | {result['tree_peak_mb']} | {result['outcome']} |",
              flush=True)


if __name__ == "__main__":
    main()
