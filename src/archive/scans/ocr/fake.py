"""A fake engine, FOR TESTS ONLY: it loads no model and recognises nothing.

Tests that do not need OCR (PDFs with a text layer, queue and inbox logic) use it so that no
ONNX model is loaded. It reads no pixels: a page's text is whatever a sidecar next to the file
says — `<file>.fake-ocr.txt` (UTF-8), pages separated by a form feed (\\f) — or, for a PNG,
its `fake-ocr` text chunk (which travels with the file through the inbox and staging); nothing
when there is neither. With ARCHIVE_FAKE_OCR_SECONDS set, each page takes that long. Its detector finds no lines, so pages are not turned or straightened.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from archive.scans.ocr.base import OcrEngine, OcrLine

SIDECAR_SUFFIX = ".fake-ocr.txt"
DELAY_ENV = "ARCHIVE_FAKE_OCR_SECONDS"  # seconds each page takes (tests of queues and killed workers)
MAX_SIDECAR_BYTES = 1 << 20
PNG_CHUNK = "fake-ocr"


class FakeOcrEngine(OcrEngine):
    name = "fake"
    detects = True

    def __init__(self) -> None:
        self._pages: list[str] = []

    def begin_file(self, path: Path) -> None:
        sidecar = Path(str(path) + SIDECAR_SUFFIX)
        self._pages = []
        if sidecar.is_file() and sidecar.stat().st_size <= MAX_SIDECAR_BYTES:
            self._pages = sidecar.read_text(encoding="utf-8", errors="replace").split("\f")
        elif path.suffix.lower() == ".png":
            try:
                with Image.open(path) as image:
                    text = image.info.get(PNG_CHUNK)
            except (OSError, ValueError):
                text = None
            if isinstance(text, str):
                self._pages = text.split("\f")

    def _next_page(self, image: np.ndarray) -> list[OcrLine]:
        if DELAY_ENV in os.environ:  # a page that takes time, for tests of queues and killed workers
            time.sleep(float(os.environ[DELAY_ENV]))
        if not self._pages:
            return []
        text = self._pages.pop(0)
        height, width = image.shape[:2]
        lines = [line for line in text.splitlines() if line.strip()]
        step = height / (len(lines) + 1) if lines else 0
        return [OcrLine(line, [[0.0, i * step], [float(width), i * step], [float(width), (i + 1) * step],
                               [0.0, (i + 1) * step]], 1.0) for i, line in enumerate(lines)]

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        return self._next_page(image)

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        return []

    def upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        return [False] * len(crops)

    def recognize_boxes(self, image: np.ndarray, boxes: np.ndarray) -> list[OcrLine]:
        return self._next_page(image)
