"""Line recognition in batches of like width, each padded only to its own widest line (issue 17)."""

import random

import numpy as np
import pytest
from PIL import Image

from archive.scans.ocr import batching
from bench.ocr_eval import A4, draw_table, font, table_rows


def test_a_short_cell_is_not_padded_to_320():
    # a one-character cell (`男`, 40 x 38 px) and two long lines
    widths = [batching.input_width(38, 40), batching.input_width(40, 600), batching.input_width(41, 615),
              batching.input_width(40, 30)]
    assert widths == [192, 720, 720, 192]  # short cells are read MIN_WIDTH wide
    groups = batching.batches(widths)
    assert groups == [[0, 3], [1, 2]]
    # read as 48 px high, a cell costs 192 columns, not RapidOCR's minimum of 320 px
    assert batching.padded_area(widths, groups) == 2 * 192 + 2 * 720


def test_lines_of_very_different_widths_are_not_batched_together():
    rng = random.Random(3)
    widths = [batching.input_width(48, rng.choice([48, 60, 96, 200, 330, 700]) + rng.randrange(6)) for _ in range(200)]
    groups = batching.batches(widths)
    assert sorted(i for group in groups for i in group) == list(range(200))  # each line read once
    for group in groups:
        assert len({widths[i] for i in group}) == 1  # no line padded
        assert len(group) <= batching.MAX_BATCH
    assert batching.padded_area(widths, groups) == sum(widths)
    # far less than every line padded to 320 px, or to its batch of six in RapidOCR's order
    ordered = sorted(widths)
    rapid = sum(len(ordered[s:s + 6]) * max(320, *ordered[s:s + 6]) for s in range(0, 200, 6))
    assert batching.padded_area(widths, groups) < 0.8 * rapid
    # a looser batching pads, within its bounds
    loose = batching.batches(widths, tolerance=0.1, step=8)
    assert len(loose) < len(groups)
    for group in loose:
        assert max(widths[i] for i in group) <= min(widths[i] for i in group) * 1.1 + 8


def test_no_lines_no_batches():
    assert batching.batches([]) == []


@pytest.mark.slow
def test_batched_reading_reads_a_table_as_lines_read_one_by_one():
    """The same texts as reading each line alone (no padding at all), on a generated table page
    of short cells, names, masked IDs and dates; and fewer columns read than RapidOCR's batching."""
    from archive.scans.pipeline import PageReader

    reader = PageReader("rapidocr")
    image = Image.new("RGB", A4, "white")
    draw_table(image, 300, table_rows(random.Random(8), 12), font("song", 10), title="龙山村家庭成员情况表")
    prepared = reader.preparer.prepare(image)
    engine = reader.engine
    crops = [np.ascontiguousarray(crop) for crop in engine._engine.crop_text_regions(
        np.dstack([prepared.gray] * 3), np.asarray(prepared.boxes, dtype=np.float32))]
    assert len(crops) > 40
    texts, scores, _ = engine.read_lines(crops)
    alone = [engine.read_lines([crop]) for crop in crops]
    assert texts == [text[0] for text, _, _ in alone]
    assert scores == pytest.approx([score[0] for _, score, _ in alone], abs=0.01)
    widths = [batching.input_width(*crop.shape[:2]) for crop in crops]
    assert sum(1 for w in widths if w < 320) > len(crops) / 3  # short cells: what the 320 px floor wasted
    ordered = sorted(widths)
    rapid = sum(len(ordered[s:s + 6]) * max(320, *ordered[s:s + 6]) for s in range(0, len(ordered), 6))
    assert batching.padded_area(widths, batching.batches(widths)) < 0.7 * rapid

