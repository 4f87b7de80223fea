"""The per-file stages, run in worker processes: read → prepare → OCR → searchable PDF.

Nothing here touches the catalog or moves files; ingest.py does that, in one process.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from archive.documents import qr
from archive.scans.layout import (
    reading_order,
    restore_page_number_dashes,
    tidy_page_number,
    without_scribbles,
)
from archive.scans.ocr import OcrEngine, OcrLine, OcrPage, get_engine
from archive.scans.prepare import (
    PagePreparer,
    qr_rotation,
    rotate_fine,
    rotate_points,
    rotate_quarter,
)
from archive.scans.readers import BadInput, read_pages


@dataclass
class Processed:
    path: str
    pages: list[OcrPage] = field(default_factory=list)
    marks: list[qr.PageMark] = field(default_factory=list)
    searchable_pdf: bytes | None = None  # None for a born-digital PDF (it is searchable already)
    bad_input: str | None = None
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(page.text for page in self.pages)


class PageReader:
    """One engine and one preparer per worker process, loaded once."""

    def __init__(self, engine: str = "rapidocr", model_dir: str | None = None) -> None:
        self.engine: OcrEngine = get_engine(engine, model_dir)
        self._preparer: PagePreparer | None = None

    @property
    def preparer(self) -> PagePreparer:
        if self._preparer is None:
            self._preparer = PagePreparer(getattr(self.engine, "rapid", None))
        return self._preparer

    def ocr_image(self, image: Image.Image) -> tuple[OcrPage, Image.Image, list[qr.PageMark]]:
        """OCR one page image; returns the page (boxes in the straightened image), the upright
        and straightened colour image, and QR marks."""
        prepared = self.preparer.prepare(image)
        if hasattr(self.engine, "recognize_boxes"):
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
        colour = rotate_quarter(np.asarray(image.convert("RGB")), prepared.rotation)
        upright = rotate_fine(np.ascontiguousarray(colour), prepared.skew)
        height, width = prepared.gray.shape[:2]
        # the page number first: its parts can be dashes alone
        lines = without_scribbles(tidy_page_number(reading_order(lines, prepared.cells), height))
        page = OcrPage(width, height, lines, self.engine.name, "ocr", prepared.rotation,
                       round(prepared.skew, 2))
        return page, Image.fromarray(upright), prepared.marks

    def process(self, path: Path, title: str = "") -> Processed:
        from archive.scans.searchable import write_searchable_pdf

        started = time.perf_counter()
        result = Processed(str(path))
        rendered: list[tuple[Image.Image, OcrPage, float]] = []
        born_digital = True
        try:
            for source in read_pages(path):
                if source.text_layer is not None:
                    _, marks = qr_rotation(source.image)
                    lines = [OcrLine(text, [], 1.0) for text in source.text_layer.splitlines() if text.strip()]
                    page = OcrPage(source.image.width, source.image.height, lines, "", "text-layer")
                    result.pages.append(page)
                    result.marks += marks
                    rendered.append((source.image, page, source.dpi))
                    continue
                born_digital = False
                page, upright, marks = self.ocr_image(source.image)
                result.pages.append(page)
                result.marks += marks
                rendered.append((upright, page, source.dpi))
        except BadInput as exc:
            result.bad_input = str(exc)
            return result
        if not born_digital:
            result.searchable_pdf = write_searchable_pdf(rendered, title or path.name)
        result.seconds = time.perf_counter() - started
        return result


# --- worker process plumbing --------------------------------------------------------------

_READER: PageReader | None = None


def init_worker(engine: str, model_dir: str | None) -> None:
    global _READER
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _READER = PageReader(engine, model_dir)


def process_in_worker(path: str) -> Processed:
    assert _READER is not None, "init_worker was not called"
    try:
        return _READER.process(Path(path))
    except MemoryError:
        return Processed(path, bad_input="文件过大，处理时内存不足")
