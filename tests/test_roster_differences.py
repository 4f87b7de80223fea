"""A re-imported roster never silently overwrites what a decision set (issue 14, QA finding on
village and 户主): the differing values are held as differences, listed by `roster diff`, and
change the household only when a person accepts them; rejecting keeps the archive's values.
Households with no decision and no document import as before."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from conftest import run_cli

from archive import sample
from archive.casework.history import events_for, state_for_month
from archive.documents.generate import Generator
from archive.errors import NotFoundError, UsageError
from archive.roster import differences
from archive.roster.households import get_household
from archive.roster.importer import import_roster

TODAY = dt.date(2025, 9, 10)


def _reimport(home, township, tmp_path, name: str, change) -> object:
    """The township's roster with `change` applied to a copy, imported as a new file."""
    changed = copy.deepcopy(township)
    change({h.head.id_number: h for h in changed})
    path = sample.write_roster_csv(changed, tmp_path / name)
    return import_roster(home.db, path, home.config, "tester", today=TODAY)


def _others(township, *taken: str) -> list[str]:
    """Active households with no document and no history, other than those taken."""
    return [h.head.id_number for h in township if h.status == "在保" and h.head.id_number not in taken]


def test_reimport_does_not_change_a_decided_amount_until_accepted(home, township, head_id, tmp_path, monkeypatch):
    baseline = get_household(home.db, head_id).amount
    adjustment = Generator(home).household_document("adjustment", head_id, dt.date(2025, 7, 20),
                                                    {"new_amount": "600", "reason": "家庭收入减少",
                                                     "effective_month": "2025-08"})
    other = _others(township, head_id)[0]

    def change(by_id):
        by_id[head_id].amount = 450.0      # the provincial roster still says something else
        by_id[other].amount = 333.0        # a household nothing was decided for

    result = _reimport(home, township, tmp_path, "again.csv", change)
    (held,) = result.differences
    assert (held.household_id, held.field, held.roster, held.archive) == (head_id, "amount", 450.0, 600.0)
    assert held.basis[0]["doc_id"] == adjustment.doc_id and held.basis[0]["number"] == adjustment.number
    assert result.held == 1 and "新发现 1 处差异" in result.summary_zh() and "450.00元" in result.summary_zh()
    # the tampering: the decided amount stands, the baseline too; the undecided household took the roster's
    assert state_for_month(home.db, head_id, dt.date(2025, 9, 1)).amount == 600
    assert get_household(home.db, head_id).amount == baseline
    assert get_household(home.db, other).amount == 333.0

    listed = [json.loads(line) for line in run_cli("--home", str(home.root), "roster", "diff", "--json").output.splitlines()]
    assert [(d["id"], d["field"], d["roster"], d["archive"], d["state"]) for d in listed] == \
        [(held.id, "amount", 450.0, 600.0, "pending")]
    assert "花名册 450.00元，档案 600.00元" in listed[0]["message"] and adjustment.number in listed[0]["message"]

    monkeypatch.setenv("ARCHIVE_OPERATOR", "王会计")
    (done,) = differences.accept(home, [held.id], today=TODAY)
    assert done.done and "自2025年9月起" in done.message
    assert state_for_month(home.db, head_id, dt.date(2025, 9, 1)).amount == 450
    assert state_for_month(home.db, head_id, dt.date(2025, 8, 1)).amount == 600  # the decision's month stays
    event = events_for(home.db, head_id)[-1]
    assert (event.kind, event.effective_month, event.amount, event.operator) == ("roster", "2025-09", 450.0, "王会计")
    audit = home.db.execute("SELECT operator, detail FROM audit WHERE action='roster.accept'").fetchone()
    assert audit["operator"] == "王会计" and json.loads(audit["detail"])["difference"] == held.id
    assert differences.list_differences(home.db) == []
    # accepted once: a second accept is reported, not repeated
    (again,) = differences.accept(home, [held.id], today=TODAY)
    assert not again.done and "已接受" in again.message


def test_a_stop_is_not_undone_by_a_roster_that_still_pays(home, township, head_id, tmp_path):
    Generator(home).household_document("suspension", head_id, dt.date(2025, 7, 20),
                                       {"reason": "家庭收入超过标准", "effective_month": "2025-08"})
    result = _reimport(home, township, tmp_path, "stop.csv", lambda by_id: None)
    assert result.already_imported is False
    (held,) = result.differences
    assert (held.field, held.roster, held.archive) == ("status", "active", "stopped")
    assert state_for_month(home.db, head_id, dt.date(2025, 9, 1)).status == "stopped"
    out = run_cli("--home", str(home.root), "roster", "reject", str(held.id), "--reason", "已停发，省系统未更新", "--json")
    assert out.exit_code == 0 and json.loads(out.output)["state"] == "rejected"
    assert state_for_month(home.db, head_id, dt.date(2025, 9, 1)).status == "stopped"
    # the same roster value against the same archive value is not raised again
    other = _others(township, head_id)[0]
    result = _reimport(home, township, tmp_path, "stop-again.csv", lambda by_id: setattr(by_id[other], "amount", 321.0))
    assert result.differences == [] and result.held == 1
    assert state_for_month(home.db, head_id, dt.date(2025, 9, 1)).status == "stopped"
    shown = run_cli("--home", str(home.root), "roster", "diff", "--all").output
    assert "【已拒绝】" in shown and "停保" in shown


def test_village_and_head_of_a_household_with_documents_wait_for_a_person(home, township, head_id, tmp_path):
    visit = Generator(home).household_document("home-visit", head_id, dt.date(2025, 7, 10), {})
    before = get_household(home.db, head_id)
    other = _others(township, head_id)[0]
    new_village = next(v for v in home.config.villages if v != before.village)
    other_village = next(v for v in home.config.villages if v != get_household(home.db, other).village)

    def change(by_id):
        by_id[head_id].village = new_village
        by_id[other].village = other_village   # no document, no decision: imported as before

    result = _reimport(home, township, tmp_path, "moved.csv", change)
    (held,) = result.differences
    assert (held.field, held.roster, held.archive) == ("village", new_village, before.village)
    assert get_household(home.db, head_id).village == before.village
    assert get_household(home.db, other).village == other_village
    row = home.db.execute("SELECT village FROM documents WHERE doc_id=?", (visit.doc_id,)).fetchone()
    assert row["village"] == before.village

    out = run_cli("--home", str(home.root), "roster", "accept", "--all", "--json")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.output)["done"] is True
    assert get_household(home.db, head_id).village == new_village
    row = home.db.execute("SELECT village, pdf_path FROM documents WHERE doc_id=?", (visit.doc_id,)).fetchone()
    assert row["village"] == new_village and f"/{new_village}/" in row["pdf_path"]
    assert (home.root / row["pdf_path"]).exists()
    assert home.db.execute("SELECT count(*) FROM audit WHERE action='household.move'").fetchone()[0] == 1


def test_head_name_and_members_held_and_superseded_by_a_newer_roster(home, township, head_id, tmp_path):
    Generator(home).household_document("adjustment", head_id, dt.date(2025, 7, 20),
                                       {"new_amount": "500", "reason": "家庭收入减少", "effective_month": "2025-08"})
    before = get_household(home.db, head_id)

    def rename(by_id):
        household = by_id[head_id]
        household.members[0].name = "改名" + household.members[0].name[-1]
        household.members.pop()          # a member gone from the roster
        household.category = "特困"

    result = _reimport(home, township, tmp_path, "renamed.csv", rename)
    fields = {d.field for d in result.differences}
    assert fields == {"head_name", "members", "category", "amount"}
    after = get_household(home.db, head_id)
    assert (after.head_name, after.category, len(after.members)) == (before.head_name, before.category, len(before.members))
    # a newer roster that agrees with the archive again on everything but the category
    result = _reimport(home, township, tmp_path, "newer.csv",
                       lambda by_id: (setattr(by_id[head_id], "category", "特困"), setattr(by_id[head_id], "amount", 500.0)))
    (pending,) = differences.list_differences(home.db)
    assert pending.field == "category" and pending.roster == "特困"
    assert result.differences == []  # the same pending difference is kept, under its number
    states = [row["state"] for row in home.db.execute("SELECT state FROM roster_differences WHERE id<>?", (pending.id,))]
    assert states == ["superseded"] * 3
    (done,) = differences.accept(home, [pending.id], today=TODAY)
    assert done.done and get_household(home.db, head_id).category == "特困"


def test_accept_and_reject_name_what_they_act_on(home):
    with pytest.raises(UsageError):
        differences.accept(home, [])
    with pytest.raises(UsageError):
        differences.reject(home, [1], every=True)
    with pytest.raises(NotFoundError, match="#99"):
        differences.reject(home, [99])
    out = run_cli("--home", str(home.root), "roster", "accept", "--json")
    assert out.exit_code == 2 and "--all" in json.loads(out.stderr.splitlines()[-1])["error"]
    out = run_cli("--home", str(home.root), "roster", "diff")
    assert out.exit_code == 0 and "没有待确认的花名册差异" in out.output


def test_accepted_from_the_rosters_month(home, township, head_id, tmp_path):
    Generator(home).household_document("adjustment", head_id, dt.date(2025, 7, 20),
                                       {"new_amount": "600", "new_covered": "1", "reason": "家庭收入增加",
                                        "effective_month": "2025-08"})
    result = _reimport(home, township, tmp_path, "sept.csv", lambda by_id: setattr(by_id[head_id], "amount", 480.0))
    assert {d.field for d in result.differences} == {"amount", "covered"}
    out = run_cli("--home", str(home.root), "roster", "accept", "--all", "--month", "2025-09", "--json")
    assert out.exit_code == 0, out.stderr
    assert all(json.loads(line)["done"] for line in out.output.splitlines())
    september = state_for_month(home.db, head_id, dt.date(2025, 9, 1))
    assert (september.amount, september.covered) == (480.0, len(get_household(home.db, head_id).members))
    assert state_for_month(home.db, head_id, dt.date(2025, 8, 1)).amount == 600
    shown = run_cli("--home", str(home.root), "show", head_id).output
    assert "花名册差异（已接受） 自2025年9月起 月480.00元" in shown and "sept.csv" in shown
