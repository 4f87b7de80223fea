"""The working pages in real headless Chromium: a caseworker fills a form (a problem shown beside
its field), previews the 样稿, issues it and prints a batch; an archivist uploads two scans
through the upload page's script and assigns one from the review queue; an inspector cannot
reach a write page. Screenshots as in test_web_browser (and $ARCHIVE_SCREENSHOTS)."""

from __future__ import annotations

import pytest
from scanfixtures import text_pdf
from test_web_browser import CHROMEDRIVER, CHROMIUM, _shot, browser, server  # noqa: F401 (fixtures)
from webfixtures import PASSWORD

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="需要 Debian 的 chromium 和 chromium-driver（scripts/test.sh 会安装）"),
]


def _login(driver, base, wait, name):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when

    driver.get(base + "/login")
    wait.until(when.presence_of_element_located((By.NAME, "username")))
    driver.find_element(By.NAME, "username").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(when.presence_of_element_located((By.CSS_SELECTOR, "header .who")))


def _no_csp_problems(driver, expected: str = "\x00"):
    """Nothing blocked by the CSP, no script error; `expected`: a refusal the test provoked."""
    problems = [entry["message"] for entry in driver.get_log("browser")
                if ("Content Security Policy" in entry["message"] or entry["level"] == "SEVERE")
                and expected not in entry["message"]]
    assert problems == []


def test_caseworker_previews_issues_and_prints_a_batch(server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import Select, WebDriverWait

    web, base = server
    shots = tmp_path / "screenshots"
    wait = WebDriverWait(browser, 60)
    _login(browser, base, wait, web.user("caseworker"))

    browser.find_element(By.LINK_TEXT, "家庭").click()
    box = wait.until(when.presence_of_element_located((By.NAME, "q")))
    wait.until(when.presence_of_element_located((By.CSS_SELECTOR, "table.list tbody tr")))
    box.send_keys(web.head_name)
    box.submit()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.list tbody tr")) == 1)
    browser.find_element(By.LINK_TEXT, web.head_name).click()
    wait.until(when.element_to_be_clickable((By.LINK_TEXT, "生成文书"))).click()
    wait.until(when.element_to_be_clickable((By.LINK_TEXT, "不予批准告知书"))).click()
    reason = wait.until(when.presence_of_element_located((By.ID, "f-reason")))
    browser.find_element(By.CSS_SELECTOR, "#docform button[type=submit]").click()
    error = wait.until(when.presence_of_element_located((By.ID, "err-reason")))
    assert error.text == "请填写不予批准的理由"
    _shot(browser, shots, "web-generate-form")
    reason = browser.find_element(By.ID, "f-reason")
    reason.send_keys("家庭人均收入高于当地最低生活保障标准")
    browser.find_element(By.CSS_SELECTOR, "#docform button[type=submit]").click()
    image = wait.until(when.presence_of_element_located((By.CSS_SELECTOR, ".preview .page img")))
    wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image))
    assert "样稿预览" in browser.find_element(By.CSS_SELECTOR, ".preview h2").text
    assert "/generate" in browser.current_url  # htmx swapped the preview in
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.CSS_SELECTOR, ".preview"))
    _shot(browser, shots, "web-generate-preview")
    browser.find_element(By.CSS_SELECTOR, "button.issue").click()
    notice = wait.until(when.presence_of_element_located((By.CSS_SELECTOR, "p.notice")))
    assert "已签发" in notice.text and "青岩民不批〔" in browser.find_element(By.TAG_NAME, "h1").text
    _shot(browser, shots, "web-issued")

    browser.find_element(By.LINK_TEXT, "批量生成").click()
    wait.until(when.element_to_be_clickable((By.LINK_TEXT, "家庭经济状况核对授权书"))).click()
    village = wait.until(when.presence_of_element_located((By.NAME, "village")))
    Select(village).select_by_index(1)
    Select(browser.find_element(By.NAME, "status")).select_by_value("active")
    browser.find_element(By.XPATH, "//button[contains(., '先看名单')]").click()
    summary = wait.until(when.presence_of_element_located((By.CSS_SELECTOR, "#batch-result p.summary")))
    assert "符合条件的家庭共" in summary.text
    _shot(browser, shots, "web-batch-confirm")
    browser.find_element(By.CSS_SELECTOR, "#batch-result button[name=confirm]").click()  # confirmed, then made
    link = wait.until(when.presence_of_element_located((By.PARTIAL_LINK_TEXT, "打开合并 PDF")))
    assert "户已生成" in browser.find_element(By.CSS_SELECTOR, "p.notice").text
    _shot(browser, shots, "web-batch")
    href = link.get_attribute("href")
    status = browser.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(function (r) { return r.arrayBuffer().then(function (b) {"
        " done([r.status, new TextDecoder().decode(new Uint8Array(b).slice(0, 5))]); }); });", href)
    assert status == [200, "%PDF-"]
    _no_csp_problems(browser, "/generate/preview - Failed to load resource: the server responded with a status of 400")


def test_archivist_uploads_two_scans_and_assigns_one(server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import Select, WebDriverWait

    web, base = server
    shots = tmp_path / "screenshots"
    wait = WebDriverWait(browser, 120)
    first = text_pdf(tmp_path / "材料甲.pdf", ["一份说明材料", "无法识别归属 甲"])
    second = text_pdf(tmp_path / "材料乙.pdf", ["另一份材料", "无法识别归属 乙"])
    _login(browser, base, wait, web.user("archivist"))
    browser.find_element(By.LINK_TEXT, "上传扫描件").click()
    files = wait.until(when.presence_of_element_located((By.ID, "files")))
    files.send_keys(f"{first}\n{second}")  # the page's script uploads each file on its own
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#outcomes tr.outcome.wait")) == 2)
    assert "待人工分拣" in browser.find_element(By.ID, "outcomes").text
    assert browser.current_url.endswith("/scans")  # no page load: the script did the uploads
    _shot(browser, shots, "web-upload")

    browser.find_element(By.LINK_TEXT, "待分拣").click()
    item = wait.until(when.presence_of_element_located((By.CSS_SELECTOR, ".review-item")))
    image = item.find_element(By.CSS_SELECTOR, ".scan-image img")
    wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image))
    item.find_element(By.NAME, "q").send_keys(web.head_id[-6:])
    choice = wait.until(lambda d: item.find_elements(By.CSS_SELECTOR, ".choices input[type=radio]"))
    assert web.head_name in item.find_element(By.CSS_SELECTOR, ".choices").text
    choice[0].click()
    Select(item.find_element(By.NAME, "type")).select_by_value("lease")
    _shot(browser, shots, "web-review")
    item.find_element(By.CSS_SELECTOR, "form.assign button[type=submit]").click()
    notice = wait.until(when.presence_of_element_located((By.CSS_SELECTOR, "p.notice")))
    assert "已归入" in notice.text
    assert len(browser.find_elements(By.CSS_SELECTOR, ".review-item")) == 1
    _no_csp_problems(browser)


def test_inspector_cannot_reach_a_write_page(server, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    web, base = server
    wait = WebDriverWait(browser, 20)
    _login(browser, base, wait, web.user("inspector"))
    nav = browser.find_element(By.CSS_SELECTOR, "header nav").text
    assert "批量生成" not in nav and "上传扫描件" not in nav and "导入花名册" not in nav
    for path in ("/generate", "/batch", "/scans", "/review", "/roster"):
        browser.get(base + path)
        assert "没有权限" in browser.find_element(By.TAG_NAME, "h1").text, path
