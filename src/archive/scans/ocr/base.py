"""The engine interface: an image in, lines of text with boxes and confidences out.

What the pipeline asks of an engine (pipeline.py, prepare.py) is declared here, in `OcrEngine`:

- `recognize(image)`: the lines of an upright, straightened page. Every engine has it.
- detection, for engines that have their own text detector (`detects = True`): `detect(image)`
  gives the text lines' quadrilaterals, `upside_down(crops)` the line classifier's verdict, and
  `recognize_boxes(image, boxes)` reads lines already found. The page preparer uses detection to
  turn and straighten the page; an engine without it (Tesseract, PaddleOCR) is given the default
  engine's detector for that (`registry.detector_for`).

Engines are registered by name in `registry.py`; the CLI's choices come from there.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass
class OcrLine:
    text: str
    box: list[list[float]]  # four corners, clockwise from top left, in page pixels
    confidence: float
    # the recogniser's confidence for each character of `text`, when the engine gives it (not
    # written to the sidecar as such: review.py turns it into marked low-confidence spans)
    char_confidence: list[float] | None = field(default=None, repr=False)

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
    # text changed after recognition that a reader should know of: ID numbers corrected
    # (textfix.IdCorrection.to_json, with the line index), in the .ocr.json sidecar
    corrections: list[dict] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    # what a person must check before the page is trusted (review.py): reasons and marked spans
    review: dict | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        for line in data["lines"]:
            line.pop("char_confidence", None)
        if data["review"] is None:
            data.pop("review")
        data["text"] = self.text
        return data


class OcrEngine(ABC):
    """An OCR engine as the pipeline uses it (see the module text)."""

    name: str = ""
    detects: bool = False  # True when detect / upside_down / recognize_boxes are available

    @abstractmethod
    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        """Lines of an upright page image (H x W, grey or RGB, uint8)."""

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        """Text lines of a (reduced) page image, as 4 x 2 quadrilaterals in its pixels."""
        raise NotImplementedError(f"{self.name} has no text detector")

    def upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        """Per line image (BGR, full resolution): does the line read upside down? (RapidOCR: its
        line classifier, confirmed by reading the line both ways.)"""
        raise NotImplementedError(f"{self.name} has no line classifier")

    def recognize_boxes(self, image: np.ndarray, boxes: np.ndarray) -> list[OcrLine]:
        """Lines read from boxes found by `detect` (scaled to `image`)."""
        raise NotImplementedError(f"{self.name} has no text detector")

    def begin_file(self, path: Path) -> None:  # noqa: B027 - a hook, empty by default
        """Called before a file's pages are read (the fake engine finds its sidecar here)."""

