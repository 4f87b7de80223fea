"""Turn what an inspector types into index queries (the backend-neutral index/queries.py).

Each word of the query is recognised for what it is, and every word must match (AND):
- a full ID number (a member's too) or its last 4 to 6 characters;
- a 文号 (青岩民不批〔2025〕7号, also written with [] or （） or 第/leading zeros, 2025年7号, or
  without the organ's abbreviation: 不批〔2025〕7号);
- a 档号 (Z109-WS·2025-D10-DB-0001);
- Chinese text, a name or a phrase: a member's name exactly (every member of the household is in
  the index, whether or not the document prints them), or the title or body containing the
  phrase's bigrams.

Search runs in up to three passes; the later ones run only when the earlier found fewer than
asked, and their hits are approximate (「近似」), ranked after the exact ones:
1. strict: every word exactly;
2. names: a name that is no one's name in the catalog is replaced by the catalog's names one
   character off (any position; see names.py), which finds their households' documents;
3. tolerant: a phrase with most of its bigrams (OCR damage), and a correct name printed
   OCR-damaged on a document not yet linked to a household (linked ones are found by pass 1);
   the bigrams found must lie close together in the text (`close_together`), as what is left of
   a damaged phrase does, not scattered over the document.

A phrase is a Phrase of its bigrams: a backend that keeps positions matches it exactly, whoosh
matches its rarest bigrams (whoosh's intersection is pure Python and common bigrams, 家庭 生活,
would dominate its cost). Filters are given to the backend with the query (intersected early),
not applied after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from archive.index import queries as q
from archive.index.analysis import bigrams, is_han, terms
from archive.index.schema import number_key

_ID_FULL = re.compile(r"^\d{17}[\dXx]$")
_ID_PART = re.compile(r"^\d{3,5}[\dXx]$")
_ARCHIVAL = re.compile(r"^[A-Za-z0-9]+-WS·\d{4}-[A-Z0-9]+-[A-Z0-9]+-\d{4}$")
TOLERANT = 6      # bigrams considered in the tolerant pass

DocFrequency = Callable[[str, str], int]


@dataclass
class Word:
    text: str
    kind: str                 # id / number / archival / name / text
    strict: q.Query
    relax: Callable[[], q.Query | None] | None = None  # builds the tolerant form

    @cached_property
    def tolerant(self) -> q.Query | None:
        """The word relaxed (most of a phrase's bigrams); None: nothing to relax."""
        return self.relax() if self.relax else None


@dataclass
class ParsedQuery:
    words: list[Word]
    filter: q.Query | None

    @property
    def literals(self) -> list[str]:
        """The words as typed, for snippets."""
        return [word.text for word in self.words]

    @property
    def strict(self) -> q.Query:
        return self.combine({})

    @property
    def tolerant(self) -> q.Query | None:
        """Each word: its strict form or, where it has one, its tolerant form."""
        relaxed = {i: w.tolerant for i, w in enumerate(self.words) if w.tolerant is not None}
        return self.combine(relaxed) if relaxed else None

    def combine(self, alternatives: dict[int, q.Query]) -> q.Query:
        """Every word must match: its strict form, or the alternative given for it (the filter is
        given to the backend beside the query)."""
        if not self.words:
            return q.Every()
        parts = [q.or_([w.strict, alternatives[i]]) if i in alternatives else w.strict
                 for i, w in enumerate(self.words)]
        return q.And(tuple(parts))


def _rarest(field: str, grams: list[str], df: DocFrequency, count: int) -> list[str]:
    unique = list(dict.fromkeys(grams))
    return sorted(unique, key=lambda g: df(field, g))[:count]


def is_name(word: str) -> bool:
    return 2 <= len(word) <= 4 and all(is_han(c) for c in word)


def text_query(word: str, df: DocFrequency | None = None) -> q.Query:
    """A name or phrase exactly: a member's name, or the phrase in the title or body."""
    grams = tuple(bigrams(word))
    if not grams:
        return q.Nothing()
    strict: list[q.Query] = []
    if is_name(word):
        strict.append(q.Term("names", word, boost=4.0))
    strict.append(q.Phrase("title", grams, boost=2.0))
    strict.append(q.Phrase("body", grams))
    return q.Or(tuple(strict))


def name_query(word: str, df: DocFrequency | None = None) -> q.Query:
    """A name the roster knows: a member's name, or printed on a document of no household."""
    return q.Or((q.Term("names", word, boost=4.0), q.And((text_query(word, df), q.Term("linked", "no")))))


def part_of_name(word: str) -> q.Query:
    """A word inside a member's name (a given name without the surname): the name bigrams."""
    return q.and_([q.Term("people", g) for g in bigrams(word)]) if bigrams(word) else q.Nothing()


def _tolerant(word: str, df: DocFrequency) -> q.Query | None:
    grams = bigrams(word)
    if len(grams) < 2:
        return None
    chosen = _rarest("body", grams, df, TOLERANT)
    need = _most(len(chosen))
    most = q.Or(tuple(q.Term("body", g) for g in chosen), minmatch=need)
    if is_name(word):
        # a household's own documents are found by its names; OCR damage matters where no
        # household is linked yet
        return q.And((most, q.Term("linked", "no")))
    return most


def _most(count: int) -> int:
    """How many of a phrase's bigrams are "most" of it (all but about a third, at least one)."""
    return max(1, count - max(1, count // 3))


def close_together(word: str, text: str) -> bool:
    """Most of the phrase's bigrams within a stretch of the text twice the phrase's length: what is
    left of a phrase some of whose characters OCR damaged. The index matches bigrams anywhere in a
    document, so 不存在的人 would otherwise be "most of" any text with 不存在 in one sentence and 的人
    in another."""
    grams = list(dict.fromkeys(bigrams(word)))
    if len(grams) < 2:
        return True
    need = _most(len(grams))
    span = 2 * len(grams)
    wanted = set(grams)
    seen = [(pos, term) for pos, (term, _start, _end) in enumerate(terms(text or "")) if term in wanted]
    start = 0
    for end in range(len(seen)):
        while seen[end][0] - seen[start][0] >= span:
            start += 1
        if len({gram for _, gram in seen[start:end + 1]}) >= need:
            return True
    return False


def word_query(word: str, df: DocFrequency) -> Word:
    if _ID_FULL.match(word) or _ID_PART.match(word):
        return Word(word, "id", q.Term("ids", word.upper()))
    key = number_key(word)
    if key:
        return Word(word, "number", q.Term("number", key))
    if _ARCHIVAL.match(word):
        return Word(word, "archival", q.Term("archival_code", word))
    return Word(word, "name" if is_name(word) else "text", text_query(word, df), lambda: _tolerant(word, df))


def split_words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,，、;；]+", text.strip()) if w]


def parse(text: str, df: DocFrequency, filter_query: q.Query | None = None) -> ParsedQuery:
    return ParsedQuery([word_query(word, df) for word in split_words(text)], filter_query)


def filters(*, village: str | None = None, doc_type: str | None = None, category: str | None = None,
            year: int | None = None, month: str | None = None, household: str | None = None) -> q.Query | None:
    parts: list[q.Query] = []
    if village:
        parts.append(q.Term("village", village))
    if doc_type:
        parts.append(q.Term("type", doc_type))
    if category:
        parts.append(q.Term("category", category))
    if year:
        parts.append(q.Term("year", str(year)))
    if month:
        parts.append(q.Term("month", month))
    if household:
        parts.append(q.Term("household", household.upper()))
    if not parts:
        return None
    return q.and_(parts)
