"""Text of a roster file: which encoding a CSV is in, traditional characters in headers and
village names, and whether a name is a plausible Chinese name (not mojibake)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from archive.errors import ArchiveError

# what a user calls each encoding
ENCODING_LABELS = {
    "utf_8": "UTF-8", "gb18030": "GBK/GB18030", "big5": "Big5（繁体）", "big5hkscs": "Big5-HKSCS（繁体）",
    "cp950": "Big5（繁体）", "shift_jis": "Shift-JIS（日文）", "cp932": "Shift-JIS（日文）",
    "euc_jp": "EUC-JP（日文）", "euc_kr": "EUC-KR（韩文）", "cp949": "EUC-KR（韩文）",
    "latin_1": "Latin-1（西文）", "cp1252": "Windows-1252（西文）",
}
# Chinese encodings tried in this order when detection gives something that does not decode
_CHINESE = ("gb18030", "big5")


def label(encoding: str) -> str:
    return ENCODING_LABELS.get(encoding, encoding)


def decode_csv(raw: bytes, name: str) -> list[tuple[str, str]]:
    """Readings of a CSV as (text, encoding), most likely first. UTF-8 (with or without BOM)
    when it decodes strictly; otherwise the encoding charset-normalizer finds most coherent (so
    a Big5 or Shift-JIS file is not read as GBK garbage), then GB18030 and Big5 as fallbacks
    for the caller to try when the first reading has no recognisable header."""
    try:
        return [(raw.decode("utf-8-sig"), "utf_8")]
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    readings: list[tuple[str, str]] = []
    for encoding in ([best.encoding] if best is not None else []) + list(_CHINESE):
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if all(text != seen for seen, _ in readings):
            readings.append((text, encoding))
    if not readings:
        raise ArchiveError(f"无法识别 CSV 文件 {name} 的编码",
                           hint="请在 Excel 或 WPS 中另存为「CSV UTF-8」或 .xlsx 后再导入")
    return readings


@lru_cache(maxsize=1)
def _t2s():  # noqa: ANN202 - opencc has no type hints
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def simplified(text: str) -> str:
    """`text` with traditional characters converted to simplified (OpenCC t2s): for matching
    headers, villages, categories and relations of a Big5 roster. Names are never converted."""
    if text.isascii():
        return text
    return _t2s().convert(text)


# characters a Chinese name may contain besides ideographs: the separator in minority names
_NAME_MARKS = {"·", "•", "・", "．", "-"}


def _is_ideograph(char: str) -> bool:
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x323AF
            or char == "〇")


def _shown(char: str) -> str:
    return char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"


def name_problem(name: str) -> str | None:
    """Why `name` is not a plausible Chinese name (mojibake, kana, Latin letters, private-use
    characters), in Chinese; None when it is."""
    odd = [c for c in name if not _is_ideograph(c) and c not in _NAME_MARKS]
    if not odd:
        return None if any(_is_ideograph(c) for c in name) else f"姓名「{name}」中没有汉字，不是有效的中文姓名"
    kinds = []
    for char in odd:
        category = unicodedata.category(char)
        if category == "Co":
            kinds.append("私用区字符")
        elif 0x3040 <= ord(char) <= 0x30FF or 0xFF61 <= ord(char) <= 0xFF9F:
            kinds.append("日文假名")
        elif 0x80 <= ord(char) <= 0x24F:
            kinds.append("西文字母，常见于编码错误的乱码")
        elif char.isascii() and char.isalnum():
            kinds.append("英文字母或数字")
        else:
            kinds.append("非汉字字符")
    shown = "".join(_shown(c) for c in dict.fromkeys(odd))
    return (f"姓名「{''.join(_shown(c) for c in name)}」含有非汉字字符「{shown}」"
            f"（{'、'.join(dict.fromkeys(kinds))}），不是有效的中文姓名")
