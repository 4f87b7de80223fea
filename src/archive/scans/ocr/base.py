"""The engine interface: an image in, lines of text with boxes and confidences out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class OcrLine:
    text: str
    box: list[list[float]]  # four corners, clockwise from top left, in page pixels
    confidence: float

    @property
    def top(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def left(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def height(self) -> float:
        return max(p[1] for p in self.box) - self.top


@dataclass
class OcrPage:
    width: int
    height: int
    lines: list[OcrLine] = field(default_factory=list)
    engine: str = ""
    source: str = "ocr"  # ocr / text-layer
    rotation: int = 0     # degrees the page was turned to read it upright
    skew: float = 0.0     # degrees of skew corrected

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_json(self) -> dict:
        data = asdict(self)
        data["text"] = self.text
        return data


class OcrEngine(Protocol):
    name: str

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Lines of an upright page image (H x W, grey or RGB, uint8)."""
        ...

