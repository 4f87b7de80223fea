"""Pages we did not print (issue 17): a seal over a name, a masked ID in a table, a phone photo.

Pages are drawn by bench/ocr_eval.py's builders; the OCR tests are slow (RapidOCR)."""

import io
import random
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from archive.scans.prepare import drop_red, flatten_photo, page_outline
from bench.ocr_eval import A4, draw_table, font, phone_photo, press_seal_at

NAME, DATE, ID = "张秀英", "2025年7月8日", "520111199001011236"
MASKED = "520111********1234"


def jpeg(image: Image.Image, quality: int = 75) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)  # 4:2:0: colour at half resolution
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def sealed_name_page() -> tuple[Image.Image, tuple[int, int, int, int]]:
    image = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(image)
    face = font("song", 14)
    draw.text((200, 600), f"申请人：{NAME}", fill="black", font=face)
    draw.text((200, 700), f"日期：{DATE}", fill="black", font=face)
    box = draw.textbbox((200, 600), f"申请人：{NAME}", font=face)
    name_box = (draw.textbbox((200, 600), "申请人：", font=face)[2], box[1], box[2], box[3])
    centre = ((name_box[0] + name_box[2]) / 2, (name_box[1] + name_box[3]) / 2)
    return jpeg(press_seal_at(image, centre, random.Random(1))), name_box


def test_black_strokes_under_the_seal_stay_dark_after_jpeg():
    page, (x0, y0, x1, y1) = sealed_name_page()
    grey = drop_red(page)[y0:y1, x0:x1]
    # the name's strokes are there: a good share of clearly dark pixels in its box
    assert (grey < 100).mean() > 0.05
    # and the seal's ink is gone, its edges too (the red channel alone leaves their ghost,
    # since JPEG blurs colour: about 92 % of these pixels come out white, and the star's
    # outline stays drawn across the name)
    rgb = np.asarray(page)
    red = (rgb[:, :, 0].astype(int) - rgb[:, :, 1:].mean(axis=2)) > 60
    assert (drop_red(page)[red] > 200).mean() > 0.95


def test_a_flat_scan_is_not_flattened():
    page = Image.new("RGB", A4, "white")
    ImageDraw.Draw(page).text((200, 200), "特此证明", fill="black", font=font("song", 14))
    assert page_outline(np.asarray(page)) is None and flatten_photo(page) == (page, False)


def test_a_photo_is_cut_to_the_page():
    page = Image.new("RGB", A4, "white")
    ImageDraw.Draw(page).text((200, 200), "特此证明", fill="black", font=font("song", 14))
    photo = phone_photo(page, random.Random(3))
    flat, changed = flatten_photo(photo)
    assert changed
    assert flat.width < 0.95 * photo.width and flat.height < 0.95 * photo.height
    grey = np.asarray(flat.convert("L"))
    edges = np.concatenate([grey[5:15].ravel(), grey[-15:-5].ravel(), grey[:, 5:15].ravel(), grey[:, -15:-5].ravel()])
    assert np.percentile(edges, 10) > 200  # paper to the edges: the dark table is cut away
    assert np.percentile(grey, 5) > 200  # and the shadow evened out


@pytest.fixture(scope="module")
def reader():
    from archive.scans.pipeline import PageReader

    return PageReader("rapidocr")


def compact(text: str) -> str:
    return "".join(text.split())


@pytest.mark.slow
def test_a_seal_over_a_name_leaves_the_name_and_date(reader):
    page, _ = sealed_name_page()
    text = compact(reader.ocr_image(page)[0].text)
    assert f"申请人：{NAME}" in text and DATE in text


@pytest.mark.slow
def test_a_masked_id_in_a_table_is_read_as_printed(reader):
    image = Image.new("RGB", A4, "white")
    rows = [["姓名", "与户主关系", "公民身份号码", "出生日期", "备注"],
            [NAME, "户主", MASKED, "1990.01.01", "在保"],
            ["李明", "子", ID, "1990.01.01", ""]]
    draw_table(image, 300, rows, font("hei", 10), title=f"龙山村家庭成员情况表（{DATE}）")
    text = compact(reader.ocr_image(jpeg(image, 85))[0].text)
    assert MASKED in text and ID in text and NAME in text and "李明" in text and DATE in text


@pytest.mark.slow
def test_a_photo_in_perspective_is_read(reader):
    image = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(image)
    face = font("song", 14)
    for row, line in enumerate([f"姓名：{NAME}", f"公民身份号码：{ID}", f"日期：{DATE}", "青岩镇人民政府"]):
        draw.text((200, 300 + row * 120), line, fill="black", font=face)
    photo = jpeg(phone_photo(image, random.Random(5)), 85)
    page, upright, _ = reader.ocr_image(photo)
    text = compact(page.text)
    assert f"姓名：{NAME}" in text and ID in text and DATE in text
    assert upright.height < photo.height  # the archival image is the page, not the table around it


def test_red_print_is_kept_while_the_seal_goes():
    """A 户口簿 page prints its title and labels in red: they are text, only the seal goes."""
    image = Image.new("RGB", A4, (244, 236, 240))
    draw = ImageDraw.Draw(image)
    draw.text((300, 200), "常住人口登记卡", fill=(190, 40, 40), font=font("song", 18))
    label = draw.textbbox((300, 200), "常住人口登记卡", font=font("song", 18))
    page = jpeg(press_seal_at(image, (1100, 900), random.Random(2)))
    grey = drop_red(page)
    x0, y0, x1, y1 = label
    assert (grey[y0:y1, x0:x1] < 128).mean() > 0.08  # the red title stays as dark print
    rgb = np.asarray(page)
    red = (rgb[:, :, 0].astype(int) - rgb[:, :, 1:].mean(axis=2)) > 60
    red[y0:y1, x0:x1] = False
    assert (grey[red] > 200).mean() > 0.95  # the seal is gone


@pytest.mark.slow
def test_a_skewed_dense_table_with_merged_cells_loses_no_cell(reader):
    from bench.ocr_eval import merged_table

    image = Image.new("RGB", A4, "white")
    truth = merged_table(random.Random(4), image, 140, font("song", 9))
    page = image.rotate(2.1, resample=Image.BICUBIC, fillcolor="white")
    ocr = reader.ocr_image(jpeg(page, 85))[0]
    text = compact(ocr.text)
    assert abs(abs(ocr.skew) - 2.1) < 0.15  # straightened to a tenth of a degree (refine_skew)
    ids = [cell for cell in truth if len(cell) == 18]
    names = [cell for cell in truth if 2 <= len(cell) <= 3 and not cell.isdigit() and cell not in ("姓名", "性别", "户主")]
    # no cell is lost: every name, a line for every ID cell; and nearly every ID exactly, masks
    # with their 8 asterisks (at 9 pt and 200 dpi a few masks still lose a digit beside them)
    read_ids = [line.text for line in ocr.lines if re.fullmatch(r"[0-9*Xx]{12,20}", line.text.strip())]
    assert len(ids) > 30 and len(read_ids) == len(ids)
    assert sum(number in text for number in ids) >= 0.9 * len(ids)
    assert all(name in text for name in names)
    assert truth[0] in text and "村(社区)" in text.replace("（", "(").replace("）", ")")


def test_table_rules_are_erased_and_a_character_across_a_rule_keeps_its_strokes():
    """A lone digit beside a rule was read `16` for `6`: the rules go before lines are read, on
    the page as it lies (2 degrees off), while a label running over its cell's rule keeps all
    but the rule's own width."""
    from archive.scans.layout import rule_mask
    from archive.scans.prepare import _reduced, erase_rules, rotate_fine

    image = Image.new("L", A4, 255)
    draw = ImageDraw.Draw(image)
    face = font("song", 11)
    for x0, x1 in ((200, 700), (700, 1000), (1000, 1400)):
        for y in range(300, 700, 60):
            draw.rectangle([x0, y, x1, y + 60], outline=0, width=2)
    draw.text((1010, 372), "6", fill=0, font=face)
    label = "户主或与户主关系"  # longer than its cell: runs over the rule at x = 700
    draw.text((520, 432), label, fill=0, font=face)
    box = draw.textbbox((520, 432), label, font=face)
    gray = rotate_fine(np.asarray(image).copy(), -2.0)  # the page as scanned, 2 degrees off
    before = rotate_fine(gray, 2.0)
    text_ink = (before[box[1]:box[3], box[0]:box[2]] < 128).sum() - (before[box[1]:box[3], 697:704] < 128).sum()
    small, _ = _reduced(gray)
    erase_rules(gray, rule_mask(rotate_fine(small, 2.0)), 2.0)
    level = rotate_fine(gray, 2.0)
    # the rules are gone: along a horizontal rule and a vertical one, away from text
    assert (level[600:602, 210:690] < 128).mean() < 0.02
    assert (level[310:350, 998:1002] < 128).mean() < 0.02
    # the digit and the label stay
    assert (level[372:372 + face.size, 1005:1040] < 128).sum() > 30
    kept = (level[box[1]:box[3], box[0]:box[2]] < 128).sum() - (level[box[1]:box[3], 697:704] < 128).sum()
    assert kept > 0.85 * text_ink


@pytest.mark.slow
def test_an_upright_table_of_id_numbers_is_not_turned_over(reader):
    """Digits look much the same turned round: the line classifier called most lines of this
    upright table (a photocopy, seed 17 page 8 of bench/ocr_eval.py) upside down, and the page
    was read turned over. The vote is confirmed by reading the lines both ways."""
    from bench.ocr_eval import build

    page = build("skewtable", 8)
    assert reader.preparer.prepare(page.image).rotation == 0


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="known regression (issue #17, session 6): with prepare.despeckle "
                   "on this speckled page one masked ID's 3364 is read 3304; without despeckle it is read "
                   "right, but despeckle keeps 〇 on copies of copies. To be fixed, not hidden: strict, so a "
                   "fix makes this fail until the mark is removed")
def test_masked_ids_and_amounts_in_a_dense_table_are_read_as_printed(reader):
    """Masked IDs in 9 pt lost asterisks and a 1 of 111 (read again stretched), and the amount
    900 was read turned round as 006 (a line of digits is never turned)."""
    from bench.ocr_eval import build, cer

    page = build("skewtable", 4)
    ocr = reader.ocr_image(page.image)[0]
    text = compact(ocr.text)
    masks = re.findall(r"\d{6}\*{8}\d{3}[\dX]", page.truth)
    assert len(masks) >= 8 and all(mask in text for mask in masks)
    assert "900" in page.truth.split("\n") and all(line.text.strip() != "006" for line in ocr.lines)
    errors, chars = cer(page.truth, ocr.text)
    assert errors / chars < 0.003


def speckled_copy(lines: list[str], seed: int = 6) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """Lines in 12 pt song, then bench/ocr_eval.py's copy of a copy (speckle, streaks, low
    contrast), with one more speck in the middle of every 〇 (a dot in its counter); returns the
    page and the boxes of the full stops printed."""
    from bench.ocr_eval import photocopy

    image = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(image)
    face = font("song", 12)
    stops = []
    for row, line in enumerate(lines):
        x, y = 200, 300 + row * 110
        draw.text((x, y), line, fill="black", font=face)
        for index, char in enumerate(line):
            box = draw.textbbox((x + draw.textlength(line[:index], font=face), y), char, font=face)
            if char == "〇":
                draw.point(((box[0] + box[2]) // 2, (box[1] + box[3]) // 2), fill=(40, 40, 40))
            elif char == ".":
                stops.append(tuple(int(v) for v in box))
    return photocopy(image, random.Random(seed)), stops


def test_speckle_goes_and_full_stops_stay():
    from archive.scans.prepare import despeckle

    page, stops = speckled_copy(["有效期限 2025.07.08-2045.07.08", "自二〇二五年七月起停发"])
    grey = drop_red(page)
    dots = [(grey[y0:y1, x0:x1] < 150).sum() for x0, y0, x1, y1 in stops]
    assert despeckle(grey) > 1000
    # the specks are gone from the paper between the lines, the full stops are not
    assert (grey[900:2000, 100:1500] < 150).sum() < 50
    assert all((grey[y0:y1, x0:x1] < 150).sum() >= 0.8 * before for (x0, y0, x1, y1), before in zip(stops, dots, strict=True))
    clean = np.asarray(Image.new("L", A4, 255)).copy()
    clean[500, 500] = clean[900, 300] = 0  # two specks on a clean page: left alone
    assert despeckle(clean) == 0 and clean[500, 500] == 0


@pytest.mark.slow
def test_a_dot_in_the_chinese_zero_of_a_copy_does_not_lose_it(reader):
    """On a copy of a copy a speck in the counter of 〇 made the recogniser drop it
    (`二〇二五` read `二二五`), and once the speck was gone it read a circle sign `○`."""
    lines = ["自二〇二五年七月起停发", "二〇二四年十二月三十一日", "签发日期：二〇二五年一月八日"]
    page, _ = speckled_copy(lines)
    text = compact(reader.ocr_image(page)[0].text)
    assert all(line in text for line in lines)


def streaked_copy(line: str, seed: int = 6) -> tuple[Image.Image, int]:
    """A line in 12 pt song on a copy of a copy, with a toner streak (a band 4 px wide darkened
    to 0.6 from the top of the page to the bottom) through the middle of its 〇, and a ruled
    table below whose vertical rules run two thirds down the page; returns the page and the
    streak's column."""
    from bench.ocr_eval import photocopy

    image = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(image)
    face = font("song", 12)
    draw.text((200, 300), line, fill="black", font=face)
    box = draw.textbbox((200 + draw.textlength(line[:line.index("〇")], font=face), 300), "〇", font=face)
    for x in (300, 700, 1100):
        draw.line([(x, 500), (x, 2000)], fill="black", width=2)
    copy = np.asarray(photocopy(image, random.Random(seed))).astype(np.float32)
    column = int((box[0] + box[2]) / 2) - 2
    copy[:, column:column + 4] *= 0.6
    return Image.fromarray(copy.astype(np.uint8)), column


def test_a_toner_streak_is_lifted_and_table_rules_stay():
    from archive.scans.prepare import lift_streaks

    page, column = streaked_copy("自二〇二五年七月起停发")
    grey = drop_red(page)
    paper = np.percentile(grey[1000:1400, 800:1000], 95)
    assert np.percentile(grey[1000:1400, column:column + 4], 95) < 0.8 * paper
    rules = (grey[600:1900, 295:305] < 128).sum(), (grey[600:1900, 695:705] < 128).sum()
    assert lift_streaks(grey) >= 4
    assert np.percentile(grey[1000:1400, column:column + 4], 95) > 0.95 * paper
    assert ((grey[600:1900, 295:305] < 128).sum(), (grey[600:1900, 695:705] < 128).sum()) == rules
    # a clean page with a table whose rules run most of the way down: nothing to lift
    image = Image.new("L", A4, 255)
    draw = ImageDraw.Draw(image)
    draw.text((200, 150), "自二〇二五年七月起停发", fill=0, font=font("song", 12))
    for x in (300, 700, 1100):
        draw.line([(x, 250), (x, 2250)], fill=0, width=3)
    clean = np.asarray(image).copy()
    assert lift_streaks(clean) == 0 and (clean == np.asarray(image)).all()


@pytest.mark.slow
def test_a_toner_streak_through_the_chinese_zero_does_not_lose_it(reader):
    """A streak through 〇 on a copy of a copy made the recogniser drop it (`二二五`)."""
    page, _ = streaked_copy("签发日期：二〇二五年一月八日")
    assert "签发日期：二〇二五年一月八日" in compact(reader.ocr_image(page)[0].text)


def overlapping_seals_page() -> Image.Image:
    """Three seals pressed over one another across a name and a date (a tune page of
    bench/ocr_eval.py, seal page 4, had such a cluster: one blob of red larger than any seal)."""
    image = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(image)
    face = font("song", 14)
    draw.text((200, 1300), f"申请人：{NAME}", fill="black", font=face)
    draw.text((200, 1450), f"日期：{DATE}", fill="black", font=face)
    rng = random.Random(4)
    for centre in ((260, 1330), (480, 1420), (520, 1600)):
        image = press_seal_at(image, centre, rng)
    return jpeg(image)


def test_seals_pressed_over_one_another_all_go():
    page = overlapping_seals_page()
    rgb = np.asarray(page)
    red = (rgb[:, :, 0].astype(int) - rgb[:, :, 1:].mean(axis=2)) > 60
    assert red.mean() > 0.01
    assert (drop_red(page)[red] > 200).mean() > 0.95


@pytest.mark.slow
def test_the_name_and_date_under_a_cluster_of_seals_are_read(reader):
    text = compact(reader.ocr_image(overlapping_seals_page())[0].text)
    assert f"申请人：{NAME}" in text and f"日期：{DATE}" in text
