"""Page preparation before OCR: red seals and red headers out, the page turned upright, the skew
straightened.

- Red: the red channel of an RGB scan shows red ink as paper and black ink as black, so a seal
  pressed over the signature and the date disappears while the text under it stays.
- Orientation (0/90/180/270): our own QR code, when found, says exactly how the page lies.
  Otherwise the text detector's boxes do: lines lying across the page mean 90/270, and the line
  classifier's votes tell upright from upside down.
- Skew: the median slope of the detected text lines, undone by a rotation.
- Tables: the cells of ruled forms (layout.py), so that they are read cell by cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from archive.documents import qr
from archive.scans.layout import Rect, find_cells
from archive.scans.ocr.base import OcrEngine
from archive.scans.ocr.rapid import DETECT_MAX_SIDE


@dataclass
class Prepared:
    gray: np.ndarray       # grey, red removed, upright (turned by `rotation`), not yet straightened
    rotation: int          # degrees turned counter-clockwise to make it upright
    skew: float            # degrees to rotate to straighten
    marks: list[qr.PageMark]
    boxes: np.ndarray      # text lines detected, as quadrilaterals in `gray`'s pixels
    cells: list[Rect] = field(default_factory=list)  # table cells, in the straightened page's pixels

    @property
    def image(self) -> np.ndarray:
        """Grey, upright and straightened."""
        return rotate_fine(self.gray, self.skew)


def drop_red(image: Image.Image) -> np.ndarray:
    """Grey page with red ink removed: the red channel, levelled so that paper and red ink
    (which the red channel shows as light grey) become white while black text stays black."""
    rgb = np.asarray(image.convert("RGB"))
    red = rgb[:, :, 0].astype(np.float32)
    paper = float(np.percentile(red[:: 8, :: 8], 90)) or 255.0
    white = paper * 0.86
    levelled = np.clip(red * (255.0 / white), 0, 255)
    return np.ascontiguousarray(levelled.astype(np.uint8))


def rotate_quarter(gray: np.ndarray, degrees: int) -> np.ndarray:
    """Turn counter-clockwise by 0/90/180/270."""
    turns = (degrees // 90) % 4
    return np.ascontiguousarray(np.rot90(gray, turns)) if turns else gray


def fine_matrix(shape: tuple[int, ...], degrees: float) -> np.ndarray:
    height, width = shape[:2]
    return cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)


def rotate_fine(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate (grey or colour) by a small angle about the centre, filling with paper white."""
    if abs(degrees) < 0.05:
        return image
    height, width = image.shape[:2]
    border = 255 if image.ndim == 2 else (255, 255, 255)
    return cv2.warpAffine(image, fine_matrix(image.shape, degrees), (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def rotate_points(points: np.ndarray, shape: tuple[int, ...], degrees: float) -> np.ndarray:
    """Where points of an image land after rotate_fine."""
    if abs(degrees) < 0.05 or len(points) == 0:
        return points
    matrix = fine_matrix(shape, degrees)
    flat = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    moved = flat @ matrix[:, :2].T + matrix[:, 2]
    return moved.reshape(np.shape(points))


def _read_codes(image: Image.Image):
    import zxingcpp

    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


def qr_rotation(image: Image.Image, results=None) -> tuple[int | None, list[qr.PageMark]]:
    """Our QR code's page marks, and how to turn the page upright (None when there is no code)."""
    results = _read_codes(image) if results is None else results
    for result in results:
        mark = qr.parse(result.text)
        if mark:
            # zxing reports the symbol's clockwise rotation; turning counter-clockwise by
            # the same angle brings it (and the page printed with it) upright
            orientation = int(round(result.orientation / 90.0)) * 90 % 360
            return orientation, [qr.parse(r.text) for r in results if qr.parse(r.text)]
    return None, []


def blank_codes(gray: np.ndarray, results) -> None:
    """Paint QR codes white, so the text detector does not read them as letters."""
    for result in results:
        position = result.position
        corners = np.array([[p.x, p.y] for p in (position.top_left, position.top_right,
                                                  position.bottom_right, position.bottom_left)], dtype=np.float32)
        centre = corners.mean(axis=0)
        grown = (centre + (corners - centre) * 1.35).astype(np.int32)  # the quiet zone and caption edge
        cv2.fillConvexPoly(gray, grown, 255)


def _reduced(gray: np.ndarray) -> tuple[np.ndarray, float]:
    scale = min(1.0, DETECT_MAX_SIDE / max(gray.shape))
    if scale >= 1.0:
        return gray, 1.0
    size = (int(gray.shape[1] * scale), int(gray.shape[0] * scale))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), scale


def _box_angles(boxes) -> list[tuple[float, float, float]]:
    """(angle in degrees of the box's long edge, width, height) per detected box."""
    out = []
    for box in boxes:
        points = np.asarray(box, dtype=float)
        top = points[1] - points[0]
        side = points[3] - points[0]
        width, height = float(np.hypot(*top)), float(np.hypot(*side))
        angle = math.degrees(math.atan2(top[1], top[0]))
        out.append((angle, width, height))
    return out


class PagePreparer:
    """Orientation and skew from one text-detection pass on a reduced copy of the page."""

    def __init__(self, detector: OcrEngine) -> None:
        """`detector`: an engine that detects (OcrEngine.detects), see registry.detector_for."""
        self._detector = detector

    def prepare(self, image: Image.Image) -> Prepared:
        gray = drop_red(image)
        codes = _read_codes(image)
        rotation, marks = qr_rotation(image, codes)
        blank_codes(gray, codes)
        small, scale = _reduced(gray)
        if rotation is not None:
            small = rotate_quarter(small, rotation)
            boxes = self._boxes(small)
        else:
            boxes = self._boxes(small)
            rotation = 0
            if self._sideways(boxes):
                rotation = 90
                small = rotate_quarter(small, 90)
                boxes = self._boxes(small)
            if self._upside_down_share(small, boxes) > 0.5:
                rotation = (rotation + 180) % 360
                small = rotate_quarter(small, 180)
                boxes = self._boxes(small)
        # a line's slope is the same read either way up, so the boxes serve for the skew too
        skew = self._skew(boxes)
        full = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2) / scale
        level = rotate_fine(small, skew)
        portrait = level.shape[0] >= level.shape[1]
        cells = [tuple(v / scale for v in cell) for cell in find_cells(level, 297.0 if portrait else 210.0)]
        return Prepared(rotate_quarter(gray, rotation), rotation, skew, marks, full, cells)

    def _boxes(self, small: np.ndarray) -> list:
        return self._detector.detect(small)

    @staticmethod
    def _sideways(boxes) -> bool:
        """Most long text boxes run up the page: it lies on its side."""
        long_boxes = [(w, h) for _, w, h in _box_angles(boxes) if max(w, h) > 3 * min(w, h)]
        return bool(long_boxes) and sum(1 for w, h in long_boxes if h > w) > len(long_boxes) / 2

    def _upside_down_share(self, small: np.ndarray, boxes) -> float:
        """Share of the longest text lines the line classifier reads as upside down."""
        crops = []
        for box in boxes:
            points = np.asarray(box, dtype=int)
            x0, y0 = points.min(axis=0)
            x1, y1 = points.max(axis=0)
            if x1 - x0 > 3 * (y1 - y0) > 0:
                crop = np.ascontiguousarray(small[max(0, y0):y1, max(0, x0):x1])
                crops.append((x1 - x0, cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR)))
        chosen = [crop for _, crop in sorted(crops, key=lambda c: -c[0])[:9]]
        if not chosen:
            return 0.0
        votes = [1.0 if flipped else 0.0 for flipped in self._detector.upside_down(chosen)]
        return sum(votes) / len(votes) if votes else 0.0

    @staticmethod
    def _skew(boxes) -> float:
        """Degrees to rotate (counter-clockwise, as cv2 does) to level the text lines."""
        angles = [a for a, w, h in _box_angles(boxes) if w > 4 * h and abs(a) < 15]
        if len(angles) < 3:
            return 0.0
        return float(np.median(angles))
