"""OCR engines behind one interface (base.py), listed in one registry (registry.py)."""

from __future__ import annotations

from archive.scans.ocr.base import OcrEngine, OcrLine, OcrPage
from archive.scans.ocr.registry import DEFAULT, ENGINES, detector_for, get_engine, names

__all__ = ["OcrEngine", "OcrLine", "OcrPage", "get_engine", "detector_for", "names", "ENGINES", "DEFAULT"]
