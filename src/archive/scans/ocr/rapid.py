"""The default engine: RapidOCR with the PP-OCR ONNX models its wheel ships (offline)."""

from __future__ import annotations

import os

import numpy as np

from archive.errors import ArchiveError
from archive.scans.ocr.base import OcrLine


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, threads: int | None = None) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError:
            raise ArchiveError("没有安装 OCR 组件 rapidocr", hint="请运行 README 中的安装命令") from None
        threads = threads or int(os.environ.get("ARCHIVE_OCR_THREADS", "1"))
        params = {
            "Global.log_level": "error",
            # pages are turned upright before OCR (prepare.py); the line classifier still
            # catches a line that is upside down on its own
            "Global.use_cls": True,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        self._engine = RapidOCR(params=params)

    @property
    def rapid(self):
        """The RapidOCR object, shared with the page preparer (one set of models per process)."""
        return self._engine

    def recognize_boxes(self, image: np.ndarray, boxes: np.ndarray) -> list[OcrLine]:
        """Recognise text in boxes already detected (on a reduced copy, scaled to `image`): the
        page is detected once, and each line is cut straight out of the full-resolution image."""
        if len(boxes) == 0:
            return []
        boxes = np.asarray(boxes, dtype=np.float32)
        crops = [_bgr(crop) for crop in self._engine.crop_text_regions(image, boxes)]
        crops, _ = self._engine.cls_and_rotate(crops)
        result = self._engine.recognize_txt(crops)
        lines = []
        for box, text, score in zip(boxes, result.txts, result.scores, strict=False):
            if text.strip() and score >= 0.5:
                lines.append(OcrLine(text=text, box=[[float(x), float(y)] for x, y in box], confidence=float(score)))
        return lines

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        # explicit flags: RapidOCR keeps the last call's flags, and the preparer calls it
        # for detection only
        result = self._engine(image, use_det=True, use_cls=True, use_rec=True)
        if result.boxes is None or result.txts is None:
            return []
        return [
            OcrLine(text=text, box=[[float(x), float(y)] for x, y in box], confidence=float(score))
            for box, text, score in zip(result.boxes, result.txts, result.scores, strict=False)
        ]


def _bgr(crop: np.ndarray) -> np.ndarray:
    """The line models take three channels; pages are prepared in grey."""
    import cv2

    return cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR) if crop.ndim == 2 else crop
