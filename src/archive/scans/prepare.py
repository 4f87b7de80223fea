"""Page preparation before OCR: red seals and red headers out, the page turned upright, the skew
straightened.

- Phone photos (`flatten_photo`): the page outline (a bright quadrilateral on a darker table) is
  found and the perspective undone; uneven light (shadow, a lamp at one side) is levelled by
  dividing the page by its own background.
- Red (`drop_red`): the red channel of an RGB scan shows red ink as paper and black ink as black,
  so a seal pressed over the signature and the date disappears while the text under it stays.
  Only seals go (`seal_areas`: round red blobs 15 to 75 mm across, and the rings of seals pressed
  over one another): red print, such as the labels and title of a 户口簿 page, is text and is kept.
  Inside a seal the red channel is not enough: JPEG keeps colour at half resolution, so a black
  stroke under red ink (where the star or the ring crosses a character) takes the seal's colour
  and turns light in the red channel. There the brightness decides: red ink is mid grey, black
  text under it stays dark.
- Copies of copies: toner streaks (`lift_streaks`: a band darker from the top of the page to the
  bottom is brightened back to the paper) and toner speckle (`despeckle`: specks a pixel or two
  across, apart from any stroke, on a speckled page) go before text is detected.
- Orientation (0/90/180/270): our own QR code, when found, says exactly how the page lies.
  Otherwise the text detector's boxes do: lines lying across the page mean 90/270, and the line
  classifier's votes tell upright from upside down.
- Skew: the median slope of the detected text lines, refined by the sharpest row projection
  (`refine_skew`: a dense table 2 degrees off is straightened to a tenth of a degree), undone by
  a rotation.
- Tables: the cells of ruled forms (layout.py), so that they are read cell by cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from archive.rendering import qr
from archive.scans.layout import Rect, find_cells, rule_mask
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
    source: Image.Image | None = None  # the colour page the rest refers to (a photo flattened)
    colour: np.ndarray | None = None   # ... as an RGB array (a page is converted once)

    @property
    def image(self) -> np.ndarray:
        """Grey, upright and straightened."""
        return rotate_fine(self.gray, self.skew)


SEAL_REDNESS = 60       # red minus the mean of green and blue: red ink, not paper or black text
SEAL_MM = (15.0, 75.0)  # a seal's outline: round or oval, this size across


def seal_areas(red_ink: np.ndarray) -> np.ndarray:
    """Where seals are: red ink that, with its gaps closed, makes a round-ish blob 15 to 75 mm
    across. Red print (a 户口簿's labels and rules, a red title) makes long lines, small
    characters or large frames instead, and is left to be read."""
    height, width = red_ink.shape
    per_mm = max(height, width) / 297.0  # A4, either way up
    step = 4
    small = np.ascontiguousarray(red_ink[::step, ::step]).astype(np.uint8)
    size = max(3, int(3 * per_mm / step))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed)
    out = np.zeros_like(small)
    for x, y, w, h, _ in stats[1:count]:
        across = max(w, h) * step / per_mm
        if SEAL_MM[0] <= across <= SEAL_MM[1] and 0.6 <= w / max(h, 1) <= 1.67:
            cv2.ellipse(out, (int(x + w / 2), int(y + h / 2)), (int(w * 0.55) + 1, int(h * 0.55) + 1), 0, 0, 360, 1, -1)
    _seal_rings(small, per_mm / step, out)
    return cv2.resize(out, (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)


SEAL_RING = 0.8  # share of a circle's outline in red ink for it to be a seal's ring


def _seal_rings(small: np.ndarray, per_px: float, out: np.ndarray) -> None:
    """Seals pressed over one another make one blob of red larger than any seal, which the size
    test above leaves as print: each seal's ring is found as a circle (Hough) 15 to 75 mm across
    whose outline is red nearly all round (SEAL_RING; a circle the transform fancies among red
    rules or characters is not), and its disc marked in `out` (the reduced page, per_px pixels
    a millimetre)."""
    blur = cv2.GaussianBlur(small * np.uint8(255), (5, 5), 0)
    circles = cv2.HoughCircles(blur, cv2.HOUGH_GRADIENT, dp=1, minDist=max(1, int(10 * per_px)), param1=100,
                               param2=30, minRadius=int(SEAL_MM[0] / 2 * per_px),
                               maxRadius=max(1, int(SEAL_MM[1] / 2 * per_px)))
    if circles is None:
        return
    ink = cv2.dilate(small, np.ones((3, 3), np.uint8))
    around = np.linspace(0, 2 * np.pi, 240, endpoint=False)
    for x, y, radius in circles[0]:
        xs = np.clip((x + radius * np.cos(around)).astype(int), 0, ink.shape[1] - 1)
        ys = np.clip((y + radius * np.sin(around)).astype(int), 0, ink.shape[0] - 1)
        if (ink[ys, xs] > 0).mean() >= SEAL_RING:
            cv2.circle(out, (int(x), int(y)), int(radius * 1.1) + 1, 1, -1)


def rgb_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """The page as an RGB array, without a converted copy when it is RGB already (an array is
    taken to be one)."""
    if isinstance(image, np.ndarray):
        return image
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def drop_red(image: Image.Image | np.ndarray) -> np.ndarray:
    """Grey page with seals removed: the red channel, levelled so that paper and red ink
    (which the red channel shows as light grey) become white while black text stays black;
    inside a seal, black text under it is kept from the brightness (see the module text).
    Red ink that is not a seal (`seal_areas`) is print, kept dark from its brightness."""
    rgb = rgb_array(image)
    red = np.ascontiguousarray(rgb[:, :, 0])
    paper = float(np.percentile(red[:: 8, :: 8], 90)) or 255.0
    white = paper * 0.86
    # levelled red channel through a table (uint8 in, uint8 out): a full page in float costs
    # several times as much
    levelled = cv2.LUT(red, np.clip(np.arange(256) * (255.0 / white), 0, 255).astype(np.uint8))
    # red ink: red - (green + blue) / 2 > SEAL_REDNESS, doubled to stay in integers
    green_blue = cv2.add(rgb[:, :, 1], rgb[:, :, 2], dtype=cv2.CV_16S)
    red_ink = cv2.subtract(cv2.add(red, red, dtype=cv2.CV_16S), green_blue) > 2 * SEAL_REDNESS
    if np.count_nonzero(red_ink) > 0.0005 * red_ink.size:
        levelled = levelled.astype(np.float32)
        luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
        seals = seal_areas(red_ink)
        seal = red_ink & seals
        if seal.any():
            ink = float(np.median(luma[seal]))  # the seal's own brightness
            # the area the seal covers, strokes under it included (they are not red themselves)
            near = cv2.dilate(seal.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
            under = np.clip(luma * (255.0 / max(ink * 0.8, 1.0)), 0, 255)
            # there the red channel leaves a ghost of the seal's edges (JPEG blurs colour, not
            # brightness): the brightness alone, scaled so that the seal's ink is paper white
            levelled = np.where(near, under, levelled)
        printed = red_ink & ~seals
        if printed.any():
            paper_luma = float(np.percentile(luma[:: 8, :: 8], 90)) or 255.0
            dark = np.clip(luma * (255.0 / (paper_luma * 0.86)), 0, 255)
            near = cv2.dilate(printed.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~seals
            levelled = np.where(near, np.minimum(levelled, dark), levelled)
    return np.ascontiguousarray(levelled.astype(np.uint8))


STREAK_DARKER = 0.9      # a column whose paper is darker than this share of the page's, all the way down, is a streak


def lift_streaks(gray: np.ndarray) -> int:
    """Toner streaks off a copy, in place: a copier with a dirty drum darkens a band of the page
    from top to bottom, paper and print alike, and where it crosses a character the recogniser
    sees a bar through it (`〇` with a streak through it was dropped). A column whose paper (a
    high percentile of its pixels) is darker than the page's in the top and in the bottom half
    is brightened by as much as its paper is darker. A table's vertical rule leaves its column's
    paper white above and below it, and the text stays as dark as it is elsewhere on the page.
    Returns how many columns were lifted."""
    rows = gray[::4]
    half = rows.shape[0] // 2
    if half < 8:
        return 0
    top = np.percentile(rows[:half], 95, axis=0)
    bottom = np.percentile(rows[half:], 95, axis=0)
    paper = float(np.median(np.concatenate([top, bottom])))
    column_paper = np.minimum(top, bottom)
    streak = (top < STREAK_DARKER * paper) & (bottom < STREAK_DARKER * paper)
    if not streak.any():
        return 0
    # the band's soft edges with it
    streak = np.convolve(streak.astype(np.uint8), np.ones(3, np.uint8), mode="same") > 0
    gain = paper / np.maximum(column_paper[streak], 1.0)
    gray[:, streak] = np.clip(gray[:, streak].astype(np.float32) * np.minimum(gain, 2.5), 0, 255).astype(np.uint8)
    return int(streak.sum())


SPECK_MM2 = 0.035        # ink no larger than this (square mm) standing alone is toner speckle
SPECKLED = 400           # ... and a page with more specks than this per A4 is speckled
SPECK_APART_MM = 0.4     # ... and only a speck this far from any other ink goes


def despeckle(gray: np.ndarray) -> int:
    """Toner speckle off a copy of a copy, in place: specks of ink a pixel or two across standing
    apart from any other ink (SPECK_APART_MM: the broken pieces of a faint stroke lie beside
    it), painted with the paper around them. A speck inside a
    character's counter changes what the recogniser sees (`〇` with a dot in it was dropped).
    Only on a speckled page (more than SPECKLED specks per A4): a clean page's few specks are
    left. The smallest mark a page prints, a full stop in 9 pt, is several times larger.
    Returns how many specks were removed."""
    height, width = gray.shape[:2]
    per_mm = max(height, width) / 297.0
    largest = max(2, int(SPECK_MM2 * per_mm * per_mm))
    a4 = per_mm * per_mm * 210.0 * 297.0
    # a quarter of the page across its middle says whether it is speckled (a clean page costs
    # a quarter of the work)
    band = gray[3 * height // 8:5 * height // 8]
    level, ink = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] <= largest) <= SPECKLED * band.size / a4:
        return 0
    _, ink = cv2.threshold(gray, level, 255, cv2.THRESH_BINARY_INV)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    specks = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] <= largest) + 1
    if len(specks) <= SPECKLED * height * width / a4:
        return 0
    lookup = np.zeros(count, np.uint8)
    lookup[specks] = 1
    speck = lookup[labels]
    # a faint stroke of a small character breaks into pieces a pixel or two across: those lie
    # beside the rest of their stroke; a speck stands apart from any other ink
    apart = max(2, int(round(SPECK_APART_MM * per_mm)))
    strokes = cv2.dilate(((ink > 0) & (speck == 0)).astype(np.uint8),
                         cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * apart + 1, 2 * apart + 1)))
    speck[strokes > 0] = 0
    where = cv2.dilate(speck, np.ones((3, 3), np.uint8)).astype(bool)
    gray[where] = cv2.medianBlur(gray, 5)[where]
    return int(len(np.unique(labels[speck > 0])))


PHOTO_MAX_SIDE = 1000        # the page outline is looked for on a copy this size
PAGE_MIN_SHARE = 0.2         # a page outline covers at least this share of the photo
PAGE_MAX_SHARE = 0.97        # ... and less than all of it (a scan is the page itself)
UNEVEN_LIGHT = 40            # grey levels between the lightest and darkest paper: uneven light


def _order_corners(points: np.ndarray) -> np.ndarray:
    """Top left, top right, bottom right, bottom left."""
    sums, diffs = points.sum(axis=1), np.diff(points, axis=1).ravel()
    return np.array([points[np.argmin(sums)], points[np.argmin(diffs)], points[np.argmax(sums)],
                     points[np.argmax(diffs)]], dtype=np.float32)


def page_outline(rgb: np.ndarray) -> np.ndarray | None:
    """The four corners of a page photographed on a darker background, in the photo's pixels;
    None when there is no such outline (a flat scan, or a page filling the frame)."""
    scale = min(1.0, PHOTO_MAX_SIDE / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
    # the background is what the frame's border shows; the page is clearly lighter than it,
    # in shadow too (a single Otsu threshold cuts a shadowed part of the page off)
    border = np.concatenate([gray[:4].ravel(), gray[-4:].ravel(), gray[:, :4].ravel(), gray[:, -4:].ravel()])
    background, paper = float(np.median(border)), float(np.percentile(gray, 95))
    if paper - background < 50:
        return None  # no darker surround: a scan, or a page filling the frame
    bright = ((gray > background + 0.4 * (paper - background)) * 255).astype(np.uint8)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))  # text holes closed
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    largest = max(contours, key=cv2.contourArea)
    share = cv2.contourArea(largest) / float(gray.shape[0] * gray.shape[1])
    if not PAGE_MIN_SHARE <= share <= PAGE_MAX_SHARE:
        return None
    quad = cv2.approxPolyDP(cv2.convexHull(largest), 0.02 * cv2.arcLength(largest, True), True)
    if len(quad) != 4:
        return None
    corners = quad.reshape(4, 2).astype(np.float32) / scale
    height, width = rgb.shape[:2]
    margin = 0.01 * max(height, width)
    touching = sum(1 for x, y in corners if x < margin or y < margin or x > width - margin or y > height - margin)
    return None if touching >= 3 else _order_corners(corners)


def even_light(rgb: np.ndarray) -> np.ndarray:
    """Each channel divided by the paper's own brightness around it (a large closing of the
    page), so that shadow and a lamp at one side leave white paper."""
    scale = min(1.0, PHOTO_MAX_SIDE / max(rgb.shape[:2]))
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))
    background = cv2.medianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel), 21)
    background = cv2.resize(background, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    out = rgb.astype(np.float32) * 255.0 / np.maximum(background.astype(np.float32), 1.0)
    return np.clip(out, 0, 255).astype(np.uint8)


def flatten_photo(image: Image.Image) -> tuple[Image.Image, bool]:
    """Stage for phone photos: the page cut out of the photo and its perspective undone (to the
    page's own proportions), then the light evened. A flat scan with even light comes back as
    it is; returns (page, whether anything was changed)."""
    rgb, changed = flatten_rgb(rgb_array(image))
    return (Image.fromarray(rgb), True) if changed else (image, False)


def flatten_rgb(rgb: np.ndarray) -> tuple[np.ndarray, bool]:
    """flatten_photo on an RGB array: (the page, whether anything was changed)."""
    corners = page_outline(rgb)
    changed = False
    if corners is not None:
        top, bottom = np.linalg.norm(corners[1] - corners[0]), np.linalg.norm(corners[2] - corners[3])
        left, right = np.linalg.norm(corners[3] - corners[0]), np.linalg.norm(corners[2] - corners[1])
        width, height = int(max(top, bottom)), int(max(left, right))
        target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
        matrix = cv2.getPerspectiveTransform(corners, target)
        rgb = cv2.warpPerspective(rgb, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        changed = True
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    small = grey[:: 16, :: 16]
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    if changed or float(np.percentile(paper, 95) - np.percentile(paper, 5)) > UNEVEN_LIGHT:
        rgb = even_light(rgb)
        changed = True
    return rgb, changed


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


def _read_codes(image: Image.Image | np.ndarray):
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


def refine_skew(small: np.ndarray, estimate: float, reach: float = 0.8, step: float = 0.1) -> float:
    """The text boxes' median slope is good to about half a degree on a reduced page (a box is
    a few pixels high); within `reach` of it, the angle at which the rows of ink line up best
    (the sharpest horizontal projection) is taken. A level page (estimate 0) is left as it is."""
    if abs(estimate) < 0.3:
        return estimate
    ink = (255 - small.astype(np.float32)) / 255.0
    height, width = ink.shape
    centre = (width / 2, height / 2)

    def sharpness(angle: float) -> float:
        turned = cv2.warpAffine(ink, cv2.getRotationMatrix2D(centre, angle, 1.0), (width, height),
                                flags=cv2.INTER_LINEAR, borderValue=0)
        rows = turned.sum(axis=1)
        return float(np.square(np.diff(rows)).sum())

    candidates = np.arange(estimate - reach, estimate + reach + step / 2, step)
    return float(max(candidates, key=sharpness))


RULE_INK = 200      # darker than this, where a rule lies, is the rule's ink
RULE_RUN_MM = 4.0   # ... and only in a straight run this long: a stroke of a character is shorter
STREAK_SHARE = 0.9  # a "rule" across this share of the page is a toner streak or the scan's edge


def erase_rules(gray: np.ndarray, rules: tuple[np.ndarray, np.ndarray, float], skew: float) -> None:
    """Paint the table rules white on `gray` (upright, not yet straightened), in place.

    `rules` is layout.rule_mask of the straightened page, reduced. A line of text in a cell is
    cut out of the page with a margin, and the rule beside it came with it: beside a lone digit
    the recogniser read it as `1` (`6` as `16`), and pieces of rules read as `|` or `.`.
    The reduced masks place a rule to a few of the page's pixels; there, only ink in a long
    straight run along the rule goes, so that a character crossing a rule (a label longer than
    its cell) keeps its strokes but for the rule's own width."""
    horizontal, vertical, _ = rules
    if not (horizontal.any() or vertical.any()):
        return
    height, width = gray.shape[:2]
    per_mm = max(height, width) / 297.0
    run = max(9, int(RULE_RUN_MM * per_mm))
    small_h, small_w = horizontal.shape[:2]
    fx, fy = width / small_w, height / small_h
    matrix = fine_matrix(horizontal.shape, -skew)
    erased = np.zeros(gray.shape, np.uint8)
    for mask, kernel in ((horizontal, (run, 1)), (vertical, (1, run))):
        if abs(skew) >= 0.05:
            mask = cv2.warpAffine(mask, matrix, (small_w, small_h), flags=cv2.INTER_NEAREST,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for label in range(1, count):
            x, y, w, h, _ = (int(v) for v in stats[label])
            if h >= STREAK_SHARE * small_h or w >= STREAK_SHARE * small_w:
                continue
            x0, y0 = int(x * fx), int(y * fy)
            x1, y1 = min(width, int((x + w) * fx) + 1), min(height, int((y + h) * fy) + 1)
            zone = cv2.resize((labels[y:y + h, x:x + w] == label).astype(np.uint8), (x1 - x0, y1 - y0),
                              interpolation=cv2.INTER_NEAREST)
            ink = zone & (gray[y0:y1, x0:x1] < RULE_INK)
            straight = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
            erased[y0:y1, x0:x1] |= straight
    # the rule's grey fringe with it
    gray[cv2.dilate(erased, np.ones((3, 3), np.uint8)) > 0] = 255


class PagePreparer:
    """Orientation and skew from one text-detection pass on a reduced copy of the page."""

    def __init__(self, detector: OcrEngine) -> None:
        """`detector`: an engine that detects (OcrEngine.detects), see registry.detector_for."""
        self._detector = detector

    def prepare(self, image: Image.Image) -> Prepared:
        # the page converted to an array once (each conversion of a 300 dpi page costs 20 ms)
        rgb, flattened = flatten_rgb(rgb_array(image))
        if flattened:
            image = Image.fromarray(rgb)
        gray = drop_red(rgb)
        lift_streaks(gray)
        despeckle(gray)
        codes = _read_codes(gray)  # our QR code is black: read on the grey page, a third of the bytes
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
            if self._upside_down_share(small, boxes, rotate_quarter(gray, rotation), scale) > 0.5:
                rotation = (rotation + 180) % 360
                small = rotate_quarter(small, 180)
                boxes = self._boxes(small)
        # a line's slope is the same read either way up, so the boxes serve for the skew too
        skew = refine_skew(small, self._skew(boxes))
        full = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2) / scale
        level = rotate_fine(small, skew)
        portrait = level.shape[0] >= level.shape[1]
        rules = rule_mask(level, 297.0 if portrait else 210.0)
        cells = [tuple(v / scale for v in cell) for cell in find_cells(level, 297.0 if portrait else 210.0, rules)]
        upright = rotate_quarter(gray, rotation)
        if cells:
            # only on a page with a table: on running text, the strokes of a row of large bold
            # characters can merge into a "rule" on the reduced page, and lost their long strokes
            erase_rules(upright, rules, skew)
        return Prepared(upright, rotation, skew, marks, full, cells, image, rgb)

    def _boxes(self, small: np.ndarray) -> list:
        return self._detector.detect(small)

    @staticmethod
    def _sideways(boxes) -> bool:
        """Most long text boxes run up the page: it lies on its side."""
        long_boxes = [(w, h) for _, w, h in _box_angles(boxes) if max(w, h) > 3 * min(w, h)]
        return bool(long_boxes) and sum(1 for w, h in long_boxes if h > w) > len(long_boxes) / 2

    def _upside_down_share(self, small: np.ndarray, boxes, full: np.ndarray, scale: float) -> float:
        """Share of the longest text lines that read upside down (the detector's verdict, see
        OcrEngine.upside_down), each cut from the full-resolution page `full` (`small` is it
        reduced by `scale`): a 9 pt line is a few pixels high on the reduced page."""
        crops = []
        for box in boxes:
            points = np.asarray(box, dtype=int)
            x0, y0 = points.min(axis=0)
            x1, y1 = points.max(axis=0)
            if x1 - x0 > 3 * (y1 - y0) > 0:
                top, left = int(max(0, y0) / scale), int(max(0, x0) / scale)
                crop = np.ascontiguousarray(full[top:int(y1 / scale) + 1, left:int(x1 / scale) + 1])
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
