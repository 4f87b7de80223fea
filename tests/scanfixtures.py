"""Small scan fixtures made in the test: born-digital PDFs with a text layer, and synthetic
scans of generated pages."""

from __future__ import annotations

import random
from pathlib import Path

from archive.scans.synthetic import Degradation, save_scan, scan_of, text_layer_pdf


def text_pdf(path: Path, lines: list[str]) -> Path:
    """A born-digital PDF with a text layer (the product's own helper, used by the demo too)."""
    return text_layer_pdf(path, lines)


def sealed_scan(pdf: str | Path, target: Path, spec: Degradation, seed: int = 1, seal_on: str = "青岩镇人民政府") -> Path:
    image = scan_of(Path(pdf), spec, random.Random(seed), seal_on=seal_on)
    return save_scan(image, target, spec.dpi, spec.jpeg)
