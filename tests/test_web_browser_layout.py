"""The layout in real headless Chromium at an office PC's 1366x768 and a phone's 390 px: no page
is wider than the window (wide tables scroll inside themselves), the header's links are all
inside the header, and a form's fields fit. Screenshots of both sizes as in test_web_browser."""

from __future__ import annotations

import pytest
from test_web_browser import CHROMEDRIVER, CHROMIUM, _shot, browser, server  # noqa: F401 (fixtures)
from test_web_browser_work import _login

from archive.household_keys import key_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="需要 Debian 的 chromium 和 chromium-driver（scripts/test.sh 会安装）"),
]

SIZES = ((1366, 768), (390, 844))


def _fits(driver) -> dict:
    return driver.execute_script("""
        var bar = document.querySelector('header.bar');
        var links = Array.from(bar.querySelectorAll('a, button'));
        var box = bar.getBoundingClientRect();
        return {page: document.documentElement.scrollWidth, window: document.documentElement.clientWidth,
                outside: links.filter(function (a) { var r = a.getBoundingClientRect();
                    return r.right > box.right + 1 || r.bottom > box.bottom + 1 || r.left < box.left - 1; })
                    .map(function (a) { return a.textContent.trim(); })};""")


def test_main_pages_fit_an_office_screen_and_a_phone(server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.support.ui import WebDriverWait

    web, base = server
    from webfixtures import open_home

    home = open_home(web)
    try:
        key = key_for(home.db, web.head_id)
    finally:
        home.close()
    pages = {"households": "/households", "household": f"/households/{key}", "search": "/search",
             "generate": f"/generate?household={key}&type=refusal", "batch": "/batch?type=confirmation",
             "month": "/month?month=2025-07", "review": "/review", "users": "/admin/users",
             "settings": "/admin/settings", "signers": "/admin/signers", "document": f"/documents/{web.doc_id}"}
    shots = tmp_path / "screenshots"
    _login(browser, base, WebDriverWait(browser, 30), web.user("admin"))
    problems = []
    for width, height in SIZES:
        if width < 500:  # a phone: the width the page sees, as a phone reports it
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
        for name, path in pages.items():
            browser.get(base + path)
            WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
            fits = _fits(browser)
            assert width - 20 <= fits["window"] <= width, fits  # less a scroll bar
            if fits["page"] > fits["window"] or fits["outside"]:
                problems.append((width, name, fits))
            if name in ("household", "generate", "month", "users"):
                _shot(browser, shots, f"web-{name}-{width}")
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert problems == []
