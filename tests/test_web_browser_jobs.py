"""Background jobs in real headless Chromium: an archivist starts month-end filing from the month
page, watches the job's page (polled by htmx) until it finishes, downloads the 归档文件目录 XLSX
and opens it; then runs 四性检测 and sees every check passed. Screenshots as in test_web_browser
(and $ARCHIVE_SCREENSHOTS)."""

from __future__ import annotations

import base64
import io

import pytest
from test_web_browser import CHROMEDRIVER, CHROMIUM, _shot, browser, server  # noqa: F401 (fixtures)
from test_web_browser_work import _login, _no_csp_problems

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="需要 Debian 的 chromium 和 chromium-driver（scripts/test.sh 会安装）"),
]

FETCH = ("var done = arguments[arguments.length - 1];"
         "fetch(arguments[0]).then(function (r) { return r.arrayBuffer().then(function (b) {"
         " var bytes = new Uint8Array(b), text = '';"
         " for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }"
         " done([r.status, r.headers.get('content-type'), btoa(text)]); }); });")


def _finished(driver, wait) -> str:
    """Wait until the job's page (polled by htmx) shows the job ended; its state."""
    # read in one script: htmx replaces the element every second, so a handle found in one call can
    # be gone (stale) by the next
    def state(d):
        return d.execute_script("var e = document.getElementById('job-progress');"
                                " return e ? e.getAttribute('data-state') : null;")

    wait.until(lambda d: state(d) not in (None, "running"))
    return state(driver)


def test_archivist_files_the_month_downloads_the_catalogue_and_verifies(server, browser, tmp_path):  # noqa: F811
    import openpyxl
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    web, base = server
    shots = tmp_path / "screenshots"
    wait = WebDriverWait(browser, 180)
    _login(browser, base, wait, web.user("archivist"))
    browser.find_element(By.LINK_TEXT, "本月").click()
    wait.until(when.presence_of_element_located((By.ID, "filing")))
    browser.get(base + "/month?month=2025-07")
    start = wait.until(when.element_to_be_clickable((By.XPATH, "//button[contains(., '开始2025年7月月末归档')]")))
    start.click()
    wait.until(when.presence_of_element_located((By.ID, "job-progress")))
    assert "/jobs/" in browser.current_url and "月末归档：2025年7月" in browser.find_element(By.TAG_NAME, "h1").text
    assert _finished(browser, wait) == "done"
    notice = browser.find_element(By.CSS_SELECTOR, "#job-progress p.notice")
    assert "月末归档完成" in notice.text
    assert browser.find_element(By.CSS_SELECTOR, "#job-progress progress").get_attribute("value") == "100"
    _shot(browser, shots, "web-job-filing")

    browser.find_element(By.PARTIAL_LINK_TEXT, "下载归档文件目录").click()
    link = wait.until(when.presence_of_element_located((By.LINK_TEXT, "归档文件目录（XLSX）")))
    assert "本月已归档" in browser.find_element(By.ID, "filing").text
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "filing"))
    _shot(browser, shots, "web-month-filed")
    status, kind, blob = browser.execute_async_script(FETCH, link.get_attribute("href"))
    assert status == 200 and "spreadsheetml" in kind
    sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(blob))).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert any("归档文件目录" in c for c in cells) and any(c.startswith("Z109-WS·2025-") for c in cells)

    browser.find_element(By.LINK_TEXT, "四性检测").click()
    wait.until(when.element_to_be_clickable((By.XPATH, "//button[contains(., '开始四性检测')]"))).click()
    wait.until(when.presence_of_element_located((By.ID, "job-progress")))
    assert _finished(browser, wait) == "done"
    assert "四性检测通过" in browser.find_element(By.CSS_SELECTOR, "#job-progress p.notice").text
    checks = browser.find_elements(By.CSS_SELECTOR, "table.checks tbody tr")
    assert len(checks) >= 10 and all(row.get_attribute("class") == "check ok" for row in checks)
    assert all(row.find_elements(By.TAG_NAME, "td")[2].text == "通过" for row in checks)
    _shot(browser, shots, "web-verify")
    status, kind, blob = browser.execute_async_script(FETCH, browser.find_element(
        By.PARTIAL_LINK_TEXT, "下载检测报告").get_attribute("href"))
    assert status == 200 and base64.b64decode(blob).startswith(b"%PDF-")

    browser.find_element(By.LINK_TEXT, "后台任务").click()
    rows = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.jobs tbody tr"))
    assert [row.find_element(By.CSS_SELECTOR, ".state").text for row in rows] == ["已完成", "已完成"]
    _no_csp_problems(browser)
