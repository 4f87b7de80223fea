"""The per-file stages, run in worker processes: read → prepare → OCR → searchable PDF.

Nothing here touches the catalog or moves files; ingest.py does that, in one process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from archive.errors import error_text
from archive.rendering import qr
from archive.scans.confidence import check_page
from archive.scans.layout import (
    reading_order,
    restore_page_number_dashes,
    tidy_page_number,
    without_scribbles,
)
from archive.scans.ocr import DEFAULT, OcrEngine, OcrLine, OcrPage, detector_for, get_engine
from archive.scans.prepare import (
    PagePreparer,
    qr_rotation,
    rgb_array,
    rotate_fine,
    rotate_points,
    rotate_quarter,
)
from archive.scans.readers import RENDER_DPI, BadInput, Limits, read_pages
from archive.scans.textfix import (
    correct_id_numbers,
    fix_blood_type,
    fix_chinese_zero,
    fix_masked_ids,
    fix_punctuation,
)


@dataclass
class Processed:
    path: str
    pages: list[OcrPage] = field(default_factory=list)
    marks: list[qr.PageMark] = field(default_factory=list)
    searchable_pdf: str | None = None  # the file written; None for a born-digital PDF (searchable already)
    bad_input: str | None = None
    error: str | None = None     # an unexpected failure (not the file's fault): the file stays where it is
    seconds: float = 0.0
    worker: str | None = None    # which queue worker did it (a county deployment), None in-process

    @property
    def text(self) -> str:
        return "\n".join(page.text for page in self.pages)


class PageReader:
    """One engine and one preparer per worker process, loaded once."""

    def __init__(self, engine: str = DEFAULT, model_dir: str | None = None, limits: Limits | None = None,
                 known_ids: Collection[str] | None = None) -> None:
        self.engine: OcrEngine = get_engine(engine, model_dir)
        self.known_ids = known_ids  # the roster's ID numbers: near misses are corrected to these only
        self.limits = limits or Limits()
        self._preparer: PagePreparer | None = None

    @property
    def preparer(self) -> PagePreparer:
        if self._preparer is None:
            self._preparer = PagePreparer(detector_for(self.engine))
        return self._preparer

    def tidy_text(self, lines: list[OcrLine]) -> list[dict]:
        """Punctuation as printed, masked IDs given their 18 characters and near-miss ID numbers
        corrected (textfix.py), in place;
        returns the corrections, each with the index of its line."""
        corrections = []
        for index, line in enumerate(lines):
            text, masks = fix_masked_ids(line.text)
            if len(text) != len(line.text):
                line.char_confidence = None  # no longer one per character
            text = fix_blood_type(text, lines[index - 1].text if index else "")
            text = fix_chinese_zero(text)
            text, found = correct_id_numbers(fix_punctuation(text), self.known_ids)
            line.text = text
            corrections += [{"line": index, **item} for item in masks]
            corrections += [{"line": index, **item.to_json()} for item in found]
        return corrections

    def ocr_image(self, image: Image.Image) -> tuple[OcrPage, Image.Image, list[qr.PageMark]]:
        """OCR one page image; returns the page (boxes in the straightened image), the upright
        and straightened colour image, and QR marks."""
        prepared = self.preparer.prepare(image)
        if self.engine.detects:
            # the preparer's detection serves the engine: lines are cut from the page as it
            # lies, then their boxes are moved to where straightening puts them
            lines = self.engine.recognize_boxes(prepared.gray, prepared.boxes)
            restore_page_number_dashes(prepared.gray, lines)
            for line in lines:
                line.box = rotate_points(np.asarray(line.box), prepared.gray.shape, prepared.skew).tolist()
        else:
            straightened = prepared.image
            lines = self.engine.recognize(straightened)
            restore_page_number_dashes(straightened, lines)
        source = prepared.source if prepared.source is not None else image
        colour = rotate_quarter(prepared.colour if prepared.colour is not None else rgb_array(source),
                                prepared.rotation)
        upright = rotate_fine(np.ascontiguousarray(colour), prepared.skew)
        height, width = prepared.gray.shape[:2]
        # the page number first: its parts can be dashes alone
        lines = without_scribbles(tidy_page_number(reading_order(lines, prepared.cells), height))
        corrections = self.tidy_text(lines)
        page = OcrPage(width, height, lines, self.engine.name, "ocr", prepared.rotation,
                       round(prepared.skew, 2), corrections)
        page.review = check_page(page)  # ingest checks again with the roster's names
        return page, Image.fromarray(upright), prepared.marks

    def process(self, path: Path, title: str = "", searchable: Path | None = None,
                on_page: Callable[[int, int], None] | None = None) -> Processed:
        """Read, prepare and OCR the pages one at a time; with `searchable`, write the searchable
        PDF there page by page (removed again for a born-digital PDF, which is searchable as it is).
        No page image outlives its page: memory stays bounded however many pages there are.
        `on_page(page, pages)` is called after each page (pages: 0 when the file does not say)."""
        started = time.perf_counter()
        result = Processed(str(path))
        writer = None
        if searchable is not None:
            # imported only when written: it brings the PDF writer (reportlab, pypdf), a tenth
            # of a second of CPU that `archive ocr` of one file does not need
            from archive.scans.searchable import SearchablePdf

            writer = SearchablePdf(searchable, title or path.name)
        born_digital = True
        self.engine.begin_file(path)
        try:
            for source in read_pages(path, RENDER_DPI, self.limits):
                if source.text_layer is not None:
                    _, marks = qr_rotation(source.image)
                    lines = [OcrLine(text, [], 1.0) for text in source.text_layer.splitlines() if text.strip()]
                    page = OcrPage(source.image.width, source.image.height, lines, "", "text-layer")
                    upright = source.image
                else:
                    born_digital = False
                    page, upright, marks = self.ocr_image(source.image)
                result.pages.append(page)
                result.marks += marks
                if writer is not None:
                    writer.add(upright, page, source.dpi)
                if on_page is not None:
                    on_page(source.number, source.of)
                del source, upright
            if writer is not None and not born_digital:
                writer.close()
        except BadInput as exc:
            result.bad_input = str(exc)
        except MemoryError:
            result.bad_input = "文件过大，处理时内存不足"
        if result.bad_input:
            result.pages, result.marks = [], []
        if searchable is not None:
            if result.bad_input or born_digital:
                searchable.unlink(missing_ok=True)
            else:
                result.searchable_pdf = str(searchable)
        result.seconds = time.perf_counter() - started
        return result


# --- worker process plumbing --------------------------------------------------------------

_READER: PageReader | None = None
_ON_PAGE: Callable[[int, int], None] | None = None  # in-process runs only (ingest with one worker)


def set_page_hook(hook: Callable[[int, int], None] | None) -> None:
    """Report each page of the files processed in this process (a pool's workers do not report)."""
    global _ON_PAGE
    _ON_PAGE = hook


def init_worker(engine: str, model_dir: str | None, limits: Limits | None = None,
                known_ids: Collection[str] | None = None) -> None:
    global _READER
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # one thread per worker: the workers share the cores (ONNX Runtime is given one thread in
    # rapid.py), and OpenCV would otherwise start a thread per core in every worker
    import cv2

    cv2.setNumThreads(int(os.environ.get("ARCHIVE_OCR_THREADS", "1")))
    _READER = PageReader(engine, model_dir, limits, known_ids)


def process_in_worker(task: tuple[str, str | None, str]) -> Processed:
    """task: (file to read, where to write its searchable PDF or None, title)."""
    assert _READER is not None, "init_worker was not called"
    path, searchable, title = task
    try:
        extra = {"on_page": _ON_PAGE} if _ON_PAGE is not None else {}
        return _READER.process(Path(path), title, Path(searchable) if searchable else None, **extra)
    except MemoryError:
        return Processed(path, bad_input="文件过大，处理时内存不足")
    except Exception as exc:  # one file's failure never stops the batch
        return Processed(path, error=error_text(exc))
