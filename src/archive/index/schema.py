"""The whoosh schema. Stored fields are kept to the minimum (document ID, revision, household):
everything shown in results comes from the catalog, which keeps the index small and fast."""

from __future__ import annotations

import re

from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from archive.index.analysis import chinese_analyzer

_NUMBER = re.compile(r"^\s*(.+?)\s*[〔\[［(（]\s*(\d{4})\s*[〕\]］)）]\s*第?\s*0*(\d+)\s*号?\s*$")


def number_key(number: str) -> str | None:
    """青岩民不批〔2025〕7号, 青岩民不批[2025]07号, 青岩民不批（2025）第7号 -> 青岩民不批|2025|7."""
    match = _NUMBER.match(number or "")
    if not match:
        return None
    return f"{match[1]}|{match[2]}|{int(match[3])}"


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


def build_schema() -> Schema:
    text = chinese_analyzer()
    return Schema(
        doc_id=ID(stored=True, unique=True),
        rev=STORED(),
        household=ID(stored=True),
        names=KEYWORD(lowercase=False, scorable=True, field_boost=3.0),
        ids=KEYWORD(lowercase=False, field_boost=3.0),
        village=ID(),
        type=ID(),
        category=ID(),
        year=ID(),
        month=ID(),
        number=ID(field_boost=3.0),
        archival_code=ID(),
        title=TEXT(analyzer=text, phrase=False, field_boost=2.0),
        body=TEXT(analyzer=text, phrase=False),
    )
