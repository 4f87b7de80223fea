"""Tesseract (chi_sim), an optional engine for comparison. Needs the tesseract program and its
chi_sim data (Debian: tesseract-ocr tesseract-ocr-chi-sim)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from archive.errors import ArchiveError
from archive.scans.ocr.base import OcrEngine, OcrLine


class TesseractEngine(OcrEngine):
    name = "tesseract"

    def __init__(self, language: str = "chi_sim") -> None:
        self.program = shutil.which("tesseract")
        if not self.program:
            raise ArchiveError("没有安装 Tesseract", hint="Debian 上运行 apt-get install tesseract-ocr tesseract-ocr-chi-sim")
        languages = subprocess.run([self.program, "--list-langs"], capture_output=True, text=True).stdout
        if language not in languages.split():
            raise ArchiveError(f"Tesseract 缺少 {language} 语言数据", hint="apt-get install tesseract-ocr-chi-sim")
        self.language = language

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "page.png"
            Image.fromarray(image).save(path)
            tsv = subprocess.run(
                [self.program, str(path), "stdout", "-l", self.language, "--psm", "3", "tsv"],
                capture_output=True, text=True, check=False,
            ).stdout
        lines: dict[tuple[int, int, int], list[tuple[str, int, int, int, int, float]]] = {}
        for row in tsv.splitlines()[1:]:
            cells = row.split("\t")
            if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
                continue
            key = (int(cells[2]), int(cells[3]), int(cells[4]))
            left, top, width, height = map(int, cells[6:10])
            lines.setdefault(key, []).append((cells[11], left, top, width, height, float(cells[10])))
        out = []
        for words in lines.values():
            # chi_sim splits Han text into single-character "words"; join them back
            text = "".join(word[0] for word in words)
            x0 = min(w[1] for w in words)
            y0 = min(w[2] for w in words)
            x1 = max(w[1] + w[3] for w in words)
            y1 = max(w[2] + w[4] for w in words)
            confidence = sum(w[5] for w in words) / len(words) / 100
            out.append(OcrLine(text, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], confidence))
        return out
