"""The search's roster lookups at a county's size (issue #15): a name typed and the names one
character off it, and the last digits of an ID number, are found through the indexes of catalog
migration 0014 (not by reading every member), on SQLite and on PostgreSQL, with the same answers
as comparing every member by hand."""

from __future__ import annotations

from archive.catalog import transaction
from archive.search import names
from archive.search.engine import _id_households, search

PG_CATALOG = True


def _members(home) -> list[tuple[str, str, str]]:
    return [(row[0], row[1], row[2]) for row in home.db.execute("SELECT name, household_id, id_number FROM members")]


def _variants(name: str) -> list[str]:
    """The name, and it with each character in turn replaced by one no roster name has."""
    return [name] + [name[:i] + "鼗" + name[i + 1:] for i in range(len(name))]


def test_names_equal_or_one_off_are_the_ones_a_comparison_of_every_member_gives(home):
    members = _members(home)
    chosen = {len(name): name for name, _h, _i in members if 2 <= len(name) <= 4}
    assert {2, 3} <= set(chosen)
    for name in chosen.values():
        for word in _variants(name):
            found = {(p.name, p.household) for p in names.people(home.db, len(word), like=word)}
            expected = {(n, h) for n, h, _i in members if n == word or names.one_off(n, word)}
            assert found == expected, word
            assert (name, next(h for n, h, _i in members if n == name)) in found


def test_id_tails_find_the_households_also_of_an_id_number_of_another_length(home):
    name, household, id_number = _members(home)[0]
    with transaction(home.db):  # an ID number that is not 18 characters (no roster import makes one)
        home.db.execute("INSERT INTO members(household_id, seq, name, relation, id_number) VALUES (?,?,?,?,?)",
                        (household, 99, "鼗鼗", "其他", "52011119800101123"))
    for digits in (id_number[-4:], id_number[-5:], id_number[-6:], id_number):
        expected = {h for _n, h, i in _members(home) if i == digits or (len(digits) < 18 and i.endswith(digits))}
        assert _id_households(home, digits) == expected and household in expected
    assert _id_households(home, "1123") >= {household}  # the 17-character one, by its own tail
    assert _id_households(home, "01123") == {household}


def _plan(home, sql: str, args: list) -> str:
    if home.catalog_target is None:
        return "\n".join(str(tuple(row)) for row in home.db.execute("EXPLAIN QUERY PLAN " + sql, args))
    return "\n".join(row[0] for row in home.db.execute("EXPLAIN " + sql, args))


def test_the_lookups_use_the_indexes_not_a_scan_of_every_member(home, catalog_backend):
    if catalog_backend == "postgresql":
        # 40 households are read faster whole: told not to, the planner shows the indexes it can
        # use (at 30,000 households it chose them itself, bench/RESULTS.md)
        home.db.execute("SET enable_seqscan = off")
    condition, args = names._like("王秀英")
    plan = _plan(home, f"SELECT m.name FROM members m WHERE {condition}", args)
    for index in ("members_name", "members_name_tail", "members_name_ends", "members_name_head"):
        assert index in plan, plan
    assert "Seq Scan" not in plan and "'SCAN m'" not in plan, plan
    sql = ("SELECT household_id FROM members WHERE (id_number = ? OR substr(id_number, 13) = ?) "
           "AND length(id_number) = 18 UNION SELECT household_id FROM members WHERE length(id_number) <> 18 "
           "AND (id_number = ? OR substr(id_number, length(id_number) - 5) = ?)")
    plan = _plan(home, sql, ["123456"] * 4)
    assert "members_id_last6" in plan and "members_id_other" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_a_search_by_a_name_one_off_and_by_id_digits_still_finds_the_household(home, township):
    household = next(h for h in township if h.status == "在保" and len(h.head.name) == 3)
    typed = household.head.name[:2] + "鼗"
    result = search(home, typed)
    assert any(hit.household == household.head.id_number for hit in result.households), result.ambiguity
    result = search(home, household.head.id_number[-6:])
    assert [hit.household for hit in result.households] == [household.head.id_number]
