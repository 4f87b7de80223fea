"""The default engine: RapidOCR with the PP-OCR ONNX models its wheel ships (offline)."""

from __future__ import annotations

import os

import numpy as np

from archive.errors import ArchiveError
from archive.scans.ocr.base import OcrEngine, OcrLine

DETECT_MAX_SIDE = 1024
FLIP_MARGIN = 0.05      # how much likelier a line read turned round must be to replace the upright reading  # text detection runs on the page reduced to this longer side


class RapidOcrEngine(OcrEngine):
    name = "rapidocr"
    detects = True

    def __init__(self, threads: int | None = None) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError:
            raise ArchiveError("没有安装 OCR 组件 rapidocr", hint="请运行 README 中的安装命令") from None
        threads = threads or int(os.environ.get("ARCHIVE_OCR_THREADS", "1"))
        params = {
            "Global.log_level": "error",
            # pages are turned upright before OCR (prepare.py); the line classifier only
            # flags lines to be read both ways (recognize_boxes)
            "Global.use_cls": True,
            # detection runs on a copy we reduce ourselves (prepare.py): no enlarging to the
            # model's default minimum side, and a lower box threshold, so that faint, thin
            # lines (the page number between its dashes) are found; rec confidence filters
            "Det.limit_type": "max",
            "Det.limit_side_len": DETECT_MAX_SIDE,
            "Det.box_thresh": 0.3,
            # a confidence per character (review.py marks the uncertain ones for a person)
            "Global.return_word_box": True,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        self._engine = RapidOCR(params=params)

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        result = self._engine(image, use_det=True, use_cls=False, use_rec=False)
        return list(result.boxes) if result.boxes is not None else []

    def upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        if not crops:
            return []
        _, result = self._engine.cls_and_rotate(crops)
        return [str(label[0]) == "180" for label in (result.cls_res or [])]

    def recognize_boxes(self, image: np.ndarray, boxes: np.ndarray) -> list[OcrLine]:
        """Recognise text in boxes already detected (on a reduced copy, scaled to `image`): the
        page is detected once, and each line is cut straight out of the full-resolution image."""
        if len(boxes) == 0:
            return []
        boxes = np.asarray(boxes, dtype=np.float32)
        crops = [_bgr(crop) for crop in self._engine.crop_text_regions(image, boxes)]
        _, classes = self._engine.cls_and_rotate(crops)
        result = self._engine.recognize_txt(crops)
        texts, scores = list(result.txts), list(result.scores)
        chars = [_char_confidences(info) for info in (result.word_results or [None] * len(texts))]
        # the page is upright already, so a line the classifier calls upside down is read
        # both ways and the likelier reading kept (small captions are often misjudged)
        flagged = [i for i, (label, _) in enumerate(classes.cls_res or []) if "180" in str(label)]
        if flagged:
            import cv2

            again = self._engine.recognize_txt([cv2.rotate(crops[i], cv2.ROTATE_180) for i in flagged])
            again_chars = again.word_results or [None] * len(flagged)
            for i, text, score, info in zip(flagged, again.txts, again.scores, again_chars, strict=False):
                # turned, a short run of digits reads as well as it does upright (900 / 006):
                # the turned reading must be clearly likelier
                if score > scores[i] + FLIP_MARGIN:
                    texts[i], scores[i], chars[i] = text, score, _char_confidences(info)
        lines = []
        for box, text, score, confs in zip(boxes, texts, scores, chars, strict=False):
            if text.strip() and score >= 0.5:
                lines.append(OcrLine(text=text, box=[[float(x), float(y)] for x, y in box], confidence=float(score),
                                     char_confidence=confs if confs is not None and len(confs) == len(text) else None))
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


def _char_confidences(info) -> list[float] | None:
    """The recogniser's probability for each character of a line (WordInfo.confs), if given."""
    confs = getattr(info, "confs", None)
    return [round(float(c), 4) for c in confs] if confs else None


def _bgr(crop: np.ndarray) -> np.ndarray:
    """The line models take three channels; pages are prepared in grey."""
    import cv2

    return cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR) if crop.ndim == 2 else crop
