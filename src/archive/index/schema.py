"""What is indexed, for every backend: the terms of ID numbers and 文号, and the schema version.
The fields themselves are listed in index/queries.py and filled by store.fields; each backend
declares them in its own form (whoosh_backend.build_schema). Stored fields are kept to the
minimum (document ID, revision): everything shown in results comes from the catalog.

SCHEMA_VERSION is written beside the index; an index of another version is rebuilt by
`archive reindex` (and by the next incremental sync), and search asks for that rebuild."""

from __future__ import annotations

import re

from archive.index.analysis import is_han

# 2: one term per member name (commas), bigram-searchable member names (people), status,
#    linked, every suffix of a 文号's organ prefix (number)
SCHEMA_VERSION = 2

_OPEN = "〔[［(（【"
_CLOSE = "〕]］)）】"
# 青岩民不批〔2025〕7号 / [2025]第07号 / （2025）7 — brackets around the year
_NUMBER_BRACKET = re.compile(rf"^\s*(.+?)\s*[{re.escape(_OPEN)}]\s*(\d{{4}})\s*年?\s*[{re.escape(_CLOSE)}]\s*第?\s*0*(\d+)\s*号?\s*$")
# 青岩民不批2025年7号 / 不批2025年第07号 — no brackets: 年 and 号 say what the digits are
_NUMBER_LOOSE = re.compile(r"^\s*(.+?)\s*(\d{4})\s*年\s*第?\s*0*(\d+)\s*号\s*$")


def _parts(number: str) -> tuple[str, str, int] | None:
    text = (number or "").translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    match = _NUMBER_BRACKET.match(text) or _NUMBER_LOOSE.match(text)
    if not match:
        return None
    prefix = re.sub(r"\s+", "", match[1])
    # the organ and type code is Chinese (青岩民不批); anything else is not a 文号
    if not prefix or not all(is_han(c) for c in prefix):
        return None
    return prefix, match[2], int(match[3])


def number_key(number: str) -> str | None:
    """青岩民不批〔2025〕7号, 青岩民不批[2025]07号, 青岩民不批2025年第7号 -> 青岩民不批|2025|7."""
    parts = _parts(number)
    return f"{parts[0]}|{parts[1]}|{parts[2]}" if parts else None


def number_terms(number: str) -> str:
    """The index terms of a document's 文号: its key with every tail of the organ prefix, so that
    不批〔2025〕7号 (the organ's abbreviation left out) finds 青岩民不批〔2025〕7号."""
    parts = _parts(number)
    if not parts:
        return ""
    prefix, year, seq = parts
    return " ".join(f"{prefix[i:]}|{year}|{seq}" for i in range(len(prefix)))


def id_terms(numbers: list[str]) -> str:
    """Full ID numbers and their last 4, 5 and 6 characters, for partial-number searches."""
    terms = set()
    for number in numbers:
        if not number:
            continue
        number = number.upper()
        terms.add(number)
        for size in (4, 5, 6):
            terms.add(number[-size:])
    return " ".join(sorted(terms))
