"""The one list of OCR engines: names, how each is built, and which detector prepares pages for it.

Adding an engine: a class implementing `OcrEngine` (base.py) in this package, and one entry in
`ENGINES` below. The CLI's `--engine` choices come from `names()`, which leaves out engines marked
`hidden` (the in-tree fake engine: tests select it by name through the library, users never see it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from archive.errors import ArchiveError
from archive.scans.ocr.base import OcrEngine

DEFAULT = "rapidocr"


@dataclass(frozen=True)
class EngineSpec:
    name: str
    module: str          # archive.scans.ocr.<module>
    cls: str
    description: str     # Chinese, for help texts
    takes_model_dir: bool = False
    hidden: bool = False  # not offered to users (the CLI's choices, error messages); for tests


ENGINES: dict[str, EngineSpec] = {spec.name: spec for spec in (
    EngineSpec("rapidocr", "rapid", "RapidOcrEngine", "RapidOCR（默认，随安装包附带的 PP-OCR ONNX 模型）"),
    EngineSpec("paddleocr", "paddle", "PaddleOcrEngine", "PaddleOCR（需本地 PP-OCR 模型目录）", takes_model_dir=True),
    EngineSpec("tesseract", "tesseract", "TesseractEngine", "Tesseract chi_sim（需安装 tesseract-ocr-chi-sim）"),
    EngineSpec("fake", "fake", "FakeOcrEngine", "测试用假引擎：不做识别，只读取旁边的 .fake-ocr.txt",
               hidden=True),
)}


def names(*, include_hidden: bool = False) -> tuple[str, ...]:
    """The engines users can choose (with `include_hidden`, also those kept for tests)."""
    return tuple(name for name, spec in ENGINES.items() if include_hidden or not spec.hidden)


def get_engine(name: str = DEFAULT, model_dir: str | None = None) -> OcrEngine:
    """The named engine. Nothing is downloaded: every engine runs on models already on disk."""
    spec = ENGINES.get(name)
    if spec is None:
        raise ArchiveError(f"未知的 OCR 引擎「{name}」，可用：{', '.join(names())}")
    cls = getattr(importlib.import_module(f"archive.scans.ocr.{spec.module}"), spec.cls)
    return cls(model_dir) if spec.takes_model_dir else cls()


def detector_for(engine: OcrEngine) -> OcrEngine:
    """The engine that finds text lines to turn and straighten pages for `engine`: itself when
    it detects, otherwise the default engine (loaded only then)."""
    if engine.detects:
        return engine
    return get_engine(DEFAULT)
