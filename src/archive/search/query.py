"""Turn what an inspector types into whoosh queries.

Each word of the query is recognised for what it is, and every word must match (AND):
- a full ID number (a member's too) or its last 4 to 6 characters;
- a 文号 (青岩民不批〔2025〕7号, also written with [] or （） or 第/leading zeros);
- a 档号 (Z109-WS·2025-D10-DB-0001);
- Chinese text, a name or a phrase: a member's name exactly, or the title or body containing the
  phrase's bigrams.

Search runs in two passes. The strict pass wants every word exactly. Only when it finds fewer
than asked does the tolerant pass run, which accepts a name one character off (an OCR slip) or
a phrase with most of its bigrams; its hits are ranked after the strict ones.

Speed: a phrase's bigrams are mostly common (家庭, 生活) and whoosh's intersection is pure Python,
so only the rarest bigrams of a phrase are used to select documents; they alone are selective.
Filters are part of the query (intersected early), not a post-filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from whoosh import query as q

from archive.index.analysis import bigrams, is_han
from archive.index.schema import number_key

_ID_FULL = re.compile(r"^\d{17}[\dXx]$")
_ID_PART = re.compile(r"^\d{3,5}[\dXx]$")
_ARCHIVAL = re.compile(r"^[A-Za-z0-9]+-WS·\d{4}-[A-Z0-9]+-[A-Z0-9]+-\d{4}$")
RAREST = 3        # bigrams that select documents in the strict pass
TOLERANT = 6      # bigrams considered in the tolerant pass

DocFrequency = Callable[[str, str], int]


@dataclass
class ParsedQuery:
    strict: q.Query
    tolerant: q.Query | None  # None: nothing to relax (IDs, numbers)
    literals: list[str]       # the words as typed, for snippets


def _rarest(field: str, grams: list[str], df: DocFrequency, count: int) -> list[str]:
    unique = list(dict.fromkeys(grams))
    return sorted(unique, key=lambda g: df(field, g))[:count]


def _is_name(word: str) -> bool:
    return 2 <= len(word) <= 4 and all(is_han(c) for c in word)


def _text_queries(word: str, df: DocFrequency) -> tuple[q.Query, q.Query | None]:
    grams = bigrams(word)
    if not grams:
        return q.NullQuery, None
    strict: list[q.Query] = []
    tolerant: list[q.Query] = []
    if _is_name(word):
        strict.append(q.Term("names", word, boost=4.0))
        # one wrong character: edit distance 1, first character kept
        tolerant.append(q.FuzzyTerm("names", word, maxdist=1, prefixlength=1, boost=1.5))
    strict.append(q.And([q.Term("title", g) for g in _rarest("title", grams, df, RAREST)], boost=2.0))
    strict.append(q.And([q.Term("body", g) for g in _rarest("body", grams, df, RAREST)]))
    if len(grams) >= 2:
        chosen = _rarest("body", grams, df, TOLERANT)
        need = max(1, len(chosen) - max(1, len(chosen) // 3))
        tolerant.append(q.Or([q.Term("body", g) for g in chosen], minmatch=need))
    return q.Or(strict), (q.Or(tolerant) if tolerant else None)


def word_queries(word: str, df: DocFrequency) -> tuple[q.Query, q.Query | None]:
    if _ID_FULL.match(word) or _ID_PART.match(word):
        return q.Term("ids", word.upper()), None
    key = number_key(word)
    if key:
        return q.Term("number", key), None
    if _ARCHIVAL.match(word):
        return q.Term("archival_code", word), None
    return _text_queries(word, df)


def parse(text: str, df: DocFrequency, filter_query: q.Query | None = None) -> ParsedQuery:
    words = [w for w in re.split(r"[\s,，、;；]+", text.strip()) if w]
    extra = [filter_query] if filter_query is not None else []
    if not words:
        return ParsedQuery(q.And(extra) if extra else q.Every(), None, [])
    pairs = [word_queries(word, df) for word in words]
    strict = q.And([s for s, _ in pairs] + extra)
    tolerant = None
    if any(t is not None for _, t in pairs):
        # each word: its strict form or, where it has one, its tolerant form
        tolerant = q.And([q.Or([s, t]) if t is not None else s for s, t in pairs] + extra)
    return ParsedQuery(strict, tolerant, words)


def filters(*, village: str | None = None, doc_type: str | None = None, category: str | None = None,
            year: int | None = None, month: str | None = None, household: str | None = None) -> q.Query | None:
    terms: list[q.Query] = []
    if village:
        terms.append(q.Term("village", village))
    if doc_type:
        terms.append(q.Term("type", doc_type))
    if category:
        terms.append(q.Term("category", category))
    if year:
        terms.append(q.Term("year", str(year)))
    if month:
        terms.append(q.Term("month", month))
    if household:
        terms.append(q.Term("household", household.upper()))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else q.And(terms)
