"""Chinese line breaking (避头尾) for the PDF writer.

GB/T 15834 and the W3C 中文排版需求 (clreq): a line never starts with a closing mark or a pause
(，。、：；！？）」》』】…) and never ends with an opening mark (（「《『【…). reportlab's CJK wrap
only hangs one of a shorter list of marks in the margin and has no rule for opening marks, so
paragraphs here break with `break_lines` instead: fill a line greedily, then move the break back
(推出, push out) until neither rule is broken. Runs of Latin letters and digits (an ID number, an
amount such as 600.00) are kept whole when they fit on a line.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.platypus.paragraph import Paragraph, ParaLines, cjkU, makeCJKParaLine

CANNOT_START = frozenset(
    "，。、：；！？）」》』】〉〕］｝〗〙”’・·～%％‰℃"  # full-width closing marks and pauses
    ",.:;!?)]}"  # and their half-width twins
    "々ー"
)
CANNOT_END = frozenset("（「《『【〈〔［｛〖〘“‘([{￥$#")
# two-em marks: ——, …… are never split
_PAIRED = frozenset("—…")
_BLANKS = " \u3000\xa0_"

_FUZZ = 1e-6


def _word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in ".-/%_")


def _may_break(text: Sequence[str], at: int) -> bool:
    """May a line end before text[at]?"""
    before, after = text[at - 1], text[at]
    if after in CANNOT_START or before in CANNOT_END:
        return False
    if before == after and after in _PAIRED:
        return False
    if after in "年月日" and (before.isdigit() or before in _BLANKS):
        return False  # 2025年7月8日, or a date left blank to fill in: 　　年　　月　　日
    if before in "年月" and (after.isdigit() or after in _BLANKS):
        return False
    if before in _BLANKS and after in _BLANKS:
        return False  # room left to write in stays whole
    return not (_word_char(before) and _word_char(after))


def _may_break_kinsoku(text: Sequence[str], at: int) -> bool:
    """The hard rules only (避头尾), for when a Latin run is longer than a line."""
    return text[at] not in CANNOT_START and text[at - 1] not in CANNOT_END


def break_lines(text: Sequence[str], widths: Sequence[float], hard: Sequence[bool],
                max_widths: Sequence[float]) -> list[tuple[int, int, bool]]:
    """Break units (one character each, with its width) into lines no wider than max_widths
    (first line, then the rest). hard[i] marks a forced line break after unit i (a <br/>).
    Returns (start, stop, ends_with_hard_break) per line."""
    lines: list[tuple[int, int, bool]] = []
    start, count = 0, len(text)
    while start < count:
        limit = max_widths[min(len(lines), len(max_widths) - 1)]
        used, stop = 0.0, start
        while stop < count:
            if stop > start and used + widths[stop] > limit + _FUZZ:
                break
            used += widths[stop]
            stop += 1
            if hard[stop - 1]:
                break
        if stop >= count or hard[stop - 1]:
            lines.append((start, stop, bool(hard[stop - 1])))
            start = stop
            continue
        cut = _move_back(text, start, stop, _may_break) or _move_back(text, start, stop, _may_break_kinsoku) or stop
        lines.append((start, cut, False))
        start = cut
    return lines


def _move_back(text: Sequence[str], start: int, stop: int, allowed) -> int:
    """The latest break at or before stop that the rules allow, leaving at least one unit on the
    line; 0 if there is none."""
    for at in range(stop, start, -1):
        if allowed(text, at):
            return at
    return 0


class CJKParagraph(Paragraph):
    """A reportlab Paragraph (wordWrap="CJK") whose lines follow break_lines."""

    def breakLinesCJK(self, maxWidths):  # noqa: N802, N803 - reportlab's names
        if not isinstance(maxWidths, list | tuple):
            maxWidths = [maxWidths]  # noqa: N806
        if hasattr(self, "blPara") and getattr(self, "_splitpara", 0):
            return self.blPara  # the part of a paragraph split across pages keeps its lines
        style = self.style
        self.height = 0
        units = []
        for frag in self.frags:
            text = frag.text if isinstance(frag.text, str) else frag.text.decode("utf8")
            if text:
                units.extend(cjkU(ch, frag, "utf8") for ch in text)
            else:  # an empty fragment: a <br/>, or an empty paragraph
                units.append(cjkU("", frag, "utf8"))
        if not units:
            return ParaLines(kind=0, fontSize=style.fontSize, fontName=style.fontName, textColor=style.textColor,
                             lines=[], ascent=style.fontSize, descent=-0.2 * style.fontSize)
        auto = getattr(self, "autoLeading", getattr(style, "autoLeading", ""))
        calc_bounds = auto not in ("", "off")
        hard = [hasattr(u.frag, "lineBreak") for u in units]
        lines = []
        for start, stop, forced in break_lines(units, [u.width for u in units], hard, maxWidths):
            limit = maxWidths[min(len(lines), len(maxWidths) - 1)]
            used = sum(u.width for u in units[start:stop])
            lines.append(makeCJKParaLine(units[start:stop], limit, used, limit - used, forced, calc_bounds))
        return ParaLines(kind=1, lines=lines)
