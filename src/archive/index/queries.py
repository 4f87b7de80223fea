"""The backend-neutral query representation: what search/query.py builds and every index backend
compiles (whoosh to whoosh.query objects, SQLite FTS5 to a MATCH expression).

Nodes:
- Term(field, text): one term of a field. Keyword fields (names, ids, number, village, type,
  category, year, month, status, linked, household, archival_code) hold whole values, so a
  Term there is a name term, an ID-digit term, a 文号 key or a field filter. Text fields (title,
  body, people) hold the analysis.terms of their text (bigrams), so a Term there is one bigram.
- Phrase(field, grams): a phrase's bigrams, consecutive in the field. A backend that keeps
  positions matches them exactly; one that does not (whoosh here, for speed) matches its rarest
  few anywhere in the field.
- And / Or (with `minmatch`: at least that many parts) / Not / Every / Nothing.

Every node has a `boost` that weights its score; a backend may approximate it."""

from __future__ import annotations

from dataclasses import dataclass, field

# the fields of an indexed document (see store.fields)
KEYWORD_FIELDS = ("household", "names", "ids", "village", "type", "category", "year", "month", "status",
                  "linked", "number", "archival_code")
TEXT_FIELDS = ("people", "title", "body")


class Query:
    boost: float = 1.0


@dataclass(frozen=True)
class Term(Query):
    field: str
    text: str
    boost: float = 1.0


@dataclass(frozen=True)
class Phrase(Query):
    field: str
    grams: tuple[str, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class And(Query):
    parts: tuple[Query, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Or(Query):
    parts: tuple[Query, ...]
    boost: float = 1.0
    minmatch: int = 1


@dataclass(frozen=True)
class Not(Query):
    part: Query
    boost: float = 1.0


@dataclass(frozen=True)
class Every(Query):
    """Every document (a listing by filter alone)."""
    boost: float = 1.0


@dataclass(frozen=True)
class Nothing(Query):
    """No document (a word with no term in it)."""
    boost: float = 1.0


def and_(parts: list[Query], boost: float = 1.0) -> Query:
    """And of the parts; a single part stands for itself, none is Every."""
    parts = [p for p in parts if not isinstance(p, Every)]
    if any(isinstance(p, Nothing) for p in parts):
        return Nothing()
    if not parts:
        return Every()
    if len(parts) == 1 and boost == 1.0:
        return parts[0]
    return And(tuple(parts), boost)


def or_(parts: list[Query], boost: float = 1.0, minmatch: int = 1) -> Query:
    parts = [p for p in parts if not isinstance(p, Nothing)]
    if not parts or minmatch > len(parts):
        return Nothing()
    if len(parts) == 1 and boost == 1.0:
        return parts[0]
    return Or(tuple(parts), boost, minmatch)


@dataclass
class Hits:
    """What a backend's search returns: document IDs best first with their scores, the number of
    documents that matched (`total`, exact or an estimate: `exact`), and whether every match is in
    `ranked` (`complete`: fewer matched than the limit asked for)."""
    ranked: list[tuple[str, float]] = field(default_factory=list)
    total: int = 0
    exact: bool = True
    complete: bool = True
