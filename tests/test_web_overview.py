"""The month dashboard and the shelves: read-only pages every role may open; box and 件 with 档号
after month-end filing, and what is due by household."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from webfixtures import ID_NUMBER, ROLES, client_for, make_web_home, open_home, urls_in

from archive.filing.month import file_month


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    web = make_web_home(tmp_path_factory.mktemp("weboverview"))
    home = open_home(web)
    try:
        file_month(home, dt.date(2025, 7, 1))
    finally:
        home.close()
    return web


def test_month_dashboard_shows_filing_state_documents_and_due_items(app, web):
    client = client_for(app, web, "archivist")
    page = client.get("/month?month=2025-07")
    assert page.status_code == 200
    text = page.text
    assert "2025年7月" in text and "已归档" in text
    assert re.search(r"<td>不予批准告知书</td><td class=\"num\">1</td>|告知书</td><td class=\"num\">1</td>", text)
    assert "到期与逾期事项" in text
    for url in urls_in(text):
        assert not ID_NUMBER.search(url), url
    later = client.get("/month?month=2025-09").text
    assert "未归档" in later and "?month=2025-08" in later and "?month=2025-10" in later
    bad = client.get("/month?month=2025-13")
    assert bad.status_code == 400 and "YYYY-MM" in bad.text


def test_shelves_list_boxes_and_a_box_lists_its_items_with_archival_codes(app, web):
    home = open_home(web)
    try:
        row = home.db.execute("SELECT box_id, archival_code, item_no FROM documents WHERE doc_id=?", (web.doc_id,)).fetchone()
    finally:
        home.close()
    assert row["box_id"] and row["archival_code"]
    for role in ROLES:
        client = client_for(app, web, role)
        shelves = client.get("/shelves")
        assert shelves.status_code == 200 and "2025年" in shelves.text
        assert f'href="/shelves/boxes/{row["box_id"]}"' in shelves.text
    box = client.get(f"/shelves/boxes/{row['box_id']}")
    assert box.status_code == 200
    assert row["archival_code"] in box.text and f"第{row['item_no']:04d}件" in box.text
    assert f"/documents/{web.doc_id}" in box.text and web.head_name in box.text
    assert client.get("/shelves/boxes/999999").status_code == 404
    assert client.get("/shelves?year=abc").status_code == 400
    assert "没有档案盒" in client.get("/shelves?year=1999").text


def test_due_list_is_paged_and_filtered_by_kind_village_and_state(app, web, monkeypatch):
    from archive.casework.due import due_list
    from archive.web.routes import overview

    home = open_home(web)
    try:
        every = due_list(home, dt.date(2026, 12, 1))  # as the page asks: as of today
    finally:
        home.close()
    assert len(every) >= 3
    kind = max({i.kind for i in every}, key=lambda k: sum(1 for i in every if i.kind == k))
    village = next(i.village for i in every if i.village)
    monkeypatch.setattr(overview, "DUE_PAGE", 2)
    client = client_for(app, web, "caseworker")
    first = client.get("/month?month=2026-12")
    assert first.status_code == 200
    rows = lambda html: len(re.findall(r"<tr(?: class=\"overdue\")?><td>\d{4}年", html))  # noqa: E731
    assert rows(first.text) == 2 and f"第 1 / {-(-len(every) // 2)} 页" in first.text
    following = re.search(r'href="(/month\?month=2026-12&amp;page=2#due)" rel="next"', first.text).group(1)
    second = client.get(following.replace("&amp;", "&"))
    assert "第 2 / " in second.text and 'rel="prev"' in second.text
    of_kind = client.get("/month", params={"month": "2026-12", "kind": kind})
    assert rows(of_kind.text) == min(2, sum(1 for i in every if i.kind == kind))
    assert f"符合条件的 {sum(1 for i in every if i.kind == kind)} 项（共 {len(every)} 项）" in of_kind.text
    in_village = client.get("/month", params={"month": "2026-12", "village": village})
    assert f"符合条件的 {sum(1 for i in every if i.village == village)} 项" in in_village.text
    bad = client.get("/month", params={"month": "2026-12", "kind": "nonsense"})
    assert bad.status_code == 400 and "没有「nonsense」这类事项" in bad.text


def test_villages_are_in_the_configured_order_on_the_shelves_and_the_household_list(app, web):
    from archive.documents.generate import Generator

    home = open_home(web)
    try:
        configured = list(home.config.villages)
        assert configured != sorted(configured)  # the fixture's list is not in the characters' order
        heads = {}
        for row in home.db.execute("SELECT id, village FROM households WHERE status='active' ORDER BY rowid"):
            heads.setdefault(row["village"], row["id"])
        for head in heads.values():
            Generator(home).household_document("refusal", head, dt.date(2025, 8, 5),
                                               {"reason": "家庭财产超过规定", "apply_date": "2025-07-20"})
        file_month(home, dt.date(2025, 8, 1))
    finally:
        home.close()
    assert len(heads) >= 3
    client = client_for(app, web, "archivist")
    shelves = client.get("/shelves?year=2025").text
    shown = [v for v in re.findall(r"<h2>(\S+) <small>", shelves) if v in configured]
    assert len(shown) >= 3 and shown == sorted(shown, key=configured.index)
    listing = client.get("/households").text
    villages = re.findall(r"</a>(?:[^<]|<span[^>]*>[^<]*</span>)*</td>\s*<td>([^<]+)</td>", listing)
    assert len(set(villages)) >= 3 and villages == sorted(villages, key=configured.index)
