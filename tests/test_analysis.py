"""The analyser's regular-expression implementation gives exactly the terms, offsets and order of
the character-by-character one it replaced (kept here as the reference), on hostile text."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from archive.index import analysis


def _reference_is_han(char: str) -> bool:
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
            or 0x20000 <= code <= 0x2FA1F or code == 0x3007)


def _reference_runs(text: str) -> Iterator[list[tuple[str, int]]]:
    run: list[tuple[str, int]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if _reference_is_han(char):
            run.append((char, index))
        elif char.isspace() and run:
            look = index
            while look < len(text) and text[look].isspace():
                look += 1
            if look < len(text) and _reference_is_han(text[look]):
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


def reference_terms(value: str, unigrams: bool = False) -> list[tuple[str, int, int]]:
    text = analysis.normalize(value)
    events: list[tuple[int, str, int]] = []
    for run in _reference_runs(text):
        if len(run) == 1:
            events.append((run[0][1], run[0][0], run[0][1] + 1))
            continue
        for (a, start), (b, end) in zip(run, run[1:], strict=False):
            events.append((start, a + b, end + 1))
        if unigrams:
            for char, offset in run:
                events.append((offset, char, offset + 1))
    index = 0
    while index < len(text):
        if text[index].isascii() and text[index].isalnum():
            start = index
            while index < len(text) and text[index].isascii() and text[index].isalnum():
                index += 1
            events.append((start, text[start:index].lower(), index))
        else:
            index += 1
    events.sort(key=lambda e: e[0])
    return [(term, start, end) for start, term, end in events]


# Han (BMP, extension A, compatibility, extension B, 〇), white space of several kinds, ASCII,
# full-width letters and digits, punctuation, a combining mark, Hangul, an emoji
ALPHABET = list("张三丰最低生活保障家庭〇㐀豈") + ["\U00020001", "\U0002a6d6"] + list(" \t\n\u3000\u00a0\x1f") \
    + list("aZ09_-.,") + list("ＡＢ１２，。、；（）【】") + ["e\u0301", "한", "🙂", "·"]

SAMPLES = ["张 三 丰", "青岩民不批〔2025〕7号", "最低生活保障ABC123金", "张\u3000三", "一", "一 ", " 二",
           "Ｚ１０９－０００１２", "ab 张 cd 三", "家庭  \n 成员", ""]


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("unigrams", [False, True])
def test_terms_as_the_reference_on_known_text(text, unigrams):
    assert list(analysis.terms(text, unigrams)) == reference_terms(text, unigrams)
    assert analysis.tokens(text) == [term for term, _s, _e in reference_terms(text)]


def test_terms_as_the_reference_on_random_text():
    rng = random.Random(16)
    for _ in range(3000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30)))
        for unigrams in (False, True):
            assert list(analysis.terms(text, unigrams)) == reference_terms(text, unigrams), text
        assert analysis.tokens(text) == [term for term, _s, _e in reference_terms(text)], text


def test_spaced_han_is_one_run_and_ascii_words_whole():
    assert analysis.tokens("张 三 丰 ABC12 丰") == ["张三", "三丰", "abc12", "丰"]
    assert analysis.bigrams("最低生活") == ["最低", "低生", "生活"]
