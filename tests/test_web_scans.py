"""The archivist's pages: scans uploaded from the browser with an outcome per file (filed to whom,
waiting for review, duplicate, quarantined and why), and the review queue (assign a household
and type, or reject with a reason). Inspectors and caseworkers refused; CSRF needed."""

from __future__ import annotations

import re

import pytest
from scanfixtures import text_pdf
from webfixtures import ID_NUMBER, client_for, csrf, finished_job, open_home, urls_in

from archive.household_keys import key_for


def member_of(web):
    home = open_home(web)
    try:
        return home.db.execute("SELECT name, id_number FROM members WHERE household_id=? AND seq=2",
                               (web.head_id,)).fetchone()
    finally:
        home.close()


def scan_rows(web):
    home = open_home(web)
    try:
        return {r["source_name"]: dict(r) for r in home.db.execute("SELECT * FROM scans")}
    finally:
        home.close()


def test_upload_page_reports_each_files_outcome(app, web, tmp_path):
    client = client_for(app, web, "archivist")
    page = client.get("/scans")
    assert page.status_code == 200 and 'id="dropzone"' in page.text and "/static/upload.js" in page.text
    member = member_of(web)
    good = text_pdf(tmp_path / "户口.pdf", ["常住人口登记卡", f"姓名 {member['name']}",
                                            f"公民身份号码 {member['id_number']}", "户主或与户主关系 子"]).read_bytes()
    unknown = text_pdf(tmp_path / "说明.pdf", ["一份说明", "没有身份证号，也没有村名"]).read_bytes()
    files = [("files", ("户口.pdf", good, "application/pdf")),
             ("files", ("说明.pdf", unknown, "application/pdf")),
             ("files", ("坏文件.pdf", b"%PDF-1.7 truncated", "application/pdf"))]
    response = client.post("/scans/upload", data={"csrftoken": csrf(client)}, files=files)
    assert response.status_code == 200, response.text  # the ingest job's page
    job_id = finished_job(response)
    assert "已完成" in client.get(f"/jobs/{job_id}").text
    text = client.get(f"/jobs/{job_id}/rows").text
    rows = re.findall(r'<tr class="outcome (\w+)">(.*?)</tr>', text, re.S)
    assert len(rows) == 3
    by_name = {re.search(r"<td>(.*?)</td>", row).group(1): (css, row) for css, row in rows}
    css, row = by_name["户口.pdf"]
    assert css == "ok" and "已归档" in row and f"{web.head_name}户" in row and "户口簿" in row
    home = open_home(web)
    try:
        key = key_for(home.db, web.head_id)
    finally:
        home.close()
    assert f"/households/{key}" in row
    css, row = by_name["说明.pdf"]
    assert css == "wait" and "待人工分拣" in row and 'href="/review"' in row
    css, row = by_name["坏文件.pdf"]
    assert css == "bad" and "已隔离" in row
    reason = re.findall(r"<td>(.*?)</td>", row, re.S)[-1].strip()
    assert reason and reason == scan_rows(web)["03-坏文件.pdf"]["reason"]  # why, as recorded
    for url in urls_in(text):
        assert not ID_NUMBER.search(url), url
    # the same file again: a duplicate, said so
    # as static/upload.js sends it: the file into a folder of the inbox, then the job started
    staged = client.post("/scans/upload", data={"csrftoken": csrf(client)},
                         files=[("files", ("户口-再次.pdf", good, "application/pdf"))],
                         headers={"X-Upload-Batch": "", "Accept": "application/json"})
    assert staged.status_code == 200 and staged.json()["saved"] == ["01-户口-再次.pdf"]
    batch = staged.json()["batch"]
    started = client.post("/scans/ingest", data={"csrftoken": csrf(client), "batch": batch},
                          headers={"Accept": "application/json"})
    assert started.status_code == 202
    job_id = started.json()["job"]
    from archive import jobs

    assert jobs.wait(job_id, 300)
    state = client.get(f"/jobs/{job_id}.json").json()
    assert state["state"] == "done" and state["detail"]["items"][0]["name"] == "01-户口-再次.pdf"
    assert state["detail"]["items"][0]["status_title"] == "重复"
    again = client.get(f"/jobs/{job_id}/rows")
    assert again.status_code == 200 and "<html" not in again.text
    assert 'class="outcome same"' in again.text and "重复" in again.text
    gone = client.post("/scans/ingest", data={"csrftoken": csrf(client), "batch": batch})
    assert gone.status_code == 400 and "已不在收件箱中" in gone.text  # the folder was emptied and removed


def test_review_queue_assigns_and_rejects(app, web, tmp_path):
    client = client_for(app, web, "archivist")
    first = text_pdf(tmp_path / "甲.pdf", ["一份材料", "无法识别归属 甲"]).read_bytes()
    second = text_pdf(tmp_path / "乙.pdf", ["另一份材料", "无法识别归属 乙"]).read_bytes()
    finished_job(client.post("/scans/upload", data={"csrftoken": csrf(client)},
                             files=[("files", ("甲.pdf", first, "application/pdf")),
                                    ("files", ("乙.pdf", second, "application/pdf"))]))
    page = client.get("/review").text
    scans = scan_rows(web)
    doc_a, doc_b = scans["01-甲.pdf"]["doc_id"], scans["02-乙.pdf"]["doc_id"]
    assert f'action="/review/{doc_a}/assign"' in page and f"/documents/{doc_a}/pages/1.png" in page
    # find the household by the last digits of an ID: choices by key, never an ID in an address
    pick = client.post("/review/pick", data={"q": web.head_id[-6:], "doc_id": doc_a, "csrftoken": csrf(client)},
                       headers={"HX-Request": "true"})
    assert pick.status_code == 200 and web.head_name in pick.text
    key = re.search(r'name="household_key" value="(h[A-Za-z0-9_-]{16})"', pick.text).group(1)
    assert not ID_NUMBER.search(pick.text)
    missing = client.post(f"/review/{doc_a}/assign", data={"csrftoken": csrf(client), "type": "lease"})
    assert missing.status_code == 400 and "请先选择" in missing.text
    done = client.post(f"/review/{doc_a}/assign", data={"csrftoken": csrf(client), "type": "lease",
                                                         "household_key": key}, follow_redirects=False)
    assert done.status_code == 303
    no_reason = client.post(f"/review/{doc_b}/reject", data={"csrftoken": csrf(client), "reason": ""})
    assert no_reason.status_code == 400 and "必须说明原因" in no_reason.text
    rejected = client.post(f"/review/{doc_b}/reject", data={"csrftoken": csrf(client), "reason": "不属于本乡镇"},
                           follow_redirects=False)
    assert rejected.status_code == 303
    home = open_home(web)
    try:
        a = home.db.execute("SELECT household_id, type FROM documents WHERE doc_id=?", (doc_a,)).fetchone()
        b = home.db.execute("SELECT status, void_reason FROM documents WHERE doc_id=?", (doc_b,)).fetchone()
        operators = {r[0] for r in home.db.execute(
            "SELECT operator FROM audit WHERE action IN ('review.assign','review.reject')")}
    finally:
        home.close()
    assert (a["household_id"], a["type"]) == (web.head_id, "lease")
    assert (b["status"], b["void_reason"]) == ("rejected", "不属于本乡镇")
    assert operators == {web.user("archivist")}
    page = client.get("/review").text
    assert doc_a not in page and doc_b not in page
    again = client.post(f"/review/{doc_a}/assign", data={"csrftoken": csrf(client), "household_key": key})
    assert again.status_code == 400 and "不在待分拣队列中" in again.text


def test_inspector_and_caseworker_are_refused_and_csrf_is_needed(app, web, tmp_path):
    before = scan_rows(web)
    pdf = text_pdf(tmp_path / "x.pdf", ["一份说明"]).read_bytes()
    for role in ("inspector", "caseworker"):
        client = client_for(app, web, role)
        assert client.get("/scans").status_code == 403
        assert client.get("/review").status_code == 403
        for path in ("/scans/upload", "/review/pick", "/review/Z109-0000001/assign", "/review/Z109-0000001/reject"):
            response = client.post(path, data={"csrftoken": csrf(client), "reason": "x", "q": "x"},
                                   files=[("files", ("x.pdf", pdf, "application/pdf"))])
            assert response.status_code == 403, (role, path)
    client = client_for(app, web, "archivist")
    response = client.post("/scans/upload", files=[("files", ("x.pdf", pdf, "application/pdf"))])
    assert response.status_code == 403
    response = client.post("/review/Z109-0000001/reject", data={"reason": "x"})
    assert response.status_code == 403
    assert scan_rows(web) == before


def test_a_qr_identified_original_held_for_review_is_preselected_and_stays_linked(app, web, tmp_path):
    """The signed copy of a notice (its QR code names the original) with a second page naming a
    stranger is held for review: the form preselects the QR code's household and the notice's
    type, and accepting it keeps the link to the original. A table's header row on the same
    page (户主姓名 家庭人口 …) is not taken for a name."""
    import pypdf

    home = open_home(web)
    try:
        notice = home.root / home.db.execute("SELECT pdf_path FROM documents WHERE doc_id=?",
                                             (web.doc_id,)).fetchone()[0]
        key = key_for(home.db, web.head_id)
    finally:
        home.close()
    extra = text_pdf(tmp_path / "附页.pdf", ["序号 户主姓名 家庭人口（人） 保障人数（人）", "姓名：欧阳不在"])
    writer = pypdf.PdfWriter()
    for source in (notice, extra):
        for page in pypdf.PdfReader(source).pages:
            writer.add_page(page)
    signed = tmp_path / "签收.pdf"
    writer.write(signed)
    client = client_for(app, web, "archivist")
    finished_job(client.post("/scans/upload", data={"csrftoken": csrf(client)},
                             files=[("files", ("签收.pdf", signed.read_bytes(), "application/pdf"))]))
    row = scan_rows(web)["01-签收.pdf"]
    assert row["status"] == "review"
    assert "欧阳不在" in row["reason"] and "家庭人口" not in row["reason"]
    page = client.get("/review").text
    section = page.split(f'id="r-{row["doc_id"]}"', 1)[1].split("</section>", 1)[0]
    assert re.search(rf'name="household_key" value="{key}" required checked', section)
    assert re.search(r'<option value="refusal" selected>', section)
    done = client.post(f"/review/{row['doc_id']}/assign", data={"csrftoken": csrf(client), "type": "refusal",
                                                                "household_key": key}, follow_redirects=False)
    assert done.status_code == 303
    home = open_home(web)
    try:
        doc = home.db.execute("SELECT household_id, type, source_doc FROM documents WHERE doc_id=?",
                              (row["doc_id"],)).fetchone()
        status = home.db.execute("SELECT status FROM scans WHERE doc_id=?", (row["doc_id"],)).fetchone()[0]
    finally:
        home.close()
    assert (doc["household_id"], doc["type"], doc["source_doc"], status) == (web.head_id, "refusal", web.doc_id, "linked")


@pytest.mark.slow
def test_uncertain_lines_are_shown_and_corrected_on_the_review_page(app, web, tmp_path):
    """A card whose name has a pen stroke across it (tests/test_ocr_review.py) is held: the
    review page shows its uncertain lines marked, each in a box to correct; the corrected text
    is what the catalog (and so the index) holds, the audit entry and the sidecar keep what
    OCR read."""
    import json

    from test_ocr_review import card

    client = client_for(app, web, "archivist")
    members = []
    home = open_home(web)
    try:
        members = [dict(row) for row in home.db.execute(
            "SELECT m.name, m.id_number, m.household_id FROM members m JOIN households h ON h.id = m.household_id "
            "WHERE length(m.name) = 3 ORDER BY m.household_id, m.seq LIMIT 4")]
        for member in members:
            member["key"] = key_for(home.db, member["household_id"])
    finally:
        home.close()
    files = [("files", (f"户口{i}.png", card(tmp_path / f"户口{i}.png", m["name"], m["id_number"], scribble=True)
                        .read_bytes(), "image/png")) for i, m in enumerate(members)]
    finished_job(client.post("/scans/upload", data={"csrftoken": csrf(client)}, files=files))
    page = client.get("/review").text
    fields = re.findall(r'name="(fix-(\d+)-(\d+))" value="([^"]*)"', page)
    assert fields, "no uncertain line offered for correction"
    assert "【" in page and "识别不确定的行" in page
    scans = scan_rows(web)
    # the scan whose form holds the first uncertain line: the form's action precedes its fields
    doc_id = re.findall(r'action="/review/([^/"]+)/assign"', page[:page.index(fields[0][0])])[-1]
    source = next(name for name, row in scans.items() if row["doc_id"] == doc_id)
    member = members[int(source.split("户口")[1][0])]
    field, _, _, misread = fields[0]
    corrected = f"姓名：{member['name']}" if "姓名" in misread else misread + "（已核对）"
    done = client.post(f"/review/{doc_id}/assign", data={
        "csrftoken": csrf(client), "type": "hukou", "household_key": member["key"],
        field: corrected}, follow_redirects=False)
    assert done.status_code == 303, done.text[:500]
    home = open_home(web)
    try:
        doc = home.db.execute("SELECT * FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        entry = home.db.execute("SELECT operator, detail FROM audit WHERE action='review.accept' AND target=?",
                                (doc_id,)).fetchone()
        sidecar = json.loads((home.root / doc["sidecar_path"]).read_text("utf-8"))
    finally:
        home.close()
    assert corrected in doc["body_text"] and misread not in doc["body_text"].split("\n")
    assert doc["household_id"] == member["household_id"]
    assert entry["operator"] == web.user("archivist")
    assert json.loads(entry["detail"])["corrections"][0] == {"page": 1, "line": int(fields[0][2]), "read": misread,
                                                            "corrected": corrected}
    assert sidecar["pages"][0]["corrections"][-1]["read"] == misread
