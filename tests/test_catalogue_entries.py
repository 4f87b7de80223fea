"""What the 归档文件目录 says about a piece: a 公示单 names its village, the applicant is the
责任者 of what the applicant writes (申请书, 声明), a period document is dated at its end."""

from __future__ import annotations

import datetime as dt

from archive.documents.generate import Generator
from archive.filing.month import file_month, month_items

JULY = dt.date(2025, 7, 1)


def test_publicity_title_applicant_as_responsible_and_period_date(home, township):
    generator = Generator(home)
    household = next(h for h in township if h.status == "在保" and len(h.members) > 1)
    head = household.head.id_number
    generator.household_document("application", head, dt.date(2025, 7, 1))
    generator.household_document("declaration", head, dt.date(2025, 7, 1))
    generator.household_document("approval", head, dt.date(2025, 7, 15))
    posting = generator.publicity(household.village, JULY, dt.date(2025, 7, 31))  # no date given
    row = home.db.execute("SELECT doc_date FROM documents WHERE doc_id=?", (posting.doc_id,)).fetchone()
    assert row["doc_date"] == "2025-07-31"
    result = file_month(home, JULY)
    assert result.changed
    for items in (result.items, month_items(home, "2025-07")):
        by_title = {item.title: item for item in items}
        assert f"{household.village}审核确认公示单" in {t.replace("社会救助", "").replace("最低生活保障", "")
                                                      for t in by_title}, sorted(by_title)
        applicant = [i for i in items if i.household == head and ("申请" in i.title or "声明" in i.title)]
        assert len(applicant) == 2 and {i.responsible for i in applicant} == {household.head.name}
        approval = next(i for i in items if i.household == head and "审核确认表" in i.title)
        assert approval.responsible == home.config.office
