"""OCR text put back the way the page prints it: Chinese punctuation, and 18-digit ID numbers.

- Punctuation: the recogniser returns half-width `( ) : ,` for part of the full-width marks a
  Chinese page prints. Where a mark's neighbours are Chinese it becomes full-width again
  (`（ ） ： ，`); inside digit runs (a time 10:30, an amount 1,000) it stays as it is.
- ID numbers: an 18-character run of digits (last one digit or X) that is not a valid number
  (GB 11643: check character, birth date, GB/T 2260 region via idcard.problem) is corrected only
  when exactly one valid number lies one character away (one substitution); when several do,
  `known` numbers (the roster) may settle it: exactly one of them among the candidates. Each correction is reported, so that the sidecar
  flags it; an ambiguous or hopeless run is left exactly as read.
- Blood type O read as the digit 0 (`血型0型`, a 户口簿 field) is written O (`fix_blood_type`).
- The Chinese zero `〇` read as `○`, `O` or `0` between Chinese numerals (`二○二五年`) is written
  `〇` (`fix_chinese_zero`).
- Masked ID numbers (`520111********1234`): the recogniser loses or adds asterisks in a row of
  them (small print in a dense table). A mask is always 18 characters: digits, asterisks, digits
  (the last may be X); a run of that shape with 10 digits around 2 to 14 asterisks is given back
  its 18 characters (`fix_masked_ids`), and reported. The digits are never changed.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import asdict, dataclass

from archive import idcard

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = _HAN + "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20"  # Han and full-width punctuation
_IS_CJK = re.compile(f"[{_CJK}]")
_HALF_TO_FULL = {"(": "（", ")": "）", ":": "：", ",": "，"}


def _cjk(char: str) -> bool:
    return bool(char) and _IS_CJK.match(char) is not None


def _neighbour(text: str | list[str], index: int, step: int) -> str:
    """The nearest character that is not a space, left (step -1) or right (+1) of index."""
    index += step
    while 0 <= index < len(text) and text[index] in " \t":
        index += step
    return text[index] if 0 <= index < len(text) else ""


def fix_punctuation(text: str) -> str:
    """Half-width `( ) : ,` beside Chinese characters made full-width, as printed."""
    if not any(mark in text for mark in _HALF_TO_FULL):
        return text
    chars = list(text)
    opened: list[int] = []  # positions of '(' not closed yet, and whether each became full-width
    converted_open: dict[int, bool] = {}
    for index, char in enumerate(text):
        if char not in _HALF_TO_FULL:
            continue
        # the left neighbour as converted so far: `（签字）:` sees a full-width bracket
        left, right = _neighbour(chars, index, -1), _neighbour(text, index, 1)
        if char in ":,":
            if left.isdigit() and right.isdigit():
                continue  # 10:30, 1,000
            if _cjk(left) or _cjk(right):
                chars[index] = _HALF_TO_FULL[char]
        elif char == "(":
            opened.append(index)
            converted_open[index] = _cjk(left) or _cjk(right)
            if converted_open[index]:
                chars[index] = "（"
        else:  # ')'
            partner = opened.pop() if opened else None
            if (partner is not None and converted_open[partner]) or _cjk(left) or _cjk(right):
                chars[index] = "）"
                if partner is not None:
                    chars[partner] = "（"
    return "".join(chars)


@dataclass
class IdCorrection:
    read: str        # as the recogniser read it
    corrected: str   # the one valid number one character away
    position: int    # index (0-17) of the character changed

    def to_json(self) -> dict:
        return asdict(self)


# an 18-character run of digits (the last may be X), not part of a longer run
_ID_RUN = re.compile(r"(?<![0-9Xx*])[0-9]{17}[0-9Xx](?![0-9Xx*])")


def near_misses(number: str) -> list[tuple[str, int]]:
    """Valid numbers that differ from `number` in one character, with the position changed."""
    found = []
    for position in range(18):
        alphabet = "0123456789X" if position == 17 else "0123456789"
        for char in alphabet:
            if char == number[position]:
                continue
            candidate = number[:position] + char + number[position + 1:]
            if idcard.is_valid(candidate):
                found.append((candidate, position))
    return found


def correct_id_numbers(text: str, known: Collection[str] | None = None) -> tuple[str, list[IdCorrection]]:
    """Invalid 18-digit runs corrected where exactly one valid number is one character away."""
    corrections: list[IdCorrection] = []

    def replace(match: re.Match) -> str:
        read = match.group().upper()
        if idcard.is_valid(read):
            return match.group()  # a valid number is what the page says, in the roster or not
        candidates = near_misses(read)
        if len(candidates) > 1 and known is not None:
            candidates = [item for item in candidates if item[0] in known]
        if len(candidates) != 1:
            return match.group()
        corrected, position = candidates[0]
        corrections.append(IdCorrection(match.group(), corrected, position))
        return corrected

    return _ID_RUN.sub(replace, text), corrections



# head digits, the asterisks (spaces between them are OCR's), tail digits (last may be X); one
# stray asterisk after the tail is the mask's own
_MASKED = re.compile(r"(?<![0-9*＊])([0-9]{3,8})\s?([*＊](?:\s?[*＊]){1,13})\s?([0-9]{2,7}[0-9Xx])(\*?)(?![0-9*＊])")


def fix_masked_ids(text: str) -> tuple[str, list[dict]]:
    """Masked ID numbers with the wrong count of asterisks given back their 18 characters."""
    fixes: list[dict] = []

    def replace(match: re.Match) -> str:
        head, stars, tail, stray = match.groups()
        if len(head) + len(tail) != 10:
            return match.group()
        fixed = head + "*" * (18 - len(head) - len(tail)) + tail
        if fixed == match.group():
            return match.group()
        fixes.append({"read": match.group(), "corrected": fixed, "kind": "masked-id"})
        return fixed

    return _MASKED.sub(replace, text), fixes


def number_quality(text: str) -> int:
    """How many numbers of the line hold their shape: valid 18-character ID numbers and masked
    IDs of 18 characters (6 digits, 8 asterisks, 4). A second reading of a line (rapid.py) is
    taken when it holds more of them than the first."""
    valid = sum(1 for match in _ID_RUN.finditer(text) if idcard.is_valid(match.group().upper()))
    return valid + len(_WHOLE_MASK.findall(text))


def doubtful_numbers(text: str) -> bool:
    """A line with a number that lost its shape: a masked ID whose asterisks or digits are not
    6 + 8 + 4, or a run of 16 to 20 digits that is not a valid ID number. In small print the
    recogniser drops one of a row of like characters (`111`, `********`)."""
    compact = "".join(text.split())
    for match in _ANY_MASK.finditer(compact):
        if not _WHOLE_MASK.fullmatch(match.group()):
            return True
    for match in _DIGIT_RUN.finditer(compact):
        if not idcard.is_valid(match.group().upper()):
            return True
    return False


_WHOLE_MASK = re.compile(r"(?<![0-9*＊])[0-9]{6}\*{8}[0-9]{3}[0-9Xx](?![0-9*＊])")
_ANY_MASK = re.compile(r"[0-9]{2,}[*＊]+[0-9]*[0-9Xx]?\*?")
_DIGIT_RUN = re.compile(r"(?<![0-9Xx])[0-9]{15,19}[0-9Xx]?(?![0-9Xx])")
_BLOOD_ZERO = re.compile(r"(血\s*型\s*[:：]?\s*)0(\s*型)")
_BLOOD_LABEL = re.compile(r"血\s*型\s*[:：]?\s*$")
_ZERO_TYPE = re.compile(r"^(\s*)0(\s*型)")


def fix_blood_type(text: str, before: str = "") -> str:
    """Blood type O read as the digit 0 (`血型0型`): there is no blood type zero. `before` is
    the line read before this one: a form read cell by cell gives the label `血型` a line of its
    own, and the value `0型` the next."""
    text = _BLOOD_ZERO.sub(r"\1O\2", text)
    if _BLOOD_LABEL.search(before):
        text = _ZERO_TYPE.sub(r"\1O\2", text)
    return text



_HAN_DIGITS = "〇零一二三四五六七八九十"
_ROUND = "○◯OoΟ0０"  # what the recogniser returns for the Chinese zero 〇 (U+3007)


def fix_chinese_zero(text: str) -> str:
    """The Chinese zero `〇` read as a circle sign, a letter O or a digit 0 (`二○二五年`): a
    round mark between Chinese numerals (or after one, before 年) is the numeral, as printed."""
    if not any(mark in text for mark in _ROUND):
        return text
    chars = list(text)
    for index, char in enumerate(chars):
        if char not in _ROUND or index == 0 or chars[index - 1] not in _HAN_DIGITS:
            continue
        # the next character, looking past further round marks (二○○八)
        after = index + 1
        while after < len(chars) and chars[after] in _ROUND:
            after += 1
        if after < len(chars) and (chars[after] in _HAN_DIGITS or chars[after] == "年"):
            chars[index] = "〇"
    return "".join(chars)
