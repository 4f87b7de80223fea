"""Chinese text analysis, the same for every index backend.

whoosh's default analyser keeps a whole run of Han characters as one token, so nothing inside
it can be found (Paperless-ngx's first Chinese search failure). Here a run of Han characters
becomes overlapping character bigrams (最低生活 -> 最低 低生 生活), which finds any phrase, any name
and any part of a 文号 without a dictionary, and degrades gracefully when OCR got one character
wrong. Latin letters and digits stay whole words.

White space between two Han characters is ignored: OCR text layers (OCRmyPDF's among them) put a
space between every Han character, and "张 三 丰" must still be found as 张三丰.

The choice of bigrams over word segmentation (jieba) was measured: see bench/analyzer.py.

This module is pure Python: each backend adapts `terms` to its own tokenizer API (whoosh's in
whoosh_backend.py; the SQLite FTS5 backend writes the terms as space-separated tokens).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# full-width digits and letters to ASCII, one character for one, so offsets stay valid
_FOLD = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})
_FULL_WIDTH = re.compile("[\uff01-\uff5e]")


def is_han(char: str) -> bool:
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x2FA1F or code == 0x3007)


_HAN = "\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\U00020000-\U0002fa1f\u3007"
# a run of Han characters (white space between two of them belongs to the run), or an ASCII word
_RUN = re.compile(f"[{_HAN}](?:\\s*[{_HAN}])*|[A-Za-z0-9]+")
_SPACE_IN_RUN = re.compile(f"(?<=[{_HAN}])\\s+(?=[{_HAN}])")


def han_runs(text: str) -> Iterator[list[tuple[str, int]]]:
    """Runs of Han characters as (char, offset) lists, joined across white space."""
    run: list[tuple[str, int]] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if is_han(char):
            run.append((char, index))
        elif char.isspace() and run:
            # skip white space only if a Han character follows it
            look = index
            while look < length and text[look].isspace():
                look += 1
            if look < length and is_han(text[look]):
                index = look
                continue
            yield run
            run = []
        elif run:
            yield run
            run = []
        index += 1
    if run:
        yield run


def bigrams(text: str) -> list[str]:
    """The bigram terms of a text (what a query for it must match)."""
    return [term for term, _start, _end in terms(text)]


def normalize(value: str) -> str:
    """NFC, full-width digits and letters folded to ASCII (one character for one)."""
    text = unicodedata.normalize("NFC", value)
    return text.translate(_FOLD) if _FULL_WIDTH.search(text) else text


def terms(value: str, unigrams: bool = False) -> Iterator[tuple[str, int, int]]:
    """(term, start, end) in text order: Han runs as overlapping bigrams (a lone character stays
    a unigram, and with `unigrams` every character is a term too, after its bigram), ASCII words
    whole and lower case. A term's position is its index in this sequence."""
    text = normalize(value)
    for match in _RUN.finditer(text):
        run = match.group()
        start = match.start()
        if run[0].isascii():
            yield run.lower(), start, match.end()
            continue
        if len(run) == 1:
            yield run, start, start + 1
            continue
        # the offsets of the run's characters (white space between them is skipped)
        chars = [(char, start + i) for i, char in enumerate(run) if not char.isspace()]
        last = len(chars) - 1
        for k, (char, offset) in enumerate(chars):
            if k < last:
                yield char + chars[k + 1][0], offset, chars[k + 1][1] + 1
            if unigrams and last:
                yield char, offset, offset + 1


def tokens(value: str) -> list[str]:
    """The terms of `terms(value)` without their offsets, as fast as Python allows (what an index
    writes for every document of a rebuild)."""
    out: list[str] = []
    for run in _RUN.findall(_SPACE_IN_RUN.sub("", normalize(value))):
        if run[0].isascii():
            out.append(run.lower())
        elif len(run) == 1:
            out.append(run)
        else:
            out.extend(map(str.__add__, run, run[1:]))
    return out
