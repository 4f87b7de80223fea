"""What on a read page a person must check before it is filed (issue 17).

Every page's uncertain characters are marked as spans in the `.ocr.json` sidecar (`review.spans`:
line, start, end, the text, the lowest confidence, and the field it falls in, if any). A scan is
held in the review queue, not filed, when one of these holds (the reasons, in Chinese, go with it):

- a field that places or identifies the document is uncertain: a low-confidence character in an
  ID number (masked or not) or another long number (15 to 20 characters), a date, a document number (文号), or a labelled name;
- too much of the page is uncertain (handwriting, a poor photo): more than `PAGE_SHARE` of its
  characters below `LOW_CHAR`;
- an 18-character ID number that fails its checksum (after textfix's near-miss correction);
- a labelled name (姓名：…, 户主：…, 申请人：…) that is not a name in the roster.

`LOW_CHAR` was set on the tune half of bench/ocr.py's generated set: below 0.7 lie about one in
700 correctly read printed characters and most misread ones.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import asdict, dataclass

from archive import idcard
from archive.scans.ocr.base import OcrLine, OcrPage

LOW_CHAR = 0.7    # a character read with less confidence than this is marked
LOW_LINE = 0.8    # for engines without per-character confidences: the line's
PAGE_SHARE = 0.03  # a page with more uncertain characters than this goes to review as a whole

_HAN = "\u4e00-\u9fff"
_ID_RUN = re.compile(r"(?<![0-9Xx*])[0-9]{17}[0-9Xx](?![0-9Xx*])")
_FIELDS: list[tuple[str, re.Pattern]] = [
    # an ID number, masked or not, or another long number (a bank card); not a document ID
    # such as the QR caption's Z109-0000144
    ("号码", re.compile(r"(?<![0-9A-Za-z\-])[0-9Xx*＊]{15,20}(?![0-9A-Za-z])")),
    ("日期", re.compile(r"\d{2,4}\s*年\s*\d{1,2}\s*月(\s*\d{1,2}\s*日)?|\d{4}[-./]\d{1,2}[-./]\d{1,2}")),
    ("文号", re.compile(rf"[{_HAN}]{{2,10}}\s*[〔\[［(（]\s*\d{{4}}\s*[〕\]］)）]\s*第?\s*\d+\s*号")),
    ("姓名", re.compile(rf"(?:姓\s*名|户\s*主|申请人|监护人)\s*[:：]?\s*([{_HAN}]{{2,4}})")),
]
# labels that may follow a name in a table read cell by cell: 姓名张三性别男
# and the column headers of the documents' own tables (户主姓名 家庭人口 保障人数 …: a header row read
# as one line is no name); a run that begins with one of them names nobody
_NEXT_LABEL = re.compile("(性别|民族|出生|身份|公民|与户主|关系|住址|电话|年龄|村|组|签字|签名|姓名"
                         "|家庭人口|人口|人数|保障|金额|类别|序号|备注|日期|事项|依据|领取|评估|能否|就业及|健康及"
                         "|原月|月保|地址|联系|户籍|救助|收入|成员)")
_NAME = re.compile(rf"(?:(?:姓\s*名|户主姓名)\s*(?:[:：]\s*)?|(?:申请人|户\s*主)\s*[:：]\s*)([{_HAN}]{{2,6}})")


@dataclass
class Span:
    line: int          # index of the line on its page
    start: int         # characters [start, end) of the line's text
    end: int
    text: str
    confidence: float  # the lowest in the span
    field: str | None  # 号码 / 日期 / 文号 / 姓名, when the span falls in one

    def to_json(self) -> dict:
        return asdict(self)


def _line_spans(index: int, line: OcrLine) -> list[Span]:
    text = line.text
    confs = line.char_confidence
    if not confs or len(confs) != len(text):
        if line.confidence < LOW_LINE and text.strip():
            return [Span(index, 0, len(text), text, round(line.confidence, 3), None)]
        return []
    spans: list[Span] = []
    start = None
    for position, conf in enumerate([*confs, 1.0]):
        low = position < len(text) and conf < LOW_CHAR and not text[position].isspace()
        if low and start is None:
            start = position
        elif not low and start is not None:
            spans.append(Span(index, start, position, text[start:position], round(min(confs[start:position]), 3), None))
            start = None
    for span in spans:
        for field, pattern in _FIELDS:
            for match in pattern.finditer(text):
                lo, hi = match.span(1) if match.re.groups else match.span()
                if lo < span.end and span.start < hi:
                    span.field = field
                    break
            if span.field:
                break
    return spans


def uncertain_count(line: OcrLine) -> tuple[int, int]:
    """(characters below LOW_CHAR, characters) of a line, spaces left out."""
    text = line.text
    confs = line.char_confidence if line.char_confidence and len(line.char_confidence) == len(text) else None
    chars = [i for i, ch in enumerate(text) if not ch.isspace()]
    if confs is None:
        return (len(chars) if line.confidence < LOW_LINE else 0), len(chars)
    return sum(1 for i in chars if confs[i] < LOW_CHAR), len(chars)


def labelled_names(text: str) -> list[str]:
    """Names after a label (姓名 张三, 户主：李四, 申请人：王五), cut before a following label."""
    names = []
    for match in _NAME.finditer(text):
        run = match.group(1)
        cut = _NEXT_LABEL.search(run)
        name = run[:cut.start()] if cut else run[:4]
        if len(name) >= 2 and name not in names:
            names.append(name)
    return names


def check_page(page: OcrPage, roster_names: Collection[str] | None = None) -> dict | None:
    """The page's marked spans and the reasons (Chinese) it needs a person, or None when neither.
    Pages from a text layer are not uncertain, but their ID numbers and names are checked too."""
    spans: list[Span] = []
    low = total = 0
    reasons: list[str] = []
    for index, line in enumerate(page.lines):
        if page.source == "ocr":
            spans += _line_spans(index, line)
            lo, n = uncertain_count(line)
            low, total = low + lo, total + n
        for match in _ID_RUN.finditer(line.text):
            number = match.group().upper()
            if not idcard.is_valid(number):
                reason = idcard.problem(number) or f"身份证号「{match.group()}」校验不通过"
                if reason not in reasons:
                    reasons.append(reason)
    fields = [span for span in spans if span.field]
    for span in fields:
        reason = f"{span.field}「{page.lines[span.line].text.strip()}」中的「{span.text}」识别置信度低（{span.confidence:.2f}）"
        if reason not in reasons:
            reasons.append(reason)
    if total and low / total > PAGE_SHARE:
        reasons.append(f"{low} 个字（{100 * low / total:.0f}%）识别置信度低，可能是手写或图像质量差")
    if roster_names:
        for name in labelled_names(page.text):
            # the run may carry the next cell's text (张三男): a roster name must begin it
            if not any(name.startswith(known) for known in roster_names if len(known) >= 2):
                reasons.append(f"姓名「{name}」不在花名册中")
    if not spans and not reasons:
        return None
    return {"spans": [span.to_json() for span in spans], "reasons": reasons}


def scan_reasons(pages: list[OcrPage]) -> list[str]:
    """The reasons over all pages, each with its page number when there are several."""
    out = []
    for number, page in enumerate(pages, start=1):
        for reason in (page.review or {}).get("reasons", []):
            out.append(f"第{number}页：{reason}" if len(pages) > 1 else reason)
    return out


def marked(text: str, spans: list[dict]) -> str:
    """The line with its uncertain spans in 【】, for a person to see at a glance."""
    out, last = [], 0
    for span in sorted(spans, key=lambda s: s["start"]):
        out += [text[last:span["start"]], "【", text[span["start"]:span["end"]], "】"]
        last = span["end"]
    out.append(text[last:])
    return "".join(out)
