"""Page layout: the cells of ruled tables, so that a form is read cell by cell.

Our forms (审批表, 入户调查表, the stubs) are ruled tables. Read line by line across the page, a
label centred beside a two-line value lands between the value's lines; read cell by cell, the
label comes first and the value stays whole. Cells are the regions the ruling lines enclose:
long horizontal and vertical strokes are kept by morphological opening, and every region they
close off that does not reach the page edge is a cell.

The page number at the foot (GB/T 9704: `— 7 —`) is read in its standard form: its thin dashes
are often misread or missed, and are found as shapes when the recogniser drops them.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from archive.scans.ocr.base import OcrLine

Rect = tuple[float, float, float, float]  # left, top, right, bottom

WORK_SIDE = 1280          # cells are found on a copy reduced to this longer side
MIN_CELL_MM = 3.0         # smaller regions are boxes drawn inside text, not cells
MAX_CELL_SHARE = 0.25     # a region larger than this share of the page is not a cell


def rule_mask(gray: np.ndarray, page_height_mm: float = 297.0) -> tuple[np.ndarray, np.ndarray, float]:
    """The ruling lines of an upright, straightened grey page: masks (255 on rules) of the
    horizontal and of the vertical rules on the page reduced to WORK_SIDE, and the scale of that
    reduction. A rule is a run of ink longer than any stroke of a character (a 三号 character is
    about 5.6 mm)."""
    scale = min(1.0, WORK_SIDE / max(gray.shape[:2]))
    small = gray if scale >= 1.0 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    px_per_mm = small.shape[0] / page_height_mm
    _, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    rule = max(8, int(round(9 * px_per_mm)))
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (rule, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, rule)))
    return horizontal, vertical, scale


def find_cells(gray: np.ndarray, page_height_mm: float = 297.0,
               rules: tuple[np.ndarray, np.ndarray, float] | None = None) -> list[Rect]:
    """Table cells of an upright, straightened grey page, in its pixels.

    `page_height_mm` is the paper's height, to turn millimetres into pixels (A4 by default;
    a page lying landscape passes 210). `rules`: rule_mask(gray) when the caller has it."""
    horizontal, vertical, scale = rules if rules is not None else rule_mask(gray, page_height_mm)
    mask = horizontal | vertical
    height, width = mask.shape[:2]
    px_per_mm = height / page_height_mm
    # close the small gaps noise and a residual skew leave where rules meet
    grid = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_not(grid), connectivity=4)
    smallest = MIN_CELL_MM * px_per_mm
    cells: list[Rect] = []
    for label in range(1, count):
        left, top, w, h, area = (int(v) for v in stats[label])
        if left == 0 or top == 0 or left + w >= width or top + h >= height:
            continue  # the page around the tables
        if w < smallest or h < smallest or area > MAX_CELL_SHARE * width * height:
            continue
        cells.append((left / scale, top / scale, (left + w) / scale, (top + h) / scale))
    return cells


def _centre(line: OcrLine) -> tuple[float, float]:
    xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def _row_reach(height: float, other: float) -> float:
    """How far apart the middles of two lines may be on one row: half the taller one, as lines
    of different sizes on one row (a card's small label beside its larger value, a heading's
    large first character) share a row; but never more than the shorter one's own height. A box
    several lines tall is no line of text (a card's photo read as `■`, a picture): taken
    as a row's measure, it drew every label beside it into one row, ahead of their values."""
    return min(max(height, other), 2 * min(height, other)) / 2


def _rows_of_lines(lines: list[OcrLine]) -> list[OcrLine]:
    """Top to bottom, left to right within a row (lines whose middles are within half a line)."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: item.top):
        middle = line.top + line.height / 2
        if rows:
            ref = rows[-1][0]
            if abs(middle - (ref.top + ref.height / 2)) < _row_reach(ref.height, line.height):
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.left)]


def reading_order(lines: list[OcrLine], cells: list[Rect] = ()) -> list[OcrLine]:
    """Lines in the order a person reads the page: rows of text top to bottom, left to right;
    inside a table, row by row and cell by cell, each cell's lines together."""
    if not lines:
        return []
    inside: dict[int, list[OcrLine]] = {}
    free: list[OcrLine] = []
    for line in lines:
        x, y = _centre(line)
        for index, (left, top, right, bottom) in enumerate(cells):
            if left <= x <= right and top <= y <= bottom:
                inside.setdefault(index, []).append(line)
                break
        else:
            free.append(line)
    columns = two_columns(free)
    if columns is not None:
        # running text in two columns: the lines above them, then the left column, then the right
        above, left, right = columns
        free = above
        order = {id(line): i for i, line in enumerate(_rows_of_lines(above) + _rows_of_lines(left)
                                                      + _rows_of_lines(right))}
        if not inside:
            return sorted(free + left + right, key=lambda line: order[id(line)])
        # beside tables, each column stays one unit, placed where its first line is
        units_extra = [(min(line.top for line in group), min(line.left for line in group), 0.0,
                        _rows_of_lines(group), False) for group in (left, right)]
    else:
        units_extra = []
    # units: a free line, or a cell with its lines; cells join a row when their tops meet
    # (they hang from the same rule), free lines when their middles do
    units: list[tuple[float, float, float, list[OcrLine], bool]] = [
        (line.top, line.left, line.height, [line], False) for line in free]
    units += [(cells[i][1], cells[i][0], cells[i][3] - cells[i][1], _rows_of_lines(group), True)
              for i, group in inside.items()]
    units += units_extra
    units.sort(key=lambda unit: unit[0])
    rows: list[list[tuple]] = []
    for unit in units:
        top, _, height, _, is_cell = unit
        if rows and rows[-1][0][4] == is_cell:
            ref = rows[-1][0]
            if is_cell and abs(top - ref[0]) < min(height, ref[2]) * 0.3:
                rows[-1].append(unit)
                continue
            if not is_cell and abs((top + height / 2) - (ref[0] + ref[2] / 2)) < _row_reach(height, ref[2]):
                rows[-1].append(unit)
                continue
        rows.append([unit])
    rows = _strays_into_cell_rows(rows)
    return [line for row in rows for unit in sorted(row, key=lambda item: item[1]) for line in unit[3]]


def _strays_into_cell_rows(rows: list[list[tuple]]) -> list[list[tuple]]:
    """A line level with a row of cells whose own cell was not found (its rule faded on a
    photocopy, or cut by a toner streak) is read in that row, where it stands: it joins the row
    whose lowest cell spans its middle (its box, with the detector's margin, may be taller)."""
    cell_rows = [(min(unit[0] for unit in row), min(unit[2] for unit in row), row) for row in rows
                 if all(unit[4] for unit in row)]
    if not cell_rows:
        return rows
    out = []
    for row in rows:
        if row[0][4]:
            out.append(row)
            continue
        kept = []
        for unit in row:
            top, _, height, lines, _ = unit
            middle = top + height / 2
            home = next((cells for row_top, low, cells in cell_rows
                         if len(lines) == 1 and row_top < middle < row_top + low and height < 2 * low), None)
            if home is None:
                kept.append(unit)
            else:
                home.append(unit)
        if kept:
            out.append(kept)
    return out


COLUMN_MIN_LINES = 6     # lines on each side of the gutter before a page counts as two columns
COLUMN_FILLED = 0.45     # share of a column's lines that run to (near) its right edge (short paragraphs:
                         # a two-line paragraph fills one of its two lines)
COLUMN_GUTTER = 0.08     # the gap between columns, at most this share of the text width


def two_columns(lines: list[OcrLine]) -> tuple[list[OcrLine], list[OcrLine], list[OcrLine]] | None:
    """(lines above, left column, right column) when the lines are running text set in two
    columns; None otherwise. Two columns: a vertical gutter near the middle that no line crosses
    (but headings above the columns), at least COLUMN_MIN_LINES lines on each side, side by side,
    a narrow gutter, each column over a third of the text width, and most lines on each side
    filled to the column's right edge as wrapped text is. A form's label and value pairs leave
    a wide gap and do not fill their side, so forms keep their row order."""
    if len(lines) < 2 * COLUMN_MIN_LINES:
        return None
    rights = [max(p[0] for p in line.box) for line in lines]
    start, end = min(line.left for line in lines), max(rights)
    width = end - start
    if width <= 0:
        return None
    for step in range(31):
        gutter = start + width * (0.35 + 0.3 * step / 30)
        left = [line for line, right in zip(lines, rights, strict=True) if right <= gutter]
        right = [line for line in lines if line.left >= gutter]
        crossing = [line for line, r in zip(lines, rights, strict=True) if line.left < gutter < r]
        if len(left) < COLUMN_MIN_LINES or len(right) < COLUMN_MIN_LINES:
            continue
        top = min(line.top for line in left + right)
        if any(line.top + line.height > top for line in crossing):
            continue  # a line across the gutter beside the columns: not two columns
        left_edge = max(max(p[0] for p in line.box) for line in left)
        right_edge = max(max(p[0] for p in line.box) for line in right)
        right_start = min(line.left for line in right)
        if right_start - left_edge > COLUMN_GUTTER * width:
            continue  # a wide gap: two fields of a form, not a gutter
        if min(left_edge - start, right_edge - right_start) < 0.35 * width:
            continue  # narrow sides: labels and values
        slack = 0.05 * width
        filled_left = sum(1 for line in left if max(p[0] for p in line.box) >= left_edge - slack) / len(left)
        filled_right = sum(1 for line in right if max(p[0] for p in line.box) >= right_edge - slack) / len(right)
        overlap = min(max(line.top for line in left), max(line.top for line in right)) - max(
            min(line.top for line in left), min(line.top for line in right))
        if filled_left >= COLUMN_FILLED and filled_right >= COLUMN_FILLED and overlap > 0:
            return crossing, left, right
    return None


_DASHES = "-‐‑‒–—―一－_~～"
_PAGE_NUMBER = re.compile(rf"^[{_DASHES}]{{0,3}}(\d{{1,4}})[{_DASHES}]{{0,3}}$")
FOOT_SHARE = 0.8  # the page number sits in the bottom fifth of the page


def tidy_page_number(lines: list[OcrLine], page_height: float) -> list[OcrLine]:
    """The page number line at the foot, in its GB/T 9704 form `— 7 —`.

    Thin 一字线 dashes are read as `-` or `一`, or one of them is missed; a line at the foot that
    is a number with a dash beside it (the parts can be separate boxes) is the page number."""
    foot = [line for line in lines if line.top > page_height * FOOT_SHARE]
    rows: list[list[OcrLine]] = []
    for line in sorted(foot, key=lambda item: item.top):
        if rows and abs(line.top + line.height / 2 - (rows[-1][0].top + rows[-1][0].height / 2)) < line.height / 2:
            rows[-1].append(line)
        else:
            rows.append([line])
    for row in rows:
        row.sort(key=lambda item: item.left)
        text = "".join("".join(line.text.split()) for line in row)
        match = _PAGE_NUMBER.match(text)
        if not match or text == match.group(1):
            continue
        points = [p for line in row for p in line.box]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        merged = OcrLine(f"— {int(match.group(1))} —", [[min(xs), min(ys)], [max(xs), min(ys)], [max(xs), max(ys)],
                                                   [min(xs), max(ys)]], min(line.confidence for line in row))
        position = lines.index(row[0])
        lines = [line for line in lines if line not in row]
        lines.insert(min(position, len(lines)), merged)
    return lines


def is_bare_page_number(line: OcrLine, page_height: float) -> bool:
    """A number alone at the foot: a page number whose thin dashes the detector left out."""
    return line.top > page_height * FOOT_SHARE and re.fullmatch(r"\d{1,4}", "".join(line.text.split())) is not None


def dashes_beside(gray: np.ndarray, line: OcrLine) -> int:
    """How many 一字线 dashes (0-2) lie level with the line just left and right of it.

    The recogniser often drops a thin dash beside a number; a dash is a plain shape, found
    here as a bar of ink at mid-height, at least half a character long and thin."""
    xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
    size = max(ys) - min(ys)
    top, bottom = int(max(0, min(ys))), int(min(gray.shape[0], max(ys)))
    found = 0
    for left, right in ((min(xs) - 2.5 * size, min(xs) + 0.3 * size), (max(xs) - 0.3 * size, max(xs) + 2.5 * size)):
        left, right = int(max(0, left)), int(min(gray.shape[1], right))
        if right - left < size or bottom - top < 4:
            continue
        band = gray[top:bottom, left:right]
        # a blurred 200 dpi dash is only mid-grey: anything clearly darker than the paper
        ink = (band < 0.8 * float(np.percentile(band, 90))).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
        for label in range(1, count):
            _, y, w, h, _ = (int(v) for v in stats[label])
            middle = y + h / 2
            if w >= 0.5 * size and h <= 0.2 * size and w >= 4 * h and abs(middle - (bottom - top) / 2) < 0.25 * size:
                found += 1
                break
    return found


def restore_page_number_dashes(gray: np.ndarray, lines: list[OcrLine]) -> None:
    """A number alone at the foot with dashes beside it on the page is the page number: its
    text becomes `— N —`. `gray` is the image the line boxes refer to."""
    for line in lines:
        if is_bare_page_number(line, gray.shape[0]) and dashes_beside(gray, line):
            line.text = f"— {line.text.strip()} —"


def without_scribbles(lines: list[OcrLine]) -> list[OcrLine]:
    """Lines with at least one letter, digit or Han character: a line of symbols alone (`~~`,
    `-~`) is a pen stroke, a scribbled signature or a piece of a rule, not text."""
    return [line for line in lines if any(char.isalnum() for char in line.text)]
