"""OCR engines behind one small interface (see base.py)."""

from __future__ import annotations

from archive.errors import ArchiveError
from archive.scans.ocr.base import OcrEngine, OcrLine, OcrPage

ENGINES = ("rapidocr", "paddleocr", "tesseract")


def get_engine(name: str = "rapidocr", model_dir: str | None = None) -> OcrEngine:
    """The named engine. Nothing is downloaded: every engine runs on models already on disk."""
    if name == "rapidocr":
        from archive.scans.ocr.rapid import RapidOcrEngine

        return RapidOcrEngine()
    if name == "paddleocr":
        from archive.scans.ocr.paddle import PaddleOcrEngine

        return PaddleOcrEngine(model_dir)
    if name == "tesseract":
        from archive.scans.ocr.tesseract import TesseractEngine

        return TesseractEngine()
    raise ArchiveError(f"未知的 OCR 引擎「{name}」，可用：{', '.join(ENGINES)}")


__all__ = ["OcrEngine", "OcrLine", "OcrPage", "get_engine", "ENGINES"]
