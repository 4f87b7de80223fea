"""Which text lines the recogniser reads together, and how wide it reads them.

The line recogniser takes a batch of line images scaled to 48 px high, each padded on the
right to the batch's widest. RapidOCR pads every batch to at least 320 px (its
`Rec.rec_img_shape`), so a table cell of one character (48 px wide) cost as much as a line of
seven, and batching lines of very different widths pads the short ones to the long one. Here a
batch holds lines of the same width only (sorted by width, a new batch when the next line is
more than `tolerance` wider than the batch's first plus `step` pixels: none by default), so no
line is padded at all and each reads as it would alone. Padding is not neutral: a masked ID
padded by a few pixels lost an asterisk that it kept read alone. With one ONNX thread per
worker, batching saves little anyway: padding is what costs.
Lines narrower than `MIN_WIDTH` are all padded to it (so they share a batch and still read as
alone): read at its own width, a name in a table cell was misread (`曹涛强` as `曹涛強` at 48 px;
read right at 128, 192 and 320 px).
"""

from __future__ import annotations

from collections.abc import Sequence

HEIGHT = 48        # the recogniser's input height (PP-OCR)
MIN_WIDTH = 192    # narrowest input: a short cell is padded to four characters' width, not 320 px
TOLERANCE = 0.0    # a batch's lines differ in width by at most this share of the narrowest
STEP = 0           # ... plus this many pixels (0 and 0: lines of the same width only)
MAX_BATCH = 16


def input_width(height: int, width: int, min_width: int | None = None) -> int:
    """The width a line image of `height` x `width` pixels is read at: scaled to the
    recogniser's height (RapidOCR's TextRecognizer rounds down, as here), at least `min_width`
    (MIN_WIDTH)."""
    return max(MIN_WIDTH if min_width is None else min_width, int(HEIGHT * (width / max(1, height))))


def batches(widths: Sequence[int], tolerance: float = TOLERANCE, step: int = STEP,
            max_batch: int = MAX_BATCH) -> list[list[int]]:
    """Indices of `widths` (input widths, see input_width) in batches of like width, narrowest
    first: each batch's widest is at most (1 + tolerance) times its narrowest plus `step`."""
    order = sorted(range(len(widths)), key=lambda i: widths[i])
    groups: list[list[int]] = []
    for index in order:
        if groups:
            current = groups[-1]
            first = widths[current[0]]
            if len(current) < max_batch and widths[index] <= first * (1 + tolerance) + step:
                current.append(index)
                continue
        groups.append([index])
    return groups


def padded_area(widths: Sequence[int], groups: list[list[int]]) -> int:
    """Columns the recogniser reads for these batches (each line padded to its batch's widest)."""
    return sum(len(group) * max(widths[i] for i in group) for group in groups)
