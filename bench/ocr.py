"""OCR quality and speed, the one evaluation entry point (issues 8 and 17).

Run by hand:  PYTHONPATH=src .venv/bin/python bench/ocr.py [--set all|templates|other|speed]
              [--documents 3] [--pages 4] [--classes fonts,seal,...] [--workers 2] [--no-tesseract]
              [--half held-out|tune] [--show-errors]

Three parts, each on pages made here (nothing is committed but the scripts):

- templates: our own documents (notices with stubs, forms, a publicity sheet), scanned
  synthetically under each degradation (resolution, rotation, skew, noise, JPEG, a red seal over
  the signature and date, a phone-like photo). Per degradation: character error rate (CER) of our
  pipeline (prepare + rapidocr) against the page's own text, whitespace removed and both sides
  NFKC-normalised (full- and half-width forms count as equal); the page's text is put in reading
  order by the same rule as the OCR output (rows of text; ruled tables cell by cell, the cells
  found on a clean rendering of the page), and an order-free figure beside it as a check; the
  same for Tesseract chi_sim on the raw scan and through our pipeline.
- other: paper we did not print (bench/ocr_eval.py draws it: other fonts and layouts, seals,
  masked IDs, photocopies, phone photos, colour ID card and 户口簿 copies, a skewed dense table,
  handwriting by proxy). CER per class on the held-out half (odd page numbers; the even ones are
  for tuning: `--half tune --show-errors` reports them with each error in context), for our pipeline, RapidOCR with its defaults on the raw page (no preparation of
  ours), and Tesseract chi_sim on the raw page.
- speed: flat A4 scans at 300 dpi of our templates, as PNG files, read by N worker processes:
  pages per minute of our pipeline (read, prepare, OCR, tidy: what ingest does, less writing the
  searchable PDF) and of RapidOCR defaults on the same files, in the same run; the workers' peak
  memory (RSS).
Needs: `pip install rapidfuzz`; Tesseract from Debian (tesseract-ocr tesseract-ocr-chi-sim) is optional.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from archive import sample
from archive.config import Config
from archive.documents.generate import Generator
from archive.home import init_home
from archive.roster.importer import import_roster
from archive.scans.synthetic import Degradation, save_scan, scan_of

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ocr_eval  # noqa: E402  (the other set's page builders, beside this file)

DAY = dt.date(2025, 7, 8)
DEGRADATIONS = [
    Degradation(dpi=300),
    Degradation(dpi=200),
    Degradation(dpi=300, rotation=90),
    Degradation(dpi=300, rotation=180),
    Degradation(dpi=300, rotation=270),
    Degradation(dpi=300, skew=2.5),
    Degradation(dpi=300, skew=-1.5, noise=10),
    Degradation(dpi=300, jpeg=45),
    Degradation(dpi=300, seal=True, signature=True),
    Degradation(dpi=200, skew=3.0, blur=1.0, noise=8, jpeg=60, seal=True),  # phone-like
]


def build_pages(work: Path, documents: int, seed: int = 4) -> list[tuple[Path, int]]:
    home = init_home(work / "home", Config(fonds="Z109", county="花溪区", township="青岩镇",
                                           villages=list(sample.VILLAGES), complaint_phone="0851-83200000",
                                           office_phone="0851-83200001"))
    township = sample.make_township(60, DAY.replace(day=1), seed=seed)
    import_roster(home.db, sample.write_roster_xlsx(township, work / "r.xlsx"), home.config, "bench")
    generator = Generator(home)
    heads = [h.head.id_number for h in township if h.status == "在保" and len(h.members) > 1]
    kinds = [("refusal", {"reason": "家庭拥有机动车辆且不属于规定的例外情形"}), ("suspension", {"reason": "家庭成员务工收入增加"}),
             ("adjustment", {"new_amount": "600", "reason": "定期复核中家庭收入发生变化"}), ("confirmation", {}),
             ("approval", {}), ("home-visit", {}), ("application", {}), ("declaration", {}), ("authorization", {})]
    pages = []
    for index in range(documents):
        kind, params = kinds[index % len(kinds)]
        result = generator.household_document(kind, heads[index], DAY, params)
        pages.append((Path(result.pdf), 0))
        if kind in ("refusal", "suspension"):
            pages.append((Path(result.pdf), 1))  # the stub
    if documents > len(kinds):  # a publicity sheet: a table of many rows
        village = township[0].village
        result = generator.publicity(village, dt.date(2000, 1, 1), DAY, DAY)
        pages.append((Path(result.pdf), 0))
    home.close()
    return pages


def ground_truth(pdf: Path, page: int) -> tuple[str, str]:
    """The page's own text in the reading order our OCR output uses: runs of characters (split
    at wide gaps, as table cells are) ordered by the same reading_order(), with the table cells
    found on a clean rendering of the page. Returns the whole text and the text without page
    furniture (the page number line and the QR caption)."""
    import numpy as np
    import pypdfium2 as pdfium

    from archive.scans.layout import find_cells, reading_order
    from archive.scans.ocr.base import OcrLine

    document = pdfium.PdfDocument(str(pdf))
    pdf_page = document[page]
    height = pdf_page.get_size()[1]
    clean = np.asarray(pdf_page.render(scale=150 / 72).to_pil().convert("L"))
    cells = [tuple(v * 72 / 150 for v in cell) for cell in find_cells(clean, height / 72 * 25.4)]
    textpage = pdf_page.get_textpage()
    chars = []
    for index in range(textpage.count_chars()):
        char = textpage.get_text_range(index, 1)
        # the font's box, not the glyph's: a comma's ink sits low, its line does not
        left, bottom, right, top = textpage.get_charbox(index, loose=True)
        chars.append((char, left, height - top, right, height - bottom))
    document.close()
    rows: list[list[tuple]] = []
    for char in sorted((c for c in chars if c[0].strip()), key=lambda c: (c[2] + c[4]) / 2):
        middle, size = (char[2] + char[4]) / 2, char[4] - char[2]
        if rows:
            last = rows[-1]
            last_middle = sum((c[2] + c[4]) / 2 for c in last) / len(last)
            if abs(middle - last_middle) < max(size, last[0][4] - last[0][2]) * 0.5:
                last.append(char)
                continue
        rows.append([char])
    runs: list[list[tuple]] = []
    for row in rows:
        row.sort(key=lambda c: c[1])
        typical = statistics.median(c[4] - c[2] for c in row)
        runs.append([row[0]])
        for char in row[1:]:
            if char[1] - runs[-1][-1][3] > typical * 1.5:
                runs.append([char])
            else:
                runs[-1].append(char)
    lines = [OcrLine("".join(c[0] for c in run),
                     [[run[0][1], min(c[2] for c in run)], [run[-1][3], min(c[2] for c in run)],
                      [run[-1][3], max(c[4] for c in run)], [run[0][1], max(c[4] for c in run)]], 1.0)
             for run in runs]
    ordered = reading_order(lines, cells)
    whole = "\n".join(line.text for line in ordered)
    # page furniture lies outside the GB/T 9704 text block: top margin 37 mm, bottom 35 mm
    top, bottom = 37 / 25.4 * 72, height - 35 / 25.4 * 72
    content = "\n".join(line.text for line in ordered if line.box[2][1] > top and line.box[0][1] < bottom)
    return whole, content


def normal(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def order_free_errors(truth: str, got: str) -> int:
    """Character errors with the order left out (the larger of characters missing and characters
    extra, as multisets): a lower bound of the edit distance, and a check that the reading
    order the ground truth and the OCR share is not what makes the figure."""
    expected, found = Counter(truth), Counter(got)
    return max(sum((expected - found).values()), sum((found - expected).values()))


_READER = None
_TESSERACT = None


def _init(engine: str) -> None:
    """A worker as ingest starts it (pipeline.init_worker: one thread for ONNX Runtime and OpenCV)."""
    global _READER
    from archive.scans import pipeline

    pipeline.init_worker(engine, None)
    _READER = pipeline._READER


def _scan(recipe):
    pdf, page, spec, seed = recipe
    return scan_of(Path(pdf), spec, random.Random(seed), page=page, seal_on="青岩镇人民政府" if page == 0 else None)


def _ours(item):
    key, recipe = item
    image = _scan(recipe)  # made in the worker: its memory is the pipeline's, not the parent's
    started = time.perf_counter()
    page, _, _ = _READER.ocr_image(image)
    seconds = time.perf_counter() - started
    # page furniture lies outside the text block (GB/T 9704: top margin 37 mm, bottom 35 mm of 297)
    top, bottom = page.height * 37 / 297, page.height * (297 - 35) / 297
    content = "\n".join(line.text for line in page.lines
                         if max(p[1] for p in line.box) > top and min(p[1] for p in line.box) < bottom)
    return key, (page.text, content), seconds


def _tesseract(item):
    """Tesseract on the raw scan, and through our pipeline (prepared page, same reading order)."""
    key, recipe = item
    import numpy as np

    from archive.scans.pipeline import PageReader

    global _TESSERACT
    if _TESSERACT is None:
        _TESSERACT = PageReader("tesseract")
    image = _scan(recipe)
    raw = "\n".join(line.text for line in _TESSERACT.engine.recognize(np.asarray(image.convert("L"))))
    page, _, _ = _TESSERACT.ocr_image(image)
    return key, raw, page.text


def templates_section(args, work: Path) -> None:
    """CER per degradation on scans of our own templates (the class of its own)."""
    rng = random.Random(args.seed + 1)
    pages = build_pages(work, args.documents, args.seed)
    truths = {i: ground_truth(pdf, page) for i, (pdf, page) in enumerate(pages)}
    items = [((d, i), (str(pdf), page, spec, rng.randrange(1 << 30)))
             for d, spec in enumerate(DEGRADATIONS) for i, (pdf, page) in enumerate(pages)]
    print(f"{len(pages)} pages x {len(DEGRADATIONS)} degradations = {len(items)} scans", flush=True)
    context = mp.get_context("spawn")  # workers start small: their peak is the pipeline's own
    with context.Pool(args.workers, initializer=_init, initargs=("rapidocr",)) as pool:
        started = time.perf_counter()
        ours = {key: (text, seconds) for key, text, seconds in pool.imap_unordered(_ours, items)}
        all_wall = time.perf_counter() - started
        # throughput at 300 dpi: the clean and sealed 300 dpi pages again, timed on their own
        at300 = [(key, image) for key, image in items if DEGRADATIONS[key[0]].dpi == 300][: max(24, len(pages) * 3)]
        started = time.perf_counter()
        list(pool.imap_unordered(_ours, at300))
        wall300 = time.perf_counter() - started
    worker_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    tess: dict = {}
    if not args.no_tesseract and shutil.which("tesseract"):
        with context.Pool(args.workers) as pool:
            started = time.perf_counter()
            tess = {key: (raw, fixed) for key, raw, fixed in pool.imap_unordered(_tesseract, items)}
            tess_wall = time.perf_counter() - started
    rows = []
    totals = {"ours": [0, 0], "ours_content": [0, 0], "ours_order_free": [0, 0], "tess_raw": [0, 0],
              "tess_prepared": [0, 0]}
    for d, spec in enumerate(DEGRADATIONS):
        acc = {"ours": [0, 0], "ours_content": [0, 0], "ours_order_free": [0, 0], "tess_raw": [0, 0],
               "tess_prepared": [0, 0]}
        seconds = []
        for i in range(len(pages)):
            truth = normal(truths[i][0])
            text, took = ours[(d, i)]
            seconds.append(took)
            text, content = text
            acc["ours_content"][0] += Levenshtein.distance(normal(truths[i][1]), normal(content))
            acc["ours_content"][1] += len(normal(truths[i][1]))
            acc["ours_order_free"][0] += order_free_errors(truth, normal(text))
            acc["ours_order_free"][1] += len(truth)
            for name, got in (("ours", text),) + ((("tess_raw", tess[(d, i)][0]), ("tess_prepared", tess[(d, i)][1])) if tess else ()):
                acc[name][0] += Levenshtein.distance(truth, normal(got))
                acc[name][1] += len(truth)
        row = {"degradation": spec.label(), "s_per_page": round(statistics.mean(seconds), 2)}
        for name, (errors, chars) in acc.items():
            if chars:
                row[f"cer_{name}"] = round(errors / chars * 100, 2)
                totals[name][0] += errors
                totals[name][1] += chars
        rows.append(row)
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    summary = {
        "scans": len(items),
        "cer_ours_percent": round(totals["ours"][0] / totals["ours"][1] * 100, 3),
        "cer_ours_without_page_furniture_percent": round(totals["ours_content"][0] / totals["ours_content"][1] * 100, 3),
        "cer_ours_order_free_percent": round(totals["ours_order_free"][0] / totals["ours_order_free"][1] * 100, 3),
        "pages_per_min_all_degradations_scan_made_in_worker": round(len(items) / all_wall * 60, 1),
        f"pages_per_min_300dpi_{args.workers}_workers": round(len(at300) / wall300 * 60, 1),
        "worker_peak_rss_mb": round(worker_peak_mb),
        "main_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if tess:
        summary["cer_tesseract_raw_percent"] = round(totals["tess_raw"][0] / totals["tess_raw"][1] * 100, 2)
        summary["cer_tesseract_prepared_percent"] = round(totals["tess_prepared"][0] / totals["tess_prepared"][1] * 100, 2)
        # each Tesseract item OCRs the page twice (raw and prepared)
        summary["tesseract_pages_per_min_all"] = round(2 * len(items) / tess_wall * 60, 1)
    print(json.dumps(summary, ensure_ascii=False, indent=2))



# --- other: paper we did not print (bench/ocr_eval.py builds it) -------------------------------

_PEER = None


def _init_other() -> None:
    _init("rapidocr")


def _rapidocr_defaults():
    """RapidOCR as it comes (its default parameters), with no preparation of ours: the peer."""
    global _PEER
    if _PEER is None:
        from rapidocr import RapidOCR

        _PEER = RapidOCR(params={"Global.log_level": "error",
                                 "EngineConfig.onnxruntime.intra_op_num_threads": 1})
    return _PEER


def _peer_text(image) -> str:
    import numpy as np

    result = _rapidocr_defaults()(np.asarray(image.convert("RGB"))[:, :, ::-1])
    return "\n".join(result.txts or ())


def _other_ours(task):
    cls, index, seed = task
    page = ocr_eval.build(cls, index, seed)
    started = time.perf_counter()
    ocr, _, _ = _READER.ocr_image(page.image)
    seconds = time.perf_counter() - started
    return (cls, index, ocr_eval.cer(page.truth, ocr.text), ocr_eval.order_free(page.truth, ocr.text), seconds,
            ocr_eval.differences(page.truth, ocr.text))


def _other_peer(task):
    cls, index, seed = task
    page = ocr_eval.build(cls, index, seed)
    return cls, index, ocr_eval.cer(page.truth, _peer_text(page.image))


def _other_tesseract(task):
    import numpy as np

    from archive.scans.ocr.tesseract import TesseractEngine

    cls, index, seed = task
    page = ocr_eval.build(cls, index, seed)
    lines = TesseractEngine().recognize(np.asarray(page.image.convert("L")))
    return cls, index, ocr_eval.cer(page.truth, "\n".join(line.text for line in lines))


def other_section(args) -> None:
    """CER per class on the held-out half of the set we did not print."""
    classes = args.classes.split(",")
    first = 1 if args.half == "held-out" else 0  # odd pages are held out, even ones are for tuning
    tasks = [(cls, 2 * i + first, args.eval_seed) for cls in classes for i in range(args.pages)]
    context = mp.get_context("spawn")
    with context.Pool(args.workers, initializer=_init_other) as pool:
        ours = pool.map(_other_ours, tasks, chunksize=1)
    peer, tess = [], []
    if not args.no_peer:
        with context.Pool(args.workers) as pool:
            peer = pool.map(_other_peer, tasks, chunksize=1)
    if not args.no_tesseract and shutil.which("tesseract"):
        with context.Pool(args.workers) as pool:
            tess = pool.map(_other_tesseract, tasks, chunksize=1)

    def rate(results, cls_set) -> tuple[float | None, int]:
        errors = sum(r[2][0] for r in results if r[0] in cls_set)
        chars = sum(r[2][1] for r in results if r[0] in cls_set)
        return (100 * errors / chars if chars else None), chars

    def cell(value: float | None) -> str:
        return f"{value:8.2f}%" if value is not None else "        -"

    print(f"{args.half} pages: {len(tasks)} ({args.pages} per class), seed {args.eval_seed}, {ocr_eval.DPI} dpi A4")
    print(f"{'class':<12} {'chars':>6} {'ours':>9} {'worst':>9} {'order-free':>10} {'rapidocr':>9} {'tesseract':>9}")
    for cls in [*classes, "printed"]:
        group = {cls} if cls != "printed" else {c for c in classes if c in ocr_eval.PRINTED}
        value, chars = rate(ours, group)
        worst = max((100 * r[2][0] / max(1, r[2][1]) for r in ours if r[0] in group), default=None)
        free = sum(r[3] for r in ours if r[0] in group)
        label = cls if cls != "handwriting" else "handwriting*"
        print(f"{label:<12} {chars:>6} {cell(value)} {cell(worst)} {cell(100 * free / max(1, chars)):>10} "
              f"{cell(rate(peer, group)[0])} {cell(rate(tess, group)[0])}")
    print("printed: every class but handwriting. *handwriting is a PROXY: AR PL UKai (a print font in a"
          " brush style) with per-character jitter, slant, turn and a smooth warp, not real handwriting")
    print(f"median seconds per page in a worker (ours, build excluded): {statistics.median(r[4] for r in ours):.2f}")
    if args.show_errors:
        if args.half == "held-out":
            raise SystemExit("--show-errors 只用于调参的一半（--half tune）：留出的一半只看数字")
        for cls, index, (errors, chars), _, _, diffs in sorted(ours, key=lambda r: (r[0], r[1])):
            if errors:
                print(f"{cls} page {index}: {errors}/{chars}")
                for truth, got in diffs:
                    print(f"    {truth!r} -> {got!r}")


# --- speed: flat A4 at 300 dpi, our pipeline and RapidOCR defaults on the same files ------------

def _speed_ours(path: str) -> tuple[int, float]:
    started = time.perf_counter()
    processed = _READER.process(Path(path))
    return len(processed.pages), time.perf_counter() - started


def _speed_peer(path: str) -> tuple[int, float]:
    started = time.perf_counter()
    _rapidocr_defaults()(path)
    return 1, time.perf_counter() - started


def _init_peer() -> None:
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _rapidocr_defaults()


def speed_section(args, work: Path) -> None:
    pages = build_pages(work / "speed", max(3, args.speed_pages // 2), args.seed + 7)[: args.speed_pages]
    rng = random.Random(args.seed + 9)
    files = []
    for index, (pdf, page) in enumerate(pages):
        image = scan_of(pdf, Degradation(dpi=300), rng, page=page)
        files.append(str(save_scan(image, work / f"flat-{index:03d}.png", 300, None)))
    print(f"speed: {len(files)} flat A4 scans at 300 dpi (PNG), {args.workers} worker processes", flush=True)
    context = mp.get_context("spawn")
    figures = {}
    for label, init, job in (("ours", _init_other, _speed_ours), ("rapidocr_defaults", _init_peer, _speed_peer)):
        if label != "ours" and args.no_peer:
            continue
        with context.Pool(args.workers, initializer=init) as pool:
            pool.map(job, files[: args.workers], chunksize=1)  # models loaded, caches warm
            started = time.perf_counter()
            done = pool.map(job, files, chunksize=1)
            wall = time.perf_counter() - started
        figures[f"pages_per_min_{label}"] = round(sum(n for n, _ in done) / wall * 60, 1)
        figures[f"median_s_per_page_{label}"] = round(statistics.median(s for _, s in done), 2)
    figures["worker_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    figures["load_average_1min_at_end"] = round(__import__("os").getloadavg()[0], 1)
    print(json.dumps(figures, ensure_ascii=False, indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=["all", "templates", "other", "speed"], default="all")
    parser.add_argument("--documents", type=int, default=8, help="templates: documents generated")
    parser.add_argument("--seed", type=int, default=4, help="templates: the sample township (other households, other text)")
    parser.add_argument("--pages", type=int, default=4, help="other: pages per class of the half reported (as many in the other half)")
    parser.add_argument("--eval-seed", type=int, default=17, help="other: the generated set")
    parser.add_argument("--half", choices=["held-out", "tune"], default="held-out",
                        help="other: report the held-out half (odd pages) or the tune half (even pages)")
    parser.add_argument("--show-errors", action="store_true", help="other, tune half only: each error in context")
    parser.add_argument("--classes", default=",".join(ocr_eval.CLASSES), help="other: the classes to run")
    parser.add_argument("--speed-pages", type=int, default=16, help="speed: flat 300 dpi pages")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-tesseract", action="store_true")
    parser.add_argument("--no-peer", action="store_true", help="leave out RapidOCR with its defaults")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-ocr-"))
    print(f"started {dt.datetime.now():%Y-%m-%d %H:%M}, load average {__import__('os').getloadavg()[0]:.1f}", flush=True)
    try:
        if args.set in ("all", "templates"):
            print("== templates (our own documents) ==", flush=True)
            templates_section(args, work)
        if args.set in ("all", "other"):
            print("== other (paper we did not print), held-out half ==", flush=True)
            other_section(args)
        if args.set in ("all", "speed"):
            print("== speed ==", flush=True)
            speed_section(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
