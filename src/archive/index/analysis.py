"""Chinese text analysis for whoosh.

whoosh's default analyser keeps a whole run of Han characters as one token, so nothing inside
it can be found (Paperless-ngx's first Chinese search failure). Here a run of Han characters
becomes overlapping character bigrams (最低生活 -> 最低 低生 生活), which finds any phrase, any name
and any part of a 文号 without a dictionary, and degrades gracefully when OCR got one character
wrong. Latin letters and digits stay whole words.

White space between two Han characters is ignored: OCR text layers (OCRmyPDF's among them) put a
space between every Han character, and "张 三 丰" must still be found as 张三丰.

The choice of bigrams over word segmentation (jieba) was measured: see bench/analyzer.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from whoosh.analysis import Analyzer, LowercaseFilter, Token, Tokenizer

# full-width digits and letters to ASCII, one character for one, so offsets stay valid
_FOLD = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})


def is_han(char: str) -> bool:
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x2FA1F or code == 0x3007)


def _is_word(char: str) -> bool:
    return char.isascii() and char.isalnum()


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
    return [token.text for token in CJKBigramTokenizer()(text)]


class CJKBigramTokenizer(Tokenizer):
    """Han runs -> overlapping bigrams (a lone character stays a unigram); ASCII words whole."""

    def __init__(self, unigrams: bool = False) -> None:
        self.unigrams = unigrams

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CJKBigramTokenizer) and other.unigrams == self.unigrams

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "", **kwargs) -> Iterator[Token]:
        text = unicodedata.normalize("NFC", value).translate(_FOLD)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        position = start_pos
        for _kind, term, start, end in self._terms(text):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = term
            if positions:
                token.pos = position
                position += 1
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token

    def _terms(self, text: str) -> Iterator[tuple[str, str, int, int]]:
        """(kind, term, start, end) in text order."""
        events: list[tuple[int, str, str, int]] = []
        for run in han_runs(text):
            if len(run) == 1:
                events.append((run[0][1], "han", run[0][0], run[0][1] + 1))
                continue
            for (a, start), (b, end) in zip(run, run[1:], strict=False):
                events.append((start, "han", a + b, end + 1))
            if self.unigrams:
                for char, offset in run:
                    events.append((offset, "uni", char, offset + 1))
        index = 0
        while index < len(text):
            if _is_word(text[index]):
                start = index
                while index < len(text) and _is_word(text[index]):
                    index += 1
                events.append((start, "word", text[start:index], index))
            else:
                index += 1
        events.sort(key=lambda e: e[0])
        for start, kind, term, end in events:
            yield kind, term, start, end


def chinese_analyzer(unigrams: bool = False) -> Analyzer:
    return CJKBigramTokenizer(unigrams) | LowercaseFilter()
