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
    assert widths == [50, 720, 720, 48]  # a cell narrower than it is high is read 48 px wide
    groups = batching.batches(widths)
    assert groups == [[3], [0], [1, 2]]
    # read as 48 px high, the cell costs its own width, not RapidOCR's minimum of 320 px
    assert batching.padded_area(widths, groups) == 48 + 50 + 2 * 720


def test_lines_of_very_different_widths_are_not_batched_together():
    rng = random.Random(3)
    widths = [rng.choice([48, 60, 96, 200, 330, 700]) + rng.randrange(6) for _ in range(200)]
    groups = batching.batches(widths)
    assert sorted(i for group in groups for i in group) == list(range(200))  # each line read once
    for group in groups:
        assert len({widths[i] for i in group}) == 1  # no line padded
        assert len(group) <= batching.MAX_BATCH
    assert batching.padded_area(widths, groups) == sum(widths)
    # far less than every line padded to 320 px, or to its batch of six in RapidOCR's order
    ordered = sorted(widths)
    rapid = sum(len(ordered[s:s + 6]) * max(320, *ordered[s:s + 6]) for s in range(0, 200, 6))
    assert batching.padded_area(widths, groups) < 0.7 * rapid
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


def test_detection_sees_only_the_part_of_the_page_with_ink():
    from archive.scans.ocr.rapid import ink_area

    page = np.full((1024, 736), 255, np.uint8)
    page[300:340, 150:500] = 0  # a line of text
    x0, y0, x1, y1 = ink_area(page)
    assert all(v % 32 == 0 for v in (x0, y0, x1, y1))  # on the detector's grid
    assert x0 <= 150 - 32 and y0 <= 300 - 32 and x1 >= 500 + 32 and y1 >= 340 + 32  # the margin kept
    assert (x1 - x0) * (y1 - y0) < 0.2 * page.size
    # faint print on a grey copy counts as ink
    grey = np.full((1024, 736), 200, np.uint8)
    grey[600:620, 100:600] = 150
    x0, y0, x1, y1 = ink_area(grey)
    assert y0 <= 600 - 32 and y1 >= 620 + 32 and x0 <= 100 - 32
    # a blank page, and a page with ink to its edges, are seen whole
    assert ink_area(np.full((1024, 736), 255, np.uint8)) == (0, 0, 736, 1024)
    page[10:20, 5:730] = 0
    page[1000:1010, 5:730] = 0
    assert ink_area(page) == (0, 0, 736, 1024)


@pytest.mark.slow
def test_text_found_on_the_ink_part_is_where_the_whole_page_finds_it(monkeypatch):
    """The lines the detector finds on the ink's part of a page are those it finds on the whole
    page, to a few pixels (near the part's edge the network sees its padding, not paper), none lost."""
    from archive.scans.ocr import rapid
    from archive.scans.pipeline import PageReader

    engine = PageReader("rapidocr").engine
    image = Image.new("RGB", A4, "white")
    draw_table(image, 500, table_rows(random.Random(2), 8), font("song", 11), title="石板村家庭成员情况表")
    small = np.asarray(image.convert("L").resize((724, 1024)))
    assert rapid.ink_area(small) != (0, 0, 724, 1024)  # a part, not the page
    part = sorted(np.asarray(box).round().astype(int).ravel().tolist() for box in engine.detect(small))
    monkeypatch.setattr(rapid, "ink_area", lambda image: (0, 0, image.shape[1], image.shape[0]))
    whole = sorted(np.asarray(box).round().astype(int).ravel().tolist() for box in engine.detect(small))
    assert len(part) == len(whole) > 40
    for box in whole:  # each line found on the page is found on the part, to a few pixels
        assert min(max(abs(a - b) for a, b in zip(box, other, strict=True)) for other in part) <= 5
