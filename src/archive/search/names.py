"""A name one character off, matched against the catalog's names (the roster: a small table),
not against body text: the name typed is compared with every member's name of the same length,
and those differing in exactly one position are its candidates. Any position counts (a surname
misread, a middle character, the last one).

A two-character name has too many neighbours (王明: every 王X and X明) to be told apart on its
own: its candidates are used only when the search is narrowed to a village or a household, or
another word of the query must also match (a household-level match)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    name: str
    household: str
    head_name: str
    village: str
    category: str
    relation: str


def one_off(a: str, b: str) -> bool:
    """Same length, exactly one position different."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def people(conn: sqlite3.Connection, length: int, *, village: str | None = None, category: str | None = None,
           household: str | None = None) -> list[Person]:
    sql = ("SELECT m.name, m.household_id, h.head_name, h.village, h.category, m.relation FROM members m "
           "JOIN households h ON h.id = m.household_id WHERE length(m.name) = ?")
    args: list[object] = [length]
    for column, value in (("h.village", village), ("h.category", category), ("h.id", household)):
        if value:
            sql += f" AND {column} = ?"
            args.append(value.upper() if column == "h.id" else value)
    return [Person(*row) for row in conn.execute(sql, args)]


@dataclass
class NameMatch:
    exact: list[Person]
    near: list[Person]   # one character off

    @property
    def near_names(self) -> list[str]:
        return list(dict.fromkeys(p.name for p in self.near))


def match(conn: sqlite3.Connection, word: str, *, allow_near: bool, village: str | None = None,
          category: str | None = None, household: str | None = None) -> NameMatch:
    found = people(conn, len(word), village=village, category=category, household=household)
    exact = [p for p in found if p.name == word]
    near = [p for p in found if one_off(p.name, word)] if allow_near and not exact else []
    return NameMatch(exact, near)
