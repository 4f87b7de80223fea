"""Cost of making and opening archive homes (the catalog's schema work): 40 new homes with
init_home, then 40 openings of an existing home (Home.db and one query), in one process.

    PYTHONPATH=src .venv/bin/python bench/catalog_open.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from archive.config import Config
from archive.home import Home, init_home

N = 40


def main() -> None:
    config = dict(fonds="Z109", county="花溪区", township="青岩镇", villages=["龙井村"])
    with tempfile.TemporaryDirectory() as folder:
        made, opened = [], []
        for i in range(N):
            start = time.perf_counter()
            home = init_home(Path(folder) / f"h{i}", Config(**config))
            home.db.execute("SELECT 1")
            home.close()
            made.append(time.perf_counter() - start)
        for i in range(N):
            start = time.perf_counter()
            home = Home(Path(folder) / f"h{i}")
            home.db.execute("SELECT count(*) FROM documents")
            home.close()
            opened.append(time.perf_counter() - start)
    print(f"first init {made[0] * 1000:.0f} ms, median init {statistics.median(made) * 1000:.1f} ms, "
          f"median open {statistics.median(opened) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
