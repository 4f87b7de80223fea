"""PaddleOCR with local PP-OCR models (the `paddle` extra). Used when installed and when the
configuration names a model folder; it never downloads: absent models are a clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from archive.errors import ArchiveError
from archive.scans.ocr.base import OcrEngine, OcrLine

# folder layout expected under the configured model folder (PaddleOCR's inference models)
MODEL_PARTS = {"det": "文字检测模型", "rec": "文字识别模型"}


def find_models(model_dir: str | None) -> dict[str, Path]:
    if not model_dir:
        raise ArchiveError("使用 paddleocr 引擎需要在 config.yaml 中设置 ocr_model_dir（本地 PP-OCR 模型目录）",
                           hint="本程序不会联网下载模型；默认的 rapidocr 引擎无需额外模型")
    root = Path(model_dir).expanduser()
    if not root.is_dir():
        raise ArchiveError(f"PP-OCR 模型目录不存在：{root}")
    found: dict[str, Path] = {}
    for part, label in MODEL_PARTS.items():
        candidates = sorted(p for p in root.iterdir() if p.is_dir() and part in p.name.lower())
        usable = [p for p in candidates if any(p.glob("*.pdmodel")) or any(p.glob("*.json")) or any(p.glob("inference.*"))]
        if not usable:
            raise ArchiveError(f"模型目录 {root} 中找不到{label}（名称含「{part}」、内有 inference 文件的子目录）")
        found[part] = usable[0]
    return found


class PaddleOcrEngine(OcrEngine):
    name = "paddleocr"

    def __init__(self, model_dir: str | None) -> None:
        models = find_models(model_dir)
        try:
            from paddleocr import PaddleOCR
        except ImportError:
            raise ArchiveError("没有安装 paddleocr", hint="pip install -e '.[paddle]'，或改用默认的 rapidocr 引擎") from None
        try:
            self._engine = PaddleOCR(
                text_detection_model_dir=str(models["det"]),
                text_recognition_model_dir=str(models["rec"]),
                use_doc_orientation_classify=False, use_doc_unwarping=False, use_textline_orientation=False,
            )
        except Exception as exc:  # paddle raises many kinds; the user needs the reason
            raise ArchiveError(f"无法加载 PP-OCR 模型（{models['det'].name}、{models['rec'].name}）：{exc}") from None

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        out = []
        for page in self._engine.predict(image):
            for text, score, poly in zip(page["rec_texts"], page["rec_scores"], page["rec_polys"], strict=False):
                out.append(OcrLine(text, [[float(x), float(y)] for x, y in poly], float(score)))
        return out
