"""The default engine: RapidOCR with the PP-OCR ONNX models its wheel ships (offline)."""

from __future__ import annotations

import os

import numpy as np

from archive.errors import ArchiveError
from archive.scans.ocr import batching
from archive.scans.ocr.base import OcrEngine, OcrLine
from archive.scans.textfix import doubtful_numbers, number_quality

DETECT_MAX_SIDE = 1024  # text detection runs on the page reduced to this longer side
FLIP_MARGIN = 0.05      # how much likelier a line read turned round must be to replace the upright reading
STRETCH = 1.5           # a line whose numbers lost their shape is read again this much wider


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
            # lines are batched here (read_lines): each call is one batch of like widths,
            # padded to its own widest line, not to RapidOCR's 320 px
            "Rec.rec_img_shape": [3, batching.HEIGHT, batching.MIN_WIDTH],
            "Rec.rec_batch_num": batching.MAX_BATCH,
        }
        self._engine = RapidOCR(params=params)

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        # the whole page: detecting on the part with ink only (its margins cut) cost 30 % less,
        # but the network sees its padding at the part's edge and boxes moved by a few pixels,
        # enough to change a fragile character in one line in four (bench/RESULTS.md, issue 17)
        result = self._engine(image, use_det=True, use_cls=False, use_rec=False)
        return list(result.boxes) if result.boxes is not None else []

    def upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        """The line classifier's verdict, confirmed by reading: a line it calls upside down is
        read both ways and counts as upside down only when the turned reading is clearly
        likelier. Alone, the classifier called most lines of an upright table of ID numbers
        upside down (digits look much the same turned round) and the page was turned over."""
        if not crops:
            return []
        _, result = self._engine.cls_and_rotate(crops)
        flagged = [i for i, label in enumerate(result.cls_res or []) if str(label[0]) == "180"]
        verdict = [False] * len(crops)
        if flagged:
            import cv2

            _, upright_scores, _ = self.read_lines([crops[i] for i in flagged])
            _, turned_scores, _ = self.read_lines([cv2.rotate(crops[i], cv2.ROTATE_180) for i in flagged])
            for i, upright_score, turned_score in zip(flagged, upright_scores, turned_scores, strict=False):
                verdict[i] = turned_score > upright_score + FLIP_MARGIN
        return verdict

    def recognize_boxes(self, image: np.ndarray, boxes: np.ndarray) -> list[OcrLine]:
        """Recognise text in boxes already detected (on a reduced copy, scaled to `image`): the
        page is detected once, and each line is cut straight out of the full-resolution image."""
        if len(boxes) == 0:
            return []
        boxes = np.asarray(boxes, dtype=np.float32)
        crops = [_bgr(crop) for crop in self._engine.crop_text_regions(image, boxes)]
        _, classes = self._engine.cls_and_rotate(crops)
        texts, scores, infos = self.read_lines(crops)
        chars = [_char_confidences(info) for info in infos]
        # the page is upright already, so a line the classifier calls upside down is read
        # both ways and the likelier reading kept (small captions are often misjudged)
        flagged = [i for i, (label, _) in enumerate(classes.cls_res or []) if "180" in str(label)]
        if flagged:
            import cv2

            again = self.read_lines([cv2.rotate(crops[i], cv2.ROTATE_180) for i in flagged])
            for i, text, score, info in zip(flagged, *again, strict=False):
                # turned, a run of digits reads as well as it does upright (900 / 006), so the
                # turned reading must be clearly likelier and hold a letter or a Han character
                if score > scores[i] + FLIP_MARGIN and any(char.isalpha() for char in text):
                    texts[i], scores[i], chars[i] = text, score, _char_confidences(info)
        self._second_look(crops, texts, scores, chars)
        lines = []
        for box, text, score, confs in zip(boxes, texts, scores, chars, strict=False):
            if text.strip() and score >= 0.5:
                lines.append(OcrLine(text=text, box=[[float(x), float(y)] for x, y in box], confidence=float(score),
                                     char_confidence=confs if confs is not None and len(confs) == len(text) else None))
        return lines

    def _second_look(self, crops: list[np.ndarray], texts: list[str], scores: list[float],
                     chars: list[list[float] | None]) -> None:
        """Lines whose numbers lost their shape (textfix.doubtful_numbers: a masked ID short of
        asterisks, an ID number short of a digit) are read again from the line stretched
        across (STRETCH): the recogniser gives each character a few columns of its output, and
        in small print a row of like characters (`111`, `********`) shares too few, so one is
        lost. The second reading is kept only when more of its numbers hold their shape
        (textfix.number_quality: valid ID numbers, whole masks), in place."""
        again = [i for i, text in enumerate(texts) if doubtful_numbers(text)]
        if not again:
            return
        import cv2

        stretched = [cv2.resize(crops[i], None, fx=STRETCH, fy=1.0, interpolation=cv2.INTER_CUBIC) for i in again]
        for i, text, score, info in zip(again, *self.read_lines(stretched), strict=False):
            if number_quality(text) > number_quality(texts[i]):
                texts[i], scores[i], chars[i] = text, score, _char_confidences(info)

    def read_lines(self, crops: list[np.ndarray]) -> tuple[list[str], list[float], list]:
        """Texts, scores and per-character details (RapidOCR's WordInfo) of line images, read in
        batches of like width, each padded only to its own widest line (batching.py)."""
        texts, scores, infos = [""] * len(crops), [0.0] * len(crops), [None] * len(crops)
        widths = [batching.input_width(crop.shape[0], crop.shape[1]) for crop in crops]
        for group in batching.batches(widths):
            result = self._engine.recognize_txt([crops[i] for i in group])
            details = result.word_results or [None] * len(group)
            for i, text, score, info in zip(group, result.txts, result.scores, details, strict=False):
                texts[i], scores[i], infos[i] = text, float(score), info
        return texts, scores, infos

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Detect and read a whole upright page (the pipeline detects on a reduced copy itself)."""
        return self.recognize_boxes(image, np.asarray(self.detect(image), dtype=np.float32))


def _char_confidences(info) -> list[float] | None:
    """The recogniser's probability for each character of a line (WordInfo.confs), if given."""
    confs = getattr(info, "confs", None)
    return [round(float(c), 4) for c in confs] if confs else None


def _bgr(crop: np.ndarray) -> np.ndarray:
    """The line models take three channels; pages are prepared in grey."""
    import cv2

    return cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR) if crop.ndim == 2 else crop
