"""What the 归档文件目录 says about a piece: a 公示单 names its village, the applicant is the
责任者 of what the applicant writes (申请书, 声明), a period document is dated at its end."""

from __future__ import annotations

import datetime as dt
import io

import pypdf

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


def test_a_document_number_is_never_broken_in_the_filing_catalogue():
    from archive.filing.catalogue import Item, filing_catalogue

    number = "青岩民不批〔2025〕123号"
    item = Item(seq=1, archival_code="Z109-WS·2025-D30-C01-0001", number=number, responsible="青岩镇人民政府",
                title="卢军户最低生活保障申请不予批准告知书（签收件）", date="20250721", secrecy="", pages=1,
                note="附原稿", household="x", village="龙井村", box_no=1, item_no=1)
    pdf, _ = filing_catalogue("青岩镇2025年7月归档文件目录", [item])
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert number in text.replace(" ", "")  # one line: not 「…123」 and 「号」 on the next
