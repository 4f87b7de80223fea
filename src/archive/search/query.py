"""Turn what an inspector types into a whoosh query.

Each word of the query is recognised for what it is and must match (AND across words):
- a full ID number (checksum not required: it may be a member's) or its last 4 to 6 characters;
- a 文号 (青岩民不批〔2025〕7号, also written with [] or （） or 第/leading zeros);
- a 档号 (Z109-WS·2025-D10-DB-0001);
- Chinese text: a name or a phrase. It matches a member's name exactly (ranked first), a name one
  character off (an OCR slip), or the title and body where all its bigrams occur; failing that, a
  body with most of its bigrams still matches, ranked below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh import query as q

from archive.index.analysis import bigrams, is_han
from archive.index.schema import number_key

_ID_FULL = re.compile(r"^\d{17}[\dXx]$")
_ID_PART = re.compile(r"^\d{3,5}[\dXx]$")
_ARCHIVAL = re.compile(r"^[A-Za-z0-9]+-WS·\d{4}-[A-Z0-9]+-[A-Z0-9]+-\d{4}$")


@dataclass
class ParsedQuery:
    query: q.Query
    literals: list[str]  # the words as typed, for snippets


def _text_query(word: str) -> q.Query:
    grams = bigrams(word)
    if not grams:
        return q.NullQuery
    options: list[q.Query] = []
    if 2 <= len(word) <= 4 and all(is_han(c) for c in word):
        options.append(q.Term("names", word, boost=4.0))
        if len(word) >= 2:
            # one wrong character in a name: edit distance 1, first character kept
            options.append(q.FuzzyTerm("names", word, maxdist=1, prefixlength=1, boost=1.5))
    terms = [q.Term("body", g) for g in grams]
    options.append(q.And([q.Term("title", g) for g in grams], boost=2.0))
    options.append(q.And(terms, boost=2.0))
    if len(grams) >= 2:
        # tolerate OCR damage: most bigrams present still matches, ranked lower
        need = max(1, len(grams) - max(1, len(grams) // 3))
        options.append(q.Or(terms, minmatch=need, boost=0.5))
    return q.Or(options)


def word_query(word: str) -> q.Query:
    if _ID_FULL.match(word):
        return q.Term("ids", word.upper())
    if _ID_PART.match(word):
        return q.Term("ids", word.upper())
    key = number_key(word)
    if key:
        return q.Term("number", key)
    if _ARCHIVAL.match(word):
        return q.Term("archival_code", word)
    return _text_query(word)


def parse(text: str) -> ParsedQuery:
    words = [w for w in re.split(r"[\s,，、;；]+", text.strip()) if w]
    if not words:
        return ParsedQuery(q.Every(), [])
    parts = [word_query(word) for word in words]
    return ParsedQuery(parts[0] if len(parts) == 1 else q.And(parts), words)


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
