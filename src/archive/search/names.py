"""A name one character off, matched against the catalog's names (the roster: a small table),
not against body text: the name typed is compared with every member's name of the same length,
and those differing in exactly one position are its candidates. Any position counts (a surname
misread, a middle character, the last one).

A two-character name has too many neighbours (王明: every 王X and X明) to be told apart on its
own: its candidates are used only when the search is narrowed to a village or a household, or
another word of the query must also match (a household-level match). A word some document
prints as typed (不存在, 生活困难) is that word, not a misspelt name: the engine asks for no
candidates for it.

Most wrong characters typed with a pinyin IME are homophones (张玮 for 张伟): a candidate whose
differing character sounds the same as the one typed (pypinyin, every reading of a heteronym)
is taken alone when there is one; one sharing the initial or the final ranks before the rest."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, pinyin


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
           household: str | None = None, like: str | None = None) -> list[Person]:
    """The roster's people whose name has `length` characters (and, with `like`, is that word or
    one character off it)."""
    sql = ("SELECT m.name, m.household_id, h.head_name, h.village, h.category, m.relation FROM members m "
           "JOIN households h ON h.id = m.household_id WHERE length(m.name) = ?")
    args: list[object] = [length]
    if like:
        condition, more = _like(like)
        sql += f" AND {condition}"
        args += more
    for column, value in (("h.village", village), ("h.category", category), ("h.id", household)):
        if value:
            sql += f" AND {column} = ?"
            args.append(value.upper() if column == "h.id" else value)
    return [Person(*row) for row in conn.execute(sql, args)]


@lru_cache(maxsize=8192)
def _sounds(char: str, style: Style) -> frozenset[str]:
    return frozenset(s for s in pinyin(char, style=style, heteronym=True, errors="ignore")[0] if s) if char else frozenset()


def closeness(typed: str, name: str) -> int:
    """2: the differing characters sound the same; 1: they share the initial or the final; 0: neither."""
    for a, b in zip(typed, name, strict=True):
        if a != b:
            if _sounds(a, Style.NORMAL) & _sounds(b, Style.NORMAL):
                return 2
            initials = _sounds(a, Style.INITIALS) & _sounds(b, Style.INITIALS)
            finals = _sounds(a, Style.FINALS) & _sounds(b, Style.FINALS)
            return 1 if (initials - {""}) or (finals - {""}) else 0
    return 0


@dataclass
class NameMatch:
    exact: list[Person]
    near: list[Person]   # one character off

    typed: str = ""

    @property
    def near_names(self) -> list[str]:
        return list(dict.fromkeys(p.name for p in self.near))

    def tiers(self) -> list[list[str]]:
        """The near names, closest-sounding first, in groups of equal closeness."""
        groups: dict[int, list[str]] = {}
        for name in self.near_names:
            groups.setdefault(closeness(self.typed, name), []).append(name)
        return [groups[key] for key in sorted(groups, reverse=True)]


def _like(word: str) -> tuple[str, list[object]]:
    """SQL for the names equal to the word or one character off it (one position any character,
    the others as typed), so that the database, not Python, goes through the roster's names.
    Each alternative is written exactly as an index of migration 0014 is (the positions are
    constants, not parameters, so that the expressions match): a county's 30,000 households are
    not scanned for every name typed."""
    parts = ["m.name = ?"]
    args: list[object] = [word]
    for i in range(len(word)):
        if i == 0:      # the first character differs: the rest as typed
            parts.append("substr(m.name, 2) = ?")
            args.append(word[1:])
        elif i == 1:    # the second: the first and the rest from the third
            parts.append("(substr(m.name, 1, 1) = ? AND substr(m.name, 3) = ?)")
            args += [word[0], word[2:]]
        else:           # a later one: the first two, and the rest after it
            parts.append(f"(substr(m.name, 1, 2) = ? AND substr(m.name, {i + 2}) = ?)")
            args += [word[:2], word[i + 1:]]
    return "(" + " OR ".join(parts) + ")", args


def match(conn: sqlite3.Connection, word: str, *, allow_near: bool | Callable[[], bool],
          village: str | None = None, category: str | None = None, household: str | None = None) -> NameMatch:
    """The roster's people named `word`, and when there are none and `allow_near` (a callable
    is asked only then: its answer may cost a search), those one character off."""
    found = people(conn, len(word), village=village, category=category, household=household, like=word)
    exact = [p for p in found if p.name == word]
    near = []
    if not exact and (allow_near() if callable(allow_near) else allow_near):
        near = [p for p in found if one_off(p.name, word)]
    if near:
        scored = sorted(((closeness(word, p.name), p) for p in near), key=lambda sp: -sp[0])
        best = scored[0][0]
        near = [p for score, p in scored if score == best] if best == 2 else [p for _, p in scored]
    return NameMatch(exact, near, word)
