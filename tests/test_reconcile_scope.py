"""三项一致 compares what the month changed or should have changed (issue 14): households that
predate the archive and that nothing touched this month are not differences; a household new on
the roster this month without a 审核确认表 is; an adjustment or a stop this month that the roster
does not show is; an adjusted household is compared with its adjusted amount, not with the
审核确认表 issued before the adjustment."""

from __future__ import annotations

import copy
import datetime as dt

from archive import sample
from archive.documents.generate import Generator
from archive.filing.reconcile import reconcile

JULY = dt.date(2025, 7, 1)


def _roster(township, tmp_path, name, change=None):
    changed = copy.deepcopy(township)
    if change:
        change({h.head.id_number: h for h in changed})
    return sample.write_roster_xlsx(changed, tmp_path / name)


def _active(township):
    return [h for h in township if h.status == "在保" and h.start < JULY]


def test_households_that_predate_the_archive_are_not_differences(home, township, tmp_path):
    older = _active(township)
    assert len(older) > 20
    differences = reconcile(home, JULY, _roster(township, tmp_path, "same.xlsx"))
    assert not {d.household for d in differences} & {h.head.id_number for h in older}


def test_new_on_the_roster_this_month_without_approval_is_a_difference(home, township, tmp_path):
    newcomer = _active(township)[0]

    def arrive(by_id):
        by_id[newcomer.head.id_number].start = dt.date(2025, 7, 1)

    differences = reconcile(home, JULY, _roster(township, tmp_path, "new.xlsx", arrive))
    assert [(d.household, d.kind) for d in differences] == [(newcomer.head.id_number, "花名册有、档案中无审核确认表")]


def test_a_decision_this_month_is_compared_with_the_roster(home, township, head_id, tmp_path):
    stopped, adjusted = [h.head.id_number for h in _active(township) if h.head.id_number != head_id][:2]
    generator = Generator(home)
    generator.household_document("suspension", stopped, dt.date(2025, 7, 3),
                                 {"reason": "家庭收入超过标准", "effective_month": "2025-07"})
    generator.household_document("adjustment", adjusted, dt.date(2025, 7, 3),
                                 {"new_amount": "612", "reason": "家庭收入减少", "effective_month": "2025-07"})
    kinds = {(d.household, d.kind) for d in reconcile(home, JULY, _roster(township, tmp_path, "stale.xlsx"))}
    assert kinds == {(stopped, "档案中已停发、但仍在花名册中"), (adjusted, "花名册与调整后的人数或金额不一致")}

    def caught_up(by_id):
        by_id[adjusted].amount = 612.0
        by_id[stopped].status = "停保"

    assert reconcile(home, JULY, _roster(township, tmp_path, "current.xlsx", caught_up)) == []
