"""The 24 tamper kinds of issue 10 against `archive verify` (tests/test_tamper.py builds and tampers).

    PYTHONPATH=src:. .venv/bin/python bench/tamper.py [OLD_SRC]

Each kind is applied to its own copy of a filed home; `archive verify --quick` of this tree (and,
if OLD_SRC is given, of another source tree, e.g. a checkout of an older commit) is run on it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from archive.home import Home
from tests.test_tamper import KINDS, _build


def caught(src: str, home: Path) -> bool:
    run = subprocess.run([sys.executable, "-m", "archive", "--home", str(home), "verify", "--quick"],
                         env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    return run.returncode != 0


def main() -> None:
    trees = ["src", *sys.argv[1:2]]
    base = Path(tempfile.mkdtemp())
    filed = _build(base / "filed")
    totals = dict.fromkeys(trees, 0)
    for kind in KINDS:
        work = Path(tempfile.mkdtemp(dir=base))
        shutil.copytree(filed, work / "home")
        shutil.copy(filed.parent / "catalog-before-filing.sqlite", work / "catalog-before-filing.sqlite")
        home = Home(work / "home")
        kind.tamper(home)
        home.close()
        marks = []
        for tree in trees:
            hit = caught(tree, work / "home")
            totals[tree] += hit
            marks.append(f"{tree}: {'caught' if hit else 'MISSED'}")
        print(f"{kind.tamper.__name__:50s} " + "  ".join(marks), flush=True)
    print("caught: " + ", ".join(f"{tree} {n}/{len(KINDS)}" for tree, n in totals.items()))
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
