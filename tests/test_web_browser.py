"""The web application in real headless Chromium (Debian's chromium and chromium-driver, driven
by selenium): an inspector logs in, searches a name, opens the household and a document.
Screenshots go into the test's folder, and also into $ARCHIVE_SCREENSHOTS when it is set."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from webfixtures import PASSWORD, make_web_home

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="需要 Debian 的 chromium 和 chromium-driver（scripts/test.sh 会安装）"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    import uvicorn

    from archive.web import create_app

    web = make_web_home(tmp_path)
    port = _free_port()
    config = uvicorn.Config(create_app(web.root), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield web, f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1366,768", "--lang=zh-CN"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _shot(driver, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    driver.save_screenshot(str(target))
    extra = os.environ.get("ARCHIVE_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(target, Path(extra) / target.name)


def test_inspector_searches_a_name_and_opens_the_household(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as when
    from selenium.webdriver.support.ui import WebDriverWait

    web, base = server
    shots = tmp_path / "screenshots"
    wait = WebDriverWait(browser, 20)

    browser.get(base + "/")
    wait.until(when.presence_of_element_located((By.NAME, "username")))
    assert "登录" in browser.title
    _shot(browser, shots, "web-login")
    browser.find_element(By.NAME, "username").send_keys(web.user("inspector"))
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    box = wait.until(when.presence_of_element_located((By.NAME, "q")))
    assert "检索" in browser.title and "督查" in browser.page_source
    box.send_keys(web.head_name)
    browser.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click()
    link = wait.until(when.element_to_be_clickable((By.CSS_SELECTOR, "#results .group h2 a")))
    assert browser.current_url == base + "/search"  # htmx swapped the results in: no query in the address
    assert browser.find_elements(By.CSS_SELECTOR, "#results mark"), "the matched name is highlighted"
    assert "位置：" in browser.find_element(By.ID, "results").text
    _shot(browser, shots, "web-search")

    link.click()
    wait.until(when.presence_of_element_located((By.CSS_SELECTOR, "ul.docs img")))
    assert "/households/" in browser.current_url and web.head_id not in browser.current_url
    assert web.head_name in browser.find_element(By.TAG_NAME, "h1").text
    thumb = browser.find_element(By.CSS_SELECTOR, "ul.docs img")
    wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", thumb))
    _shot(browser, shots, "web-household")

    browser.find_element(By.CSS_SELECTOR, "ul.docs a").click()
    wait.until(when.presence_of_element_located((By.CSS_SELECTOR, ".page img")))
    browser.find_element(By.LINK_TEXT, "下一页").click()
    wait.until(when.text_to_be_present_in_element((By.CSS_SELECTOR, ".pager"), "第 2 页"))
    image = browser.find_element(By.CSS_SELECTOR, ".page img")
    wait.until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image))
    _shot(browser, shots, "web-document")

    browser.find_element(By.LINK_TEXT, "家庭").click()
    wait.until(when.presence_of_element_located((By.CSS_SELECTOR, "table.list tbody tr")))
    box = browser.find_element(By.NAME, "q")
    box.send_keys(web.head_id[-4:])
    box.submit()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.list tbody tr")) == 1)
    assert web.head_name in browser.find_element(By.ID, "rows").text
    _shot(browser, shots, "web-households")

    # two households ticked in the whole list, exported as one PDF (fetched by the page's own form)
    browser.get(base + "/households")
    boxes = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=household_key]"))
    assert len(boxes) >= 2
    head = browser.find_element(By.XPATH, f"//tr[td/a[text()='{web.head_name}']]//input[@name='household_key']")
    head.click()  # the household with documents, and another
    next(box for box in boxes if box.get_attribute("value") != head.get_attribute("value")).click()
    exported = browser.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "var form = document.getElementById('export-form');"
        "fetch(form.action, {method: 'POST', body: new FormData(form)}).then(function (r) {"
        " return r.arrayBuffer().then(function (b) { done([r.status, r.headers.get('content-type'),"
        " new TextDecoder().decode(new Uint8Array(b).slice(0, 5)), b.byteLength,"
        " new TextDecoder().decode(new Uint8Array(b)).replace(/<[^>]*>/g, '').slice(0, 400)]); }); });")
    assert exported[:3] == [200, "application/pdf", "%PDF-"] and exported[3] > 10_000, exported[:4] + [exported[4] if exported[0] != 200 else ""]

    # nothing was blocked by the Content-Security-Policy (htmx runs without inline scripts)
    problems = [entry["message"] for entry in browser.get_log("browser")
                if "Content Security Policy" in entry["message"] or entry["level"] == "SEVERE"]
    assert problems == []
