"""Background jobs in the browser (route tests): month-end filing started from the month page as
a job, then its 归档文件目录, 盒脊与备考表 and 完整性报告 downloaded as PDF and XLSX and the month's
花名册 XLSX; filing a closed month refused before anything runs, reopening with a reason; a
scan arriving in a closed month said so; 四性检测 as a job with its report; a second start refused
naming who and when; an interrupted job shown as such; reindex for administrators; CSRF."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading

import openpyxl
import pypdf
from scanfixtures import text_pdf
from webfixtures import NOTICE_DATE, client_for, csrf, finished_job, open_home

from archive import jobs
from archive.catalog import transaction
from archive.documents.generate import Generator
from archive.identity import acting_as

JULY = dt.date(2025, 7, 1)


def _month_page(client, month: str = "2025-07") -> str:
    page = client.get(f"/month?month={month}")
    assert page.status_code == 200, page.text
    return page.text


def _links(html: str) -> dict[str, str]:
    """Download links by their text (a month's sheet without its 「2025年7月」)."""
    return {re.sub(r"^\d{4}年\d{1,2}月", "", text): href
            for href, text in re.findall(r'<a href="([^"]+)" download>([^<]+)</a>', html)}


def test_month_end_filing_runs_as_a_job_and_its_files_download(app, web):
    home = open_home(web)
    try:
        with acting_as("setup"):
            Generator(home).month_sheets(JULY)  # the month's 花名册 and 统计表 (XLSX)
    finally:
        home.close()
    client = client_for(app, web, "archivist")
    page = _month_page(client)
    assert "开始2025年7月月末归档" in page and 'action="/month/file"' in page
    assert "社会救助对象花名册（XLSX）" in page  # downloadable before the month is filed
    started = client.post("/month/file", data={"csrftoken": csrf(client), "month": "2025-07"})
    assert started.status_code == 200 and "月末归档：2025年7月" in started.text
    assert 'hx-trigger="every 1s"' in started.text or "已完成" in started.text  # polled while running
    job_id = finished_job(started)
    progress = client.get(f"/jobs/{job_id}/progress")
    assert progress.status_code == 200 and "hx-trigger" not in progress.text  # done: polling stops
    assert "已完成" in progress.text and "月末归档完成" in progress.text and "<progress" in progress.text
    state = client.get(f"/jobs/{job_id}.json").json()
    assert state["state"] == "done" and state["operator"] == web.user("archivist") and state["percent"] == 100
    home = open_home(web)
    try:
        row = home.db.execute("SELECT operator FROM audit WHERE action='filing.month'").fetchone()
    finally:
        home.close()
    assert row["operator"] == web.user("archivist")

    page = _month_page(client)
    links = _links(page)
    for title in ("归档文件目录（PDF）", "归档文件目录（XLSX）", "盒脊与备考表（PDF）", "盒脊与备考表（XLSX）",
                  "归档完整性报告（PDF）", "归档完整性报告（XLSX）", "社会救助对象花名册（XLSX）", "社会救助人数资金统计表（XLSX）"):
        assert title in links, (title, links)
    catalogue = client.get(links["归档文件目录（XLSX）"])
    assert catalogue.status_code == 200 and "spreadsheetml" in catalogue.headers["content-type"]
    sheet = openpyxl.load_workbook(io.BytesIO(catalogue.content)).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert any("归档文件目录" in c for c in cells) and any(c.startswith("Z109-WS·2025-") for c in cells)
    pdf = client.get(links["归档文件目录（PDF）"])
    assert pdf.content.startswith(b"%PDF-") and "归档文件目录" in pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    boxes = openpyxl.load_workbook(io.BytesIO(client.get(links["盒脊与备考表（XLSX）"]).content)).active
    rows = [row for row in boxes.iter_rows(values_only=True)]
    assert rows[1][:3] == ("全宗号", "年度", "保管期限") and rows[2][0] == "Z109" and "本盒共" in rows[2][7]
    roster = openpyxl.load_workbook(io.BytesIO(client.get(links["社会救助对象花名册（XLSX）"]).content))
    assert roster.active.max_row > 3
    assert client.get("/month/2025-07/files/..%2Fcatalog.sqlite").status_code == 404
    assert client.get("/month/2025-07/files/归档文件目录-2025-06.pdf").status_code == 404
    # the inspector reads and downloads, and cannot file
    inspector = client_for(app, web, "inspector")
    assert inspector.get(links["归档文件目录（XLSX）"]).status_code == 200
    assert "开始" not in _month_page(inspector).split('id="filing"')[1].split("</section>")[0]

    # filing again: said before anything runs, nothing started
    before = len(jobs.list_jobs(open_home(web)))
    again = client.post("/month/file", data={"csrftoken": csrf(client), "month": "2025-07"})
    assert again.status_code == 400 and "已归档，没有需要归档的新文书" in again.text
    assert len(jobs.list_jobs(open_home(web))) == before


def test_a_closed_month_warns_before_filing_and_is_reopened_with_a_reason(app, web, tmp_path):
    client = client_for(app, web, "archivist")
    if "本月已归档" not in _month_page(client):
        finished_job(client.post("/month/file", data={"csrftoken": csrf(client), "month": "2025-07"}))
    # a signed scan of the household's papers, dated in the closed month, is uploaded
    home = open_home(web)
    try:
        member = home.db.execute("SELECT name, id_number FROM members WHERE household_id=? AND seq=2",
                                 (web.head_id,)).fetchone()
    finally:
        home.close()
    scan = text_pdf(tmp_path / "户口.pdf", ["常住人口登记卡", f"姓名 {member['name']}", f"公民身份号码 {member['id_number']}",
                                          "户主或与户主关系 子", "登记日期 2025年7月20日"]).read_bytes()
    job_id = finished_job(client.post("/scans/upload", data={"csrftoken": csrf(client)},
                                      files=[("files", ("户口.pdf", scan, "application/pdf"))]))
    rows = client.get(f"/jobs/{job_id}/rows").text
    assert "已归档" in rows and "该月已归档" in rows and "重新打开该月" in rows  # said now, not first by verify

    page = _month_page(client)
    assert "之后又有 1 份文书" in page and 'action="/month/reopen"' in page and 'action="/month/file"' not in page
    refused = client.post("/month/file", data={"csrftoken": csrf(client), "month": "2025-07"})
    assert refused.status_code == 400 and "重新打开本月" in refused.text
    no_reason = client.post("/month/reopen", data={"csrftoken": csrf(client), "month": "2025-07", "reason": " "})
    assert no_reason.status_code == 400 and "必须说明原因" in no_reason.text
    reopened = client.post("/month/reopen", data={"csrftoken": csrf(client), "month": "2025-07",
                                                   "reason": "补归档迟到的户口簿"}, follow_redirects=False)
    assert reopened.status_code == 303
    assert "补充归档并关闭本月" in _month_page(client)
    job_id = finished_job(client.post("/month/file", data={"csrftoken": csrf(client), "month": "2025-07"}))
    done = client.get(f"/jobs/{job_id}").text
    assert "月末归档完成：1 件编号归档" in done
    assert "本月已归档，没有需要归档的新文书" in _month_page(client)


def test_verify_runs_as_a_job_and_lists_each_check_with_its_report(app, web):
    client = client_for(app, web, "archivist")
    page = client.get("/verify")
    assert page.status_code == 200 and "开始四性检测" in page.text
    job_id = finished_job(client.post("/verify", data={"csrftoken": csrf(client)}))
    done = client.get(f"/jobs/{job_id}").text
    assert "四性检测通过" in done, done
    results = re.findall(r'<tr class="check (\w+)"><td>(.+?)</td><td>(.+?)</td><td>(.+?)</td></tr>', done)
    assert len(results) >= 10 and all(css == "ok" and result == "通过" for css, _, _, result in results)
    assert {category for _, category, _, _ in results} >= {"真实性", "完整性", "安全性"}
    report = client.get(f"/jobs/{job_id}/report.pdf")
    assert report.status_code == 200 and report.content.startswith(b"%PDF-")
    assert "检测通过" in pypdf.PdfReader(io.BytesIO(report.content)).pages[0].extract_text()
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/jobs/{job_id}/report.xlsx").content)).active
    assert [c for c in next(sheet.iter_rows(min_row=2, max_row=2, values_only=True))] == ["类别", "检测项目", "结果", "说明"]
    assert "上次检测" in client.get("/verify").text
    assert client.get(f"/jobs/{job_id}/report.doc").status_code == 404


def test_a_second_start_is_refused_naming_who_started_the_running_job(app, web):
    release = threading.Event()
    home = open_home(web)
    try:
        with acting_as("王敏"):
            running = jobs.start(home, "verify", "四性检测", lambda home, progress: {"ok": release.wait(60)})
    finally:
        home.close()
    try:
        client = client_for(app, web, "archivist")
        refused = client.post("/verify", data={"csrftoken": csrf(client)})
        assert refused.status_code == 409
        assert "「四性检测」正在进行" in refused.text and "王敏" in refused.text and f"/jobs/{running.id}" in refused.text
        as_json = client.post("/verify", data={"csrftoken": csrf(client)}, headers={"Accept": "application/json"})
        assert as_json.status_code == 409 and as_json.json()["job"] == running.id and "王敏" in as_json.json()["error"]
        page = client.get("/verify").text
        assert "四性检测正在进行" in page and "开始四性检测" not in page
        polled = client.get(f"/jobs/{running.id}/progress").text
        assert 'hx-trigger="every 1s"' in polled and "进行中" in polled
    finally:
        release.set()
    assert jobs.wait(running.id, 60)


def test_an_interrupted_job_is_shown_as_such(app, web):
    home = open_home(web)
    try:
        with transaction(home.db):
            cursor = home.db.execute(
                "INSERT INTO jobs(kind, title, operator, state, owner, done, total) VALUES "
                "('file-month', '月末归档：2025年6月', '王敏', 'running', ?, 2, 9)", (f"{jobs._HOST}:999999999:gone",))
            job_id = cursor.lastrowid
    finally:
        home.close()
    client = client_for(app, web, "caseworker")
    listing = client.get("/jobs").text
    assert re.search(rf'<tr class="job interrupted"><td><a href="/jobs/{job_id}">月末归档：2025年6月</a>', listing)
    page = client.get(f"/jobs/{job_id}").text
    assert "已中断" in page and "服务器在任务进行中停止" in page and "hx-trigger" not in page
    assert client.get("/jobs/123456789").status_code == 404


def test_reindex_for_administrators_only_and_csrf_on_every_start(app, web):
    admin = client_for(app, web, "admin")
    assert 'action="/admin/reindex"' in admin.get("/jobs").text
    unconfirmed = admin.post("/admin/reindex", data={"csrftoken": csrf(admin)})
    assert unconfirmed.status_code == 400
    job_id = finished_job(admin.post("/admin/reindex", data={"csrftoken": csrf(admin), "confirm": "1"}))
    assert "全文索引已重建" in admin.get(f"/jobs/{job_id}").text
    archivist = client_for(app, web, "archivist")
    assert 'action="/admin/reindex"' not in archivist.get("/jobs").text
    assert archivist.post("/admin/reindex", data={"csrftoken": csrf(archivist), "confirm": "1"}).status_code == 403
    count = len(jobs.list_jobs(open_home(web), limit=1000))
    for client, path, data in ((admin, "/admin/reindex", {"confirm": "1"}), (archivist, "/verify", {}),
                               (archivist, "/month/file", {"month": "2025-08"}), (archivist, "/scans/ingest", {"batch": "x"}),
                               (archivist, "/month/reopen", {"month": "2025-07", "reason": "x"})):
        response = client.post(path, data=data)  # no CSRF token
        assert response.status_code == 403 and "防伪令牌" in response.text, path
    assert len(jobs.list_jobs(open_home(web), limit=1000)) == count


def test_notice_date_is_in_the_filed_month():
    assert NOTICE_DATE.strftime("%Y-%m") == "2025-07"  # the tests above file the fixture's notice


def test_an_upload_while_an_ingest_runs_is_kept_and_said_so(app, web, tmp_path):
    release = threading.Event()
    home = open_home(web)
    try:
        with acting_as("王敏"):
            running = jobs.start(home, "ingest", "导入扫描件", lambda home, progress: {"held": release.wait(60)})
    finally:
        home.close()
    try:
        client = client_for(app, web, "archivist")
        pdf = text_pdf(tmp_path / "稍后.pdf", ["一份说明材料", "稍后导入"]).read_bytes()
        refused = client.post("/scans/upload", data={"csrftoken": csrf(client)},
                              files=[("files", ("稍后.pdf", pdf, "application/pdf"))])
        assert refused.status_code == 409 and "「导入扫描件」正在进行" in refused.text and "不会丢失" in refused.text
        home = open_home(web)
        try:
            kept = list((home.inbox_dir / "网页上传").rglob("*稍后.pdf"))
        finally:
            home.close()
        assert len(kept) == 1 and kept[0].read_bytes() == pdf  # nothing lost: waiting in the inbox
    finally:
        release.set()
    assert jobs.wait(running.id, 60)
