"""Where one OCR worker's time goes on a page: CPU seconds per stage (issue 17).

Run by hand:  PYTHONPATH=src .venv/bin/python bench/ocr_profile.py [--pages 5] [--top 60]

Flat A4 scans at 300 dpi of our notices and forms (bench/ocr.py's build_pages, seed 11), read by
one PageReader as a worker does (read, prepare, detect, recognise, tidy, searchable PDF), after
one warm-up page. The profile's clock is `time.process_time`: CPU seconds, which a loaded machine
changes far less than wall time, so two trees can be compared on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import ocr

    from archive.scans import pipeline
    from archive.scans.synthetic import Degradation, save_scan, scan_of

    work = Path(tempfile.mkdtemp(prefix="bench-ocr-profile-"))
    rng = random.Random(5)
    files = []
    for index, (pdf, page) in enumerate(ocr.build_pages(work, 3, 11)[: args.pages]):
        files.append(save_scan(scan_of(pdf, Degradation(dpi=300), rng, page=page), work / f"flat-{index}.png", 300, None))
    started = time.process_time()
    pipeline.init_worker("rapidocr", None)
    reader = pipeline._READER
    reader.process(files[0], searchable=work / "out.pdf")  # models loaded, caches warm
    print(f"start-up and first page: {time.process_time() - started:.2f} CPU s")
    profile = cProfile.Profile(time.process_time)
    started = time.process_time()
    profile.enable()
    for path in files[1:]:
        reader.process(path, searchable=work / "out.pdf")
    profile.disable()
    print(f"CPU s per page: {(time.process_time() - started) / (len(files) - 1):.2f} over {len(files) - 1} pages")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
