"""Batches in the browser: the list of households before anything is made, then one document per
household and one merged PDF to print; inspectors refused; CSRF needed."""

from __future__ import annotations

import io
import re

import pypdf
from webfixtures import ID_NUMBER, client_for, csrf, finished_job, open_home, urls_in


def village_with_few(web) -> tuple[str, int]:
    home = open_home(web)
    try:
        row = home.db.execute("SELECT village, count(*) AS n FROM households WHERE status='active' "
                              "GROUP BY village ORDER BY n LIMIT 1").fetchone()
        return row["village"], row["n"]
    finally:
        home.close()


def numbered(web) -> int:
    home = open_home(web)
    try:
        return home.db.execute("SELECT count(*) FROM documents WHERE number IS NOT NULL").fetchone()[0]
    finally:
        home.close()


def test_batch_lists_then_generates_one_merged_pdf(app, web):
    client = client_for(app, web, "caseworker")
    page = client.get("/batch?type=confirmation")
    assert page.status_code == 200 and "审核确认通知书" in page.text and "月保障金额" in page.text
    village, count = village_with_few(web)
    form = {"csrftoken": csrf(client), "type": "confirmation", "village": village, "status": "active",
            "date": "2025-07-10"}
    before = numbered(web)
    listing = client.post("/batch/list", data=form, headers={"HX-Request": "true"})
    assert listing.status_code == 200 and f"符合条件的家庭共 {count} 户" in listing.text
    for url in urls_in(listing.text):
        assert not ID_NUMBER.search(url), url
    assert numbered(web) == before  # looking at the list makes nothing
    asked = client.post("/batch/run", data=form)  # not yet confirmed: the list to confirm, nothing made
    assert asked.status_code == 200 and f"确认为以下 {count} 户生成" in asked.text
    assert numbered(web) == before
    digest = re.search(r'name="confirm" value="([0-9a-f]{16})"', asked.text).group(1)
    started = client.post("/batch/run", data={**form, "confirm": digest})  # a background job
    assert started.status_code == 200 and "批量生成" in started.text
    done = client.get(f"/jobs/{finished_job(started)}")
    assert done.status_code == 200, done.text
    assert f"{count} 户已生成" in done.text and "已完成" in done.text
    assert numbered(web) == before + count
    link = re.search(r'href="(/batches/[^"]+\.pdf)"', done.text).group(1)
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert len(pypdf.PdfReader(io.BytesIO(pdf.content)).outline) == count
    home = open_home(web)
    try:
        operator = home.db.execute("SELECT operator FROM audit WHERE action='document.batch'").fetchone()[0]
    finally:
        home.close()
    assert operator == web.user("caseworker")
    assert client.get("/batches/..%2Fcatalog.db").status_code == 404
    assert client.get("/batches/nothing.pdf").status_code == 404


def test_batch_form_problems_are_shown_beside_fields(app, web):
    client = client_for(app, web, "caseworker")
    before = numbered(web)
    response = client.post("/batch/run", data={"csrftoken": csrf(client), "type": "confirmation",
                                               "f.amount": "很多", "decided_from": "2025-13-01"})
    assert response.status_code == 400
    assert 'id="err-amount"' in response.text and 'id="err-decided_from"' in response.text
    nobody = client.post("/batch/run", data={"csrftoken": csrf(client), "type": "confirmation",
                                             "decided_from": "2001-01-01", "decided_to": "2001-01-02"})
    assert nobody.status_code == 400 and "没有符合条件的家庭" in nobody.text
    assert numbered(web) == before


def test_inspector_refused_and_csrf_needed(app, web):
    before = numbered(web)
    client = client_for(app, web, "inspector")
    assert client.get("/batch?type=confirmation").status_code == 403
    for path in ("/batch/list", "/batch/run"):
        assert client.post(path, data={"csrftoken": csrf(client), "type": "confirmation"}).status_code == 403
    caseworker = client_for(app, web, "caseworker")
    assert caseworker.post("/batch/run", data={"type": "confirmation"}).status_code == 403
    assert numbered(web) == before


def test_a_confirmation_batch_skips_households_without_a_decision_and_asks_first(app, web):
    """确认通知书 for a whole village: applicants without an approval decision are listed as
    skipped with the reason, the user confirms, and only the others get a notice."""
    home = open_home(web)
    try:
        village = home.db.execute("SELECT village FROM households WHERE status='applicant' AND id NOT IN "
                                  "(SELECT household_id FROM documents WHERE type='approval' AND household_id IS NOT NULL) "
                                  "GROUP BY village ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        statuses = dict(home.db.execute("SELECT id, status FROM households WHERE village=?", (village,)).fetchall())
    finally:
        home.close()
    waiting = [h for h, status in statuses.items() if status == "applicant"]
    assert waiting
    client = client_for(app, web, "caseworker")
    form = {"csrftoken": csrf(client), "type": "confirmation", "village": village, "date": "2025-07-11"}
    before = numbered(web)
    listing = client.post("/batch/list", data=form, headers={"HX-Request": "true"})
    assert listing.status_code == 200
    skipped = listing.text.split('class="grid list skipped"', 1)[1].split("</table>", 1)[0]
    assert skipped.count("<tr>") - 1 == len(waiting)  # the header row, then one per applicant
    assert skipped.count("尚无审批决定") == len(waiting)
    assert numbered(web) == before
    asked = client.post("/batch/run", data=form)
    assert numbered(web) == before and "跳过的家庭" in asked.text
    digest = re.search(r'name="confirm" value="([0-9a-f]{16})"', asked.text).group(1)
    stale = client.post("/batch/run", data={**form, "confirm": "0" * 16})
    assert "名单在确认后有变化" in stale.text and numbered(web) == before
    done = client.get(f"/jobs/{finished_job(client.post('/batch/run', data={**form, 'confirm': digest}))}")
    assert done.status_code == 200, done.text
    made = len(statuses) - len(waiting)
    assert numbered(web) == before + made
    home = open_home(web)
    try:
        issued_for = {r[0] for r in home.db.execute(
            "SELECT household_id FROM documents WHERE type='confirmation' AND doc_date='2025-07-11'")}
    finally:
        home.close()
    assert issued_for == {h for h, status in statuses.items() if status != "applicant"}


def test_a_batch_of_notices_links_their_counterfoils_apart(app, web):
    from archive.web.routes.generate import FIELD_PREFIX

    client = client_for(app, web, "caseworker")
    village, count = village_with_few(web)
    form = {"csrftoken": csrf(client), "type": "suspension", "village": village, "status": "active",
            "date": "2025-07-22", FIELD_PREFIX + "reason": "家庭人均收入超过当地最低生活保障标准"}
    asked = client.post("/batch/run", data=form)  # the list to confirm first
    form["confirm"] = re.search(r'name="confirm" value="([0-9a-f]{16})"', asked.text).group(1)
    done = client.get(f"/jobs/{finished_job(client.post('/batch/run', data=form))}")  # a background job
    assert done.status_code == 200, done.text
    links = re.findall(r'href="(/batches/[^"]+\.pdf)"', done.text)
    assert len(links) == 2 and links[1].endswith("-存根.pdf") and "打开存根 PDF" in done.text
    merged, stubs = (pypdf.PdfReader(io.BytesIO(client.get(link).content)) for link in links)
    assert len(stubs.pages) >= 1 and all("（存根）" in page.extract_text() for page in stubs.pages)
    assert not any("（存根）" in page.extract_text() for page in merged.pages)
