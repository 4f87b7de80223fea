"""OCR on paper we did not print (issue 17): a generated evaluation set, CER per class.

The page builders of bench/ocr.py's "other" set. `bench/ocr_eval.py [--pages 3] [--seed 17]
[--workers 2] [--no-tesseract]` still works: it runs `bench/ocr.py --set other`.

Pages are drawn here with PIL (nothing is committed but this script), in fonts other than our
templates' settings: AR PL UMing (宋体 stand-in, also for 仿宋), AR PL UKai (楷体), WenQuanYi Zen Hei
(黑体), 9 to 16 pt, some bold; in layouts our templates do not use. Classes:
  fonts      running text, mixed fonts, sizes and bold
  table      a dense ruled table with merged cells: names, masked IDs, dates
  twocol     two columns of text (truth: left column, then right)
  blanks     underlined fill-in blanks (姓名____张三____)
  seal       running text with red seals pressed at random places (over names, dates, offices),
             saved as JPEG (colour at half resolution)
  digits     masked IDs (520111********1234) and long digit runs
  photocopy  a copy of a copy: low contrast, speckle, toner streaks
  photo      a phone photo: perspective, shadow, uneven light, a dark table around the page
Every page is generated from a fixed seed; page i goes to the tune half when i is even and to
the held-out half when odd. CER is reported on the held-out half only (whitespace removed, NFKC
on both sides, so full- and half-width forms count as equal), for our pipeline (prepare +
rapidocr defaults) and Tesseract chi_sim on the raw page when installed; then pages/min with
N workers and the peak RSS of a worker. Needs rapidfuzz; Tesseract from Debian (tesseract-ocr
tesseract-ocr-chi-sim) is optional.
"""

from __future__ import annotations

import io
import random
import unicodedata
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DPI = 200
A4 = (int(210 / 25.4 * DPI), int(297 / 25.4 * DPI))
FONTS = {
    "song": ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    "kai": ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    "hei": ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
}
CLASSES = ("fonts", "table", "twocol", "blanks", "seal", "digits", "photocopy", "photo",
           "idcard", "hukou", "skewtable", "handwriting")
PRINTED = CLASSES[:-1]  # handwriting (a proxy) is reported apart from printed text

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "秀英华明丽军芳敏静强磊洋艳勇杰娟涛超霞平刚桂兰玉梅红建国志文德福荣春生海林云晓燕"
PLACES = ["青岩镇", "花溪区", "龙山村", "石板村", "马场镇", "乌当区", "清镇市", "开阳县", "修文县", "息烽县"]
PHRASES = [
    "根据《最低生活保障审核确认办法》的规定", "经入户调查和家庭经济状况核对", "申请人家庭人均收入低于当地保障标准",
    "现将有关情况公示如下", "如有异议请于公示期内向镇人民政府反映", "特此证明", "本人承诺所提供的材料真实有效",
    "因病致贫，长期服药，无劳动能力", "家庭成员共同生活，户籍在本村", "民政办公室经办人签字",
    "医疗费用自付部分已报销", "残疾等级为二级，残疾类别为肢体", "自二〇二五年七月起停发", "请携带本人身份证原件办理",
    "该户房屋为砖混结构，面积约八十平方米", "承包土地二点五亩，年收入约三千元", "签发机关：贵阳市公安局花溪分局",
    "出院诊断：慢性阻塞性肺疾病", "户主或与户主关系：子", "以上情况属实，同意上报县民政局审核确认",
]


def font(kind: str, points: float) -> ImageFont.FreeTypeFont:
    path, index = FONTS[kind]
    return ImageFont.truetype(path, int(points / 72 * DPI), index=index)


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def id_number(rng: random.Random) -> str:
    import datetime as dt

    from archive import idcard

    birth = dt.date(rng.randint(1940, 2015), rng.randint(1, 12), rng.randint(1, 28))
    return idcard.make(rng.choice(["520111", "520113", "520121", "520123", "520181"]), birth, rng.randint(1, 999))


def date(rng: random.Random) -> str:
    return f"{rng.randint(2018, 2026)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"


def sentence(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.2:
        return f"{name(rng)}，{rng.choice(PLACES)}{rng.choice(['龙山村', '石板村', '新寨村'])}{rng.randint(1, 12)}组"
    if pick < 0.3:
        return f"日期：{date(rng)}"
    return rng.choice(PHRASES)


@dataclass
class Page:
    cls: str
    index: int
    image: Image.Image
    truth: str

    @property
    def held_out(self) -> bool:
        return self.index % 2 == 1


def _blank(rng: random.Random) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", A4, "white")
    return image, ImageDraw.Draw(image)


def _running_text(rng: random.Random, lines: int = 22, mixed: bool = True) -> tuple[Image.Image, list[str], list]:
    image, draw = _blank(rng)
    truth, spots = [], []
    y = int(0.12 * A4[1])
    for _ in range(lines):
        kind = rng.choice(list(FONTS)) if mixed else "song"
        size = rng.uniform(9, 16)
        bold = mixed and rng.random() < 0.25
        text = sentence(rng)
        face = font(kind, size)
        x = int(0.1 * A4[0])
        draw.text((x, y), text, fill=(20, 20, 20), font=face, stroke_width=1 if bold else 0, stroke_fill=(20, 20, 20))
        right = draw.textbbox((x, y), text, font=face)[2]
        if right > A4[0] * 0.92:
            continue
        spots.append((x, y, right, y + face.size))
        truth.append(text)
        y += int(face.size * 1.9)
        if y > A4[1] * 0.9:
            break
    return image, truth, spots


def page_fonts(rng: random.Random) -> tuple[Image.Image, str]:
    image, truth, _ = _running_text(rng)
    return image, "\n".join(truth)


def press_seal_at(image: Image.Image, centre: tuple[float, float], rng: random.Random) -> Image.Image:
    from archive.scans.synthetic import press_seal

    return press_seal(image, centre, DPI, text=rng.choice(["青岩镇人民政府", "花溪区民政局", "龙山村村民委员会"]))


def page_seal(rng: random.Random) -> tuple[Image.Image, str]:
    image, truth, spots = _running_text(rng)
    for x0, y0, x1, y1 in rng.sample(spots, min(3, len(spots))):
        image = press_seal_at(image, (rng.uniform(x0, x1), (y0 + y1) / 2), rng)
    return jpeg(image, rng.choice((70, 80))), "\n".join(truth)


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    """Saved as a scanner saves colour pages: JPEG, colour at half resolution (4:2:0)."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def table_rows(rng: random.Random, rows: int = 12) -> list[list[str]]:
    out = [["姓名", "与户主关系", "公民身份号码", "出生日期", "备注"]]
    for _ in range(rows):
        number = id_number(rng)
        masked = rng.random() < 0.5
        shown = number[:6] + "********" + number[14:] if masked else number
        out.append([name(rng), rng.choice(["户主", "配偶", "子", "女", "母亲"]), shown,
                    f"{number[6:10]}.{number[10:12]}.{number[12:14]}", rng.choice(["在保", "残疾", "", "新增"])])
    return out


def draw_table(image: Image.Image, top: int, rows: list[list[str]], face: ImageFont.FreeTypeFont,
               title: str | None = None) -> tuple[int, list[str]]:
    """A ruled table; `title` is a merged cell across the whole first row. Returns the bottom and
    the truth, row by row and cell by cell."""
    draw = ImageDraw.Draw(image)
    widths = [0.13, 0.13, 0.34, 0.2, 0.12]
    left = int(0.04 * A4[0])
    xs = [left]
    for w in widths:
        xs.append(xs[-1] + int(w * A4[0]))
    height = int(face.size * 1.7)
    truth = []
    y = top
    if title:
        draw.rectangle([xs[0], y, xs[-1], y + height], outline="black", width=2)
        draw.text((xs[0] + 10, y + height * 0.2), title, fill="black", font=face)
        truth.append(title)
        y += height
    for row in rows:
        for index, cell in enumerate(row):
            draw.rectangle([xs[index], y, xs[index + 1], y + height], outline="black", width=2)
            if cell:
                draw.text((xs[index] + 8, y + height * 0.2), cell, fill="black", font=face)
                truth.append(cell)
        y += height
    return y, truth


def page_table(rng: random.Random) -> tuple[Image.Image, str]:
    image, _ = _blank(rng)
    face = font(rng.choice(list(FONTS)), rng.uniform(9, 11))
    _, truth = draw_table(image, int(0.1 * A4[1]), table_rows(rng, 16), face,
                          title=f"{rng.choice(PLACES)}家庭成员情况表（{date(rng)}）")
    return image, "\n".join(truth)


def page_twocol(rng: random.Random) -> tuple[Image.Image, str]:
    """A heading across the page, then paragraphs wrapped in two columns."""
    image, draw = _blank(rng)
    face = font(rng.choice(list(FONTS)), rng.uniform(10, 12))
    heading = f"{rng.choice(PLACES)}社会救助工作简报"
    draw.text((int(0.3 * A4[0]), int(0.06 * A4[1])), heading, fill="black", font=font("hei", 16))
    columns = [heading]
    for column in range(2):
        x = int((0.07 + column * 0.47) * A4[0])
        y = int(0.12 * A4[1])
        lines = []
        while y < A4[1] * 0.88:
            paragraph = "".join(sentence(rng) + "。" for _ in range(rng.randint(2, 4)))
            first = True
            while paragraph and y < A4[1] * 0.88:
                indent = 2 * face.size if first else 0
                cut = len(paragraph)
                while draw.textlength(paragraph[:cut], font=face) > 0.42 * A4[0] - indent:
                    cut -= 1
                draw.text((x + indent, y), paragraph[:cut], fill="black", font=face)
                lines.append(paragraph[:cut])
                paragraph, first = paragraph[cut:], False
                y += int(face.size * 1.7)
        columns.append("\n".join(lines))
    return image, "\n".join(columns)


def page_blanks(rng: random.Random) -> tuple[Image.Image, str]:
    image, draw = _blank(rng)
    face = font(rng.choice(list(FONTS)), rng.uniform(11, 15))
    hand = font("kai", rng.uniform(12, 15))
    truth = []
    y = int(0.1 * A4[1])
    labels = ["申请人姓名", "公民身份号码", "家庭住址", "联系电话", "申请日期", "家庭人口", "月人均收入"]
    while y < A4[1] * 0.85:
        label = rng.choice(labels)
        value = {"申请人姓名": name(rng), "公民身份号码": id_number(rng), "家庭住址": rng.choice(PLACES) + "龙山村",
                 "联系电话": f"1{rng.randint(3, 9)}{rng.randint(0, 999999999):09d}", "申请日期": date(rng),
                 "家庭人口": f"{rng.randint(1, 7)}人", "月人均收入": f"{rng.randint(200, 900)}元"}[label]
        x = int(0.1 * A4[0])
        draw.text((x, y), label + "：", fill="black", font=face)
        x = draw.textbbox((x, y), label + "：", font=face)[2] + 6
        end = draw.textbbox((x + 30, y), value, font=hand)[2] + 60
        draw.text((x + 30, y - 4), value, fill=(25, 25, 90), font=hand)
        draw.line([(x, y + face.size * 1.15), (end, y + face.size * 1.15)], fill="black", width=2)
        truth.append(label + "：" + value)
        y += int(face.size * 2.6)
    return image, "\n".join(truth)


def page_digits(rng: random.Random) -> tuple[Image.Image, str]:
    image, draw = _blank(rng)
    face = font(rng.choice(list(FONTS)), rng.uniform(10, 14))
    truth = []
    y = int(0.1 * A4[1])
    while y < A4[1] * 0.88:
        number = id_number(rng)
        kind = rng.random()
        if kind < 0.4:
            text = f"身份证号：{number[:6]}********{number[14:]}"
        elif kind < 0.6:
            text = f"公民身份号码：{number}"
        elif kind < 0.8:
            text = f"银行卡号：6217{rng.randint(0, 10**15 - 1):015d}"
        else:
            text = f"档号：{rng.randint(1000, 9999)}-{rng.randint(2018, 2026)}-{rng.randint(1, 999):03d}-{rng.randint(1, 9999):04d}"
        draw.text((int(0.1 * A4[0]), y), text, fill="black", font=face)
        truth.append(text)
        y += int(face.size * 2.0)
    return image, "\n".join(truth)


def photocopy(image: Image.Image, rng: random.Random) -> Image.Image:
    """A copy of a copy: grey paper, faded toner, speckle, vertical toner streaks, slight blur."""
    array = np.asarray(image.convert("L"), dtype=np.float32)
    array = 90 + array * (rng.uniform(130, 150) / 255)  # contrast 90..235
    noise = np.random.default_rng(rng.randrange(2**32))
    speckle = noise.random(array.shape) < 0.004
    array[speckle] = noise.uniform(30, 90, int(speckle.sum()))
    for _ in range(rng.randint(2, 4)):
        x = rng.randrange(array.shape[1] - 6)
        array[:, x:x + rng.randint(2, 5)] *= rng.uniform(0.55, 0.8)
    out = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7))
    return out.convert("RGB")


def phone_photo(image: Image.Image, rng: random.Random) -> Image.Image:
    """The page on a dark table, photographed at an angle, with a shadow and a lamp at one side."""
    import cv2

    page = np.asarray(image.convert("RGB"))
    h, w = page.shape[:2]
    canvas_w, canvas_h = int(w * 1.25), int(h * 1.2)
    jitter = lambda s: rng.uniform(-s, s)  # noqa: E731
    dst = np.float32([[0.1 * canvas_w + jitter(60), 0.07 * canvas_h + jitter(60)],
                      [0.9 * canvas_w + jitter(60), 0.09 * canvas_h + jitter(60)],
                      [0.93 * canvas_w + jitter(60), 0.93 * canvas_h + jitter(60)],
                      [0.07 * canvas_w + jitter(60), 0.9 * canvas_h + jitter(60)]])
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), dst)
    table = np.full((canvas_h, canvas_w, 3), (70, 55, 45), np.uint8)
    warped = cv2.warpPerspective(page, matrix, (canvas_w, canvas_h), borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (canvas_w, canvas_h)) > 0
    photo = np.where(mask[..., None], warped, table).astype(np.float32)
    yy, xx = np.mgrid[0:canvas_h, 0:canvas_w].astype(np.float32)
    light = 0.75 + 0.25 * (xx / canvas_w if rng.random() < 0.5 else 1 - xx / canvas_w)
    shadow_edge = rng.uniform(0.3, 0.7) * canvas_h
    light *= np.where(yy > shadow_edge + 0.3 * (xx - canvas_w / 2), rng.uniform(0.7, 0.85), 1.0)
    photo = photo * light[..., None]
    photo += np.random.default_rng(rng.randrange(2**32)).normal(0, 4, photo.shape[:2])[..., None]
    out = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    return out


# --- colour documents, a skewed dense table, handwriting (proxy) ------------------------------

def _guilloche(size: tuple[int, int], colour: tuple[int, int, int], rng: random.Random) -> Image.Image:
    """A light security-print background: fine wavy lines in one pale colour."""
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    phase, period = rng.uniform(0, 6.28), rng.uniform(40, 70)
    for row in range(0, size[1] + 40, 14):
        points = [(x, row + 7 * np.sin(phase + x / period + row / 90)) for x in range(0, size[0] + 10, 8)]
        draw.line(points, fill=colour, width=2)
    return image


def _id_card_sides(rng: random.Random, scale: float) -> tuple[Image.Image, Image.Image, list[str], list[str]]:
    """The two sides of a resident ID card (85.6 x 54 mm) at `scale` times life size."""
    width, height = int(85.6 / 25.4 * DPI * scale), int(54 / 25.4 * DPI * scale)
    label_face, value_face = font("hei", 6.5 * scale), font("hei", 7.5 * scale)
    number = id_number(rng)
    person = name(rng)
    birth = f"{number[6:10]}年{int(number[10:12])}月{int(number[12:14])}日"
    address = f"贵州省贵阳市{rng.choice(['花溪区', '乌当区', '白云区'])}{rng.choice(PLACES[:2])}{rng.choice(['龙山村', '石板村'])}{rng.randint(1, 12)}组{rng.randint(1, 99)}号"
    front = _guilloche((width, height), (214, 232, 240), rng)
    draw = ImageDraw.Draw(front)
    rows = [("姓名", person), ("性别", rng.choice("男女") + "  民族  汉"), ("出生", birth), ("住址", address)]
    truth_front = []
    y = int(0.1 * height)
    for label, value in rows:
        draw.text((int(0.06 * width), y), label, fill=(60, 130, 190), font=label_face)
        first = True
        while value:  # the address wraps before the photo, as on the card
            cut = len(value)
            while draw.textlength(value[:cut], font=value_face) > 0.44 * width:
                cut -= 1
            draw.text((int(0.2 * width), y), value[:cut], fill=(15, 15, 15), font=value_face)
            truth_front.append((label if first else "") + value[:cut])
            value, first = value[cut:], False
            y += int(value_face.size * 1.6)
        y += int(value_face.size * 0.3)
    draw.rectangle([int(0.66 * width), int(0.12 * height), int(0.93 * width), int(0.7 * height)], fill=(200, 205, 210))
    draw.text((int(0.06 * width), int(0.8 * height)), "公民身份号码", fill=(60, 130, 190), font=label_face)
    draw.text((int(0.32 * width), int(0.79 * height)), number, fill=(15, 15, 15), font=font("hei", 8.5 * scale))
    truth_front.append("公民身份号码" + number)
    back = _guilloche((width, height), (238, 226, 206), rng)
    draw = ImageDraw.Draw(back)
    draw.ellipse([int(0.05 * width), int(0.07 * height), int(0.25 * width), int(0.38 * height)], outline=(200, 40, 40), width=3)
    draw.text((int(0.32 * width), int(0.1 * height)), "中华人民共和国", fill=(20, 20, 20), font=font("song", 11 * scale))
    draw.text((int(0.32 * width), int(0.28 * height)), "居民身份证", fill=(20, 20, 20), font=font("hei", 13 * scale))
    start = int(number[6:10]) + rng.randint(18, 40)
    office = f"贵阳市公安局{rng.choice(['花溪分局', '乌当分局', '白云分局'])}"
    span = f"{start}.{number[10:12]}.{number[12:14]}-{start + 20}.{number[10:12]}.{number[12:14]}"
    draw.text((int(0.2 * width), int(0.66 * height)), "签发机关", fill=(60, 60, 60), font=label_face)
    draw.text((int(0.4 * width), int(0.66 * height)), office, fill=(15, 15, 15), font=value_face)
    draw.text((int(0.2 * width), int(0.8 * height)), "有效期限", fill=(60, 60, 60), font=label_face)
    draw.text((int(0.4 * width), int(0.8 * height)), span, fill=(15, 15, 15), font=value_face)
    truth_back = ["中华人民共和国", "居民身份证", "签发机关" + office, "有效期限" + span]
    return front, back, truth_front, truth_back


def page_idcard(rng: random.Random) -> tuple[Image.Image, str]:
    """A colour copy of an ID card, front above back on one A4 page, the copy slightly tinted."""
    image, draw = _blank(rng)
    scale = rng.uniform(1.3, 1.6)
    front, back, truth_front, truth_back = _id_card_sides(rng, scale)
    left = (A4[0] - front.width) // 2 + rng.randint(-40, 40)
    image.paste(front, (left, int(0.1 * A4[1])))
    image.paste(back, (left, int(0.1 * A4[1]) + front.height + int(0.08 * A4[1])))
    caption = "此复印件仅供办理最低生活保障使用"
    draw.text((left, int(0.1 * A4[1]) + 2 * front.height + int(0.12 * A4[1])), caption, fill=(30, 30, 30),
              font=font("kai", 12))
    tint = np.asarray(image, dtype=np.float32) * np.array([rng.uniform(0.93, 1.0), rng.uniform(0.93, 1.0), 1.0])
    return jpeg(Image.fromarray(np.clip(tint, 0, 255).astype(np.uint8)), 80), "\n".join(truth_front + truth_back + [caption])


HUKOU_FIELDS = ["姓名", "户主或与户主关系", "曾用名", "性别", "出生地", "民族", "籍贯", "出生日期", "宗教信仰",
                "公民身份号码", "身高", "血型", "文化程度", "婚姻状况", "兵役状况", "服务处所", "职业"]


def page_hukou(rng: random.Random) -> tuple[Image.Image, str]:
    """A 户口簿 page (常住人口登记卡): pale patterned paper, title and rules in red or blue, labels in
    the print colour, entries in black, the registration seal in red at the foot."""
    image = _guilloche(A4, rng.choice([(236, 244, 236), (244, 236, 240), (234, 240, 248)]), rng)
    draw = ImageDraw.Draw(image)
    ink = rng.choice([(190, 40, 40), (40, 70, 170)])
    title = "常住人口登记卡"
    draw.text((int(0.36 * A4[0]), int(0.06 * A4[1])), title, fill=ink, font=font("song", 18))
    number = id_number(rng)
    values = {"姓名": name(rng), "户主或与户主关系": rng.choice(["户主", "妻", "长子", "长女", "母"]),
              "曾用名": "", "性别": rng.choice("男女"), "出生地": "贵州省贵阳市", "民族": "汉", "籍贯": "贵州省贵阳市",
              "出生日期": f"{number[6:10]}年{int(number[10:12])}月{int(number[12:14])}日", "宗教信仰": "",
              "公民身份号码": number, "身高": f"{rng.randint(150, 185)}厘米", "血型": rng.choice(["A", "B", "O", "AB"]) + "型",
              "文化程度": rng.choice(["初中", "高中", "小学", "大学"]), "婚姻状况": rng.choice(["已婚", "未婚", "丧偶"]),
              "兵役状况": rng.choice(["未服兵役", ""]), "服务处所": "", "职业": rng.choice(["农民", "务工", "无业"])}
    label_face, value_face = font("song", 10.5), font("song", 11.5)
    left, right = int(0.08 * A4[0]), int(0.92 * A4[0])
    split = [left, int(0.3 * A4[0]), int(0.58 * A4[0]), int(0.72 * A4[0]), right]
    row_h = int(value_face.size * 2.4)
    y = int(0.12 * A4[1])
    truth = [title]
    pairs = [(f, values[f]) for f in HUKOU_FIELDS]
    for index in range(0, len(pairs), 2):
        row = pairs[index:index + 2]
        wide = row[0][0] == "公民身份号码" or len(row) == 1
        cells = [(split[0], split[1], row[0][0], label_face, ink), (split[1], split[4] if wide else split[2], row[0][1],
                                                                     value_face, (15, 15, 15))]
        if not wide:
            cells += [(split[2], split[3], row[1][0], label_face, ink), (split[3], split[4], row[1][1], value_face, (15, 15, 15))]
        else:
            pairs.insert(index + 1, ("", ""))  # the next pair starts a row of its own
        for x0, x1, text, face, colour in cells:
            draw.rectangle([x0, y, x1, y + row_h], outline=ink, width=2)
            if text:
                draw.text((x0 + 10, y + row_h * 0.25), text, fill=colour, font=face)
                truth.append(text)
        y += row_h
    image = press_seal_at(image, (rng.uniform(0.6, 0.8) * A4[0], y + rng.uniform(0.05, 0.1) * A4[1]), rng)
    return jpeg(image, 80), "\n".join(truth)


def merged_table(rng: random.Random, image: Image.Image, top: int, face: ImageFont.FreeTypeFont) -> list[str]:
    """A dense ruled table with merged cells: a title across, a header cell over two columns, and
    a village name cell down several rows. Truth row by row, cell by cell."""
    draw = ImageDraw.Draw(image)
    widths = [0.11, 0.12, 0.09, 0.3, 0.12, 0.16]
    xs = [int(0.05 * A4[0])]
    for w in widths:
        xs.append(xs[-1] + int(w * A4[0]))
    h = int(face.size * 1.6)
    cell = lambda x0, y0, x1, y1, text: (draw.rectangle([x0, y0, x1, y1], outline="black", width=2),  # noqa: E731
                                         text and draw.text((x0 + 6, y0 + (y1 - y0 - face.size) / 2), text,
                                                            fill="black", font=face))
    title = f"{rng.choice(PLACES)}{rng.randint(2019, 2026)}年第{rng.randint(1, 4)}季度低保对象花名册"
    cell(xs[0], top, xs[-1], top + h, title)
    y = top + h
    cell(xs[0], y, xs[1], y + 2 * h, "村(社区)")
    cell(xs[1], y, xs[3], y + h, "户主")
    for i, text in enumerate(["身份证号", "保障人数", "月保障金(元)"]):
        cell(xs[3 + i], y, xs[4 + i], y + 2 * h, text)
    cell(xs[1], y + h, xs[2], y + 2 * h, "姓名")
    cell(xs[2], y + h, xs[3], y + 2 * h, "性别")
    truth = [title, "村(社区)", "户主", "身份证号", "保障人数", "月保障金(元)", "姓名", "性别"]
    y += 2 * h
    while y < A4[1] * 0.86:
        group = rng.randint(3, 6)
        village = rng.choice(["龙山村", "石板村", "新寨村", "杨眉村"])
        cell(xs[0], y, xs[1], y + group * h, village)
        truth.append(village)
        for _ in range(group):
            number = id_number(rng)
            shown = number[:6] + "********" + number[14:] if rng.random() < 0.3 else number
            row = [name(rng), "女" if int(number[16]) % 2 == 0 else "男", shown, str(rng.randint(1, 6)),
                   f"{rng.randint(3, 30) * 100}"]
            for i, text in enumerate(row):
                cell(xs[1 + i], y, xs[2 + i], y + h, text)
            truth += row
            y += h
    return truth


def page_skewtable(rng: random.Random) -> tuple[Image.Image, str]:
    """A dense table with merged cells, scanned about 2 degrees off (either way)."""
    image, _ = _blank(rng)
    truth = merged_table(rng, image, int(0.06 * A4[1]), font(rng.choice(["song", "hei"]), rng.uniform(8.5, 10)))
    angle = rng.choice((-1, 1)) * rng.uniform(1.6, 2.4)
    turned = image.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor="white")
    return photocopy(turned, rng) if rng.random() < 0.3 else turned, "\n".join(truth)


HANDWRITTEN = [
    "本人因病丧失劳动能力家庭生活困难", "申请享受最低生活保障待遇", "儿子在外务工收入不稳定", "妻子常年患病需要长期服药",
    "以上情况属实如有虚假愿承担责任", "家中有承包地两亩种植玉米", "房屋为土木结构年久失修", "同意入户调查和家庭经济状况核对",
    "女儿在镇中学读初二", "每月医药费约八百元", "无存款无车辆无商铺", "请政府给予救助",
]


def handwritten_line(text: str, rng: random.Random, size: float, weight: int = 0) -> Image.Image:
    """One line 'written by hand' (a proxy: AR PL UKai, the only script-like Chinese font
    installed): each character its own size, slant, turn and baseline, the writer's stroke
    weight, then the whole line bent by a smooth random field (wobbly strokes). A mask."""
    import cv2

    face_size = int(size / 72 * DPI)
    slant = rng.uniform(-0.3, 0.05)
    line = Image.new("L", (int(face_size * 1.2 * (len(text) + 1)), int(face_size * 2)), 0)
    x = face_size * 0.2
    for char in text:
        px = int(face_size * rng.uniform(0.85, 1.12))
        face = ImageFont.truetype(FONTS["kai"][0], px)
        glyph = Image.new("L", (px * 2, px * 2), 0)
        ImageDraw.Draw(glyph).text((px * 0.5, px * 0.4), char, fill=255, font=face, stroke_width=weight, stroke_fill=255)
        shear = slant + rng.uniform(-0.08, 0.08)
        glyph = glyph.transform(glyph.size, Image.AFFINE, (1, shear, -shear * px, 0, 1, 0), Image.BICUBIC)
        glyph = glyph.rotate(rng.uniform(-8, 8), resample=Image.BICUBIC)
        line.paste(255, (int(x - px * 0.5), int(face_size * 0.5 + rng.uniform(-0.1, 0.1) * face_size - px * 0.4)),
                   glyph)
        x += face.getlength(char) * rng.uniform(0.85, 1.05) + px * 0.04
    mask = np.asarray(line.crop((0, 0, int(x + face_size * 0.3), line.height)), dtype=np.float32)
    noise = np.random.default_rng(rng.randrange(2**32))
    dx = cv2.GaussianBlur(noise.normal(0, 1, mask.shape).astype(np.float32), (0, 0), 9) * 40
    dy = cv2.GaussianBlur(noise.normal(0, 1, mask.shape).astype(np.float32), (0, 0), 9) * 40
    yy, xx = np.mgrid[0:mask.shape[0], 0:mask.shape[1]].astype(np.float32)
    bent = cv2.remap(mask, xx + dx, yy + dy, cv2.INTER_LINEAR)
    return Image.fromarray(np.clip(bent, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))


def page_handwriting(rng: random.Random) -> tuple[Image.Image, str]:
    """A 情况说明 filled in by hand on ruled paper (proxy, see handwritten_line)."""
    image, draw = _blank(rng)
    heading = "家庭情况说明"
    draw.text((int(0.38 * A4[0]), int(0.07 * A4[1])), heading, fill="black", font=font("hei", 16))
    truth = [heading]
    y = int(0.14 * A4[1])
    ink = (rng.randint(20, 50), rng.randint(30, 60), rng.randint(110, 160))
    weight = rng.choice((0, 1))
    while y < A4[1] * 0.85:
        text = rng.choice(HANDWRITTEN)
        if rng.random() < 0.3:
            text = f"{name(rng)}，{date(rng)}"
        line = handwritten_line(text, rng, rng.uniform(13, 16), weight)
        x = int(0.1 * A4[0]) + rng.randint(-10, 30)
        if x + line.width > A4[0] * 0.95:
            continue
        image.paste(Image.new("RGB", line.size, ink), (x, y), line)
        draw.line([(int(0.08 * A4[0]), y + line.height * 0.8), (int(0.92 * A4[0]), y + line.height * 0.8)],
                  fill=(150, 170, 200), width=2)
        truth.append(text)
        y += int(line.height * 1.1)
    return jpeg(image, 85), "\n".join(truth)


BUILDERS = {
    "fonts": page_fonts, "table": page_table, "twocol": page_twocol, "blanks": page_blanks,
    "seal": page_seal, "digits": page_digits,
    "photocopy": lambda rng: (lambda page: (photocopy(page[0], rng), page[1]))(page_fonts(rng)),
    "photo": lambda rng: (lambda page: (phone_photo(page[0], rng), page[1]))(page_table(rng) if rng.random() < 0.5
                                                                             else page_fonts(rng)),
    "idcard": page_idcard, "hukou": page_hukou, "skewtable": page_skewtable, "handwriting": page_handwriting,
}


def build(cls: str, index: int, seed: int = 17) -> Page:
    rng = random.Random(f"{seed}-{cls}-{index}")
    image, truth = BUILDERS[cls](rng)
    return Page(cls, index, image, truth)


def normal(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def cer(truth: str, got: str) -> tuple[int, int]:
    from rapidfuzz.distance import Levenshtein

    truth, got = normal(truth), normal(got)
    return Levenshtein.distance(truth, got), len(truth)


def differences(truth: str, got: str, context: int = 4) -> list[tuple[str, str]]:
    """Each edit with a few characters of context either side: (as printed, as read)."""
    from rapidfuzz.distance import Levenshtein

    truth, got = normal(truth), normal(got)
    out = []
    for tag, t0, t1, g0, g1 in Levenshtein.opcodes(truth, got):
        if tag != "equal":
            out.append((truth[max(0, t0 - context):t1 + context], got[max(0, g0 - context):g1 + context]))
    return out


def order_free(truth: str, got: str) -> int:
    """Character errors with the reading order left out (characters missing or extra, as
    multisets, the larger): separates misreadings from lines read in another order."""
    from collections import Counter

    expected, found = Counter(normal(truth)), Counter(normal(got))
    return max(sum((expected - found).values()), sum((found - expected).values()))


def main() -> None:
    """The old command: bench/ocr.py --set other (the one entry point), same options."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import ocr

    argv = ["--set", "other"]
    args = sys.argv[1:]
    for index, arg in enumerate(args):
        if arg == "--seed":
            args[index] = "--eval-seed"
        if arg == "--save":
            raise SystemExit("--save：请用 python -c 'from ocr_eval import build; build(cls, i).image.save(...)'")
    ocr.main(argv + args)

if __name__ == "__main__":
    main()
