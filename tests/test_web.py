"""Route tests of the web application (Starlette's TestClient): authentication, the role table
on every route, CSRF, headers, no ID number in any address, and the pages and API working on
a real archive home."""

from __future__ import annotations

import json
import time

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from webfixtures import (
    ID_NUMBER,
    PASSWORD,
    ROLES,
    csrf,
    login,
    make_web_home,
    open_home,
    urls_in,
)

from archive.household_keys import key_for
from archive.users import LoginThrottle, disable_user, new_token
from archive.web import create_app
from archive.web.auth import WebSettings
from archive.web.roles import ROUTE_ROLES
from archive.web.server import plain_http_warning


@pytest.fixture(scope="module")
def household_key(web):
    home = open_home(web)
    try:
        return key_for(home.db, web.head_id)
    finally:
        home.close()


def client_for(app, web, role: str | None) -> TestClient:
    client = TestClient(app)
    if role:
        response = login(client, web.user(role))
        assert response.status_code == 303, response.text
    return client


def route_requests(web, key: str) -> dict[str, tuple[str, str, dict]]:
    """One request per named route: (method, path, keyword arguments for the client)."""
    return {
        "home": ("GET", "/", {}),
        "search": ("POST", "/search", {"data": {"q": web.head_name}}),
        "households": ("POST", "/households", {"data": {"q": web.head_name}}),
        "household": ("GET", f"/households/{key}", {}),
        "document": ("GET", f"/documents/{web.doc_id}", {}),
        "document.page": ("GET", f"/documents/{web.doc_id}/pages/1.png?size=thumb", {}),
        "document.pdf": ("GET", f"/documents/{web.doc_id}/pdf", {}),
        "generate": ("GET", f"/generate?household={key}", {}),
        "generate.preview": ("POST", "/generate/preview", {"data": {"household_key": key}}),
        "generate.preview.page": ("GET", f"/generate/previews/{'0' * 32}/1.png", {}),
        "generate.preview.pdf": ("GET", f"/generate/previews/{'0' * 32}.pdf", {}),
        "generate.issue": ("POST", "/generate/issue", {"data": {"household_key": key}}),
        "document.reprint": ("POST", "/documents/Z109-9999999/reprint", {"data": {}}),
        "document.void": ("POST", f"/documents/{web.doc_id}/void", {"data": {"reason": ""}}),
        "roster": ("GET", "/roster", {}),
        "roster.import": ("POST", "/roster/import", {"data": {}}),
        "scans": ("GET", "/scans", {}),
        "scans.upload": ("POST", "/scans/upload", {"data": {}}),
        "review": ("GET", "/review", {}),
        "review.pick": ("POST", "/review/pick", {"data": {"q": ""}}),
        "review.assign": ("POST", "/review/Z109-9999999/assign", {"data": {}}),
        "review.reject": ("POST", "/review/Z109-9999999/reject", {"data": {"reason": ""}}),
        "batch": ("GET", "/batch?type=confirmation", {}),
        "batch.list": ("POST", "/batch/list", {"data": {"type": "confirmation", "village": "不存在村"}}),
        "batch.run": ("POST", "/batch/run", {"data": {"type": "confirmation", "village": "不存在村"}}),
        "batch.pdf": ("GET", "/batches/none.pdf", {}),
        "month": ("GET", "/month?month=2025-07", {}),
        "shelves": ("GET", "/shelves", {}),
        "shelves.box": ("GET", "/shelves/boxes/999999", {}),
        "admin.users": ("GET", "/admin/users", {}),
        "admin.users.add": ("POST", "/admin/users", {"data": {"name": "", "role": "inspector"}}),
        "admin.users.role": ("POST", "/admin/users/nobody/role", {"data": {"role": "inspector"}}),
        "admin.users.password": ("POST", "/admin/users/nobody/password", {"data": {"password": "x"}}),
        "admin.users.disable": ("POST", "/admin/users/nobody/disable", {"data": {}}),
        "jobs": ("GET", "/jobs", {}),
        "job": ("GET", "/jobs/999999", {}),
        "job.progress": ("GET", "/jobs/999999/progress", {}),
        "job.json": ("GET", "/jobs/999999.json", {}),
        "job.rows": ("GET", "/jobs/999999/rows", {}),
        "job.report": ("GET", "/jobs/999999/report.pdf", {}),
        "scans.ingest": ("POST", "/scans/ingest", {"data": {"batch": "../nothing"}}),
        "month.file": ("POST", "/month/file", {"data": {"month": "2025-13"}}),
        "month.reopen": ("POST", "/month/reopen", {"data": {"month": "2025-07", "reason": ""}}),
        "month.download": ("GET", "/month/2025-07/files/none.pdf", {}),
        "document.xlsx": ("GET", f"/documents/{web.doc_id}/xlsx", {}),
        "verify": ("GET", "/verify", {}),
        "verify.start": ("POST", "/verify", {"data": {"confirm": "0"}}),
        "admin.reindex": ("POST", "/admin/reindex", {"data": {"confirm": "0"}}),
        "admin.settings": ("GET", "/admin/settings", {}),
        "admin.settings.save": ("POST", "/admin/settings", {"data": {"township": ""}}),
        "admin.signers": ("GET", "/admin/signers", {}),
        "admin.signers.add": ("POST", "/admin/signers", {"data": {"name": ""}}),
        "admin.seal": ("POST", "/admin/seal", {"data": {}}),
        "export": ("POST", "/export", {"data": {"household_key": key}}),
        "sample": ("GET", "/sample?year=2025", {}),
        "sample.pdf": ("POST", "/sample/pdf", {"data": {"year": "2025"}}),
        "api.me": ("GET", "/api/me", {}),
        "api.search": ("GET", f"/api/search?q={web.head_name}", {}),
        "api.household": ("GET", f"/api/households/{key}", {}),
        "api.documents.create": ("POST", "/api/documents", {"json": {"type": "nonexistent"}}),
        "api.documents.pdf": ("GET", f"/api/documents/{web.doc_id}/pdf", {}),
        "api.scans.upload": ("POST", "/api/scans", {"files": []}),
    }


def send(client: TestClient, method: str, path: str, kwargs: dict):
    kwargs = dict(kwargs)
    if method == "POST":
        if "data" in kwargs:
            kwargs["data"] = dict(kwargs["data"], csrftoken=csrf(client))
        else:
            kwargs["headers"] = {"X-CSRFToken": csrf(client)}
        if "files" in kwargs and not kwargs["files"]:
            kwargs["files"] = {"other": ("x.txt", b"x", "text/plain")}
    return client.request(method, path, follow_redirects=False, **kwargs)


# --- the role table --------------------------------------------------------------------------

def test_every_route_is_in_the_role_table_and_inspectors_never_write(app):
    named = set()
    for route in app.routes:
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        if route.name in ("login", "logout"):
            continue
        assert route.name in ROUTE_ROLES, f"{route.path} has no line in the role table"
        named.add(route.name)
        # reads that POST to keep an ID number or a list of households out of the address
        if route.methods - {"GET", "HEAD"} and route.name not in ("search", "households", "export", "sample.pdf"):
            assert ROUTE_ROLES[route.name].write, f"{route.name} changes something but is not marked write"
    assert named == set(ROUTE_ROLES)
    writes = [name for name, rule in ROUTE_ROLES.items() if rule.write]
    assert writes and all("inspector" not in ROUTE_ROLES[name].roles for name in writes)


def test_a_route_missing_from_the_role_table_cannot_be_built():
    from archive.web.routing import guarded

    with pytest.raises(KeyError):
        guarded("admin.secret", "/admin/secret")(lambda ctx: None)


def test_a_user_without_a_password_hash_cannot_log_in(tmp_path):
    from archive.users import _DUMMY_HASH, AuthError, authenticate

    web = make_web_home(tmp_path)
    home = open_home(web)
    try:
        home.db.execute("UPDATE users SET password_hash=NULL WHERE name=?", (web.user("admin"),))
        with pytest.raises(AuthError):
            authenticate(home, web.user("admin"), "no such user: constant-time answer")
        assert _DUMMY_HASH  # the dummy hash's password is no way in
        row = home.db.execute("SELECT operator, target FROM audit WHERE action='login.failed'").fetchone()
        assert row["operator"] == "未登录用户" and row["target"] == web.user("admin")
    finally:
        home.close()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_its_routes_and_403_on_the_others(app, web, household_key, role):
    client = client_for(app, web, role)
    for name, (method, path, kwargs) in route_requests(web, household_key).items():
        response = send(client, method, path, kwargs)
        if role in ROUTE_ROLES[name].roles:
            assert response.status_code not in (401, 403), (role, name, response.status_code, response.text[:200])
        else:
            assert response.status_code == 403, (role, name, response.status_code)
            assert "没有权限" in response.text


def test_inspector_gets_403_on_every_write_route(app, web, household_key):
    client = client_for(app, web, "inspector")
    requests = route_requests(web, household_key)
    writes = [name for name, rule in ROUTE_ROLES.items() if rule.write]
    for name in writes:
        response = send(client, *requests[name])
        assert response.status_code == 403, name
    home = open_home(web)
    try:
        count = home.db.execute("SELECT count(*) FROM documents").fetchone()[0]
    finally:
        home.close()
    response = send(client, "POST", "/api/documents",
                    {"json": {"type": "refusal", "household": web.head_id, "fields": {"reason": "试"}}})
    assert response.status_code == 403
    home = open_home(web)
    try:
        assert home.db.execute("SELECT count(*) FROM documents").fetchone()[0] == count
    finally:
        home.close()


def test_without_credentials_api_is_401_and_pages_go_to_login(app, web, household_key):
    for name, (method, path, kwargs) in route_requests(web, household_key).items():
        client = TestClient(app)  # no cookies at all: a script without credentials
        response = client.request(method, path, follow_redirects=False,
                                  **{k: v for k, v in kwargs.items() if k != "files"})
        if path.startswith("/api/"):
            assert response.status_code == 401, name
            assert "需要登录" in response.json()["error"]
            assert response.headers["www-authenticate"].startswith("Bearer")
        elif method == "GET":
            assert response.status_code == 303 and response.headers["location"] == "/login", name
        else:
            assert response.status_code in (401, 403), name


# --- login, sessions, tokens ---------------------------------------------------------------

def test_wrong_password_is_refused_in_chinese_and_slowed_down(web):
    app = create_app(web.root)  # its own throttle
    client = TestClient(app)
    responses = [login(client, web.user("archivist"), "wrong-password") for _ in range(4)]
    assert [r.status_code for r in responses] == [401, 401, 401, 429]
    assert "用户名或密码不对" in responses[0].text
    assert "登录失败次数过多" in responses[3].text
    # the right password is refused too while the wait runs (per user name and address)
    assert login(client, web.user("archivist")).status_code == 429
    home = open_home(web)
    try:
        failed = home.db.execute("SELECT count(*) FROM audit WHERE action='login.failed'").fetchone()[0]
    finally:
        home.close()
    assert failed >= 3


def test_login_throttle_waits_grow_and_success_clears_the_user():
    now = [1000.0]
    throttle = LoginThrottle(free=3, ceiling=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait_seconds("user:a", "ip:1") == 0
        throttle.failed("user:a", "ip:1")
    assert throttle.wait_seconds("user:a", "ip:1") == 1.0
    throttle.failed("user:a", "ip:1")
    assert throttle.wait_seconds("user:b", "ip:1") == 2.0  # the address is slowed for every name
    now[0] += 2.0
    assert throttle.wait_seconds("user:a", "ip:2") == 0
    for _ in range(20):
        throttle.failed("user:a")
    assert throttle.wait_seconds("user:a") == 60  # capped
    throttle.succeeded("user:a")
    assert throttle.wait_seconds("user:a") == 0


def test_session_expires_after_idle_time(web, monkeypatch):
    app = create_app(web.root, WebSettings(root=web.root, idle_seconds=60))
    client = client_for(app, web, "inspector")
    assert client.get("/api/me").status_code == 200
    later = time.time() + 120
    monkeypatch.setattr("archive.web.auth.time.time", lambda: later)
    assert client.get("/api/me").status_code == 401
    assert client.get("/search", follow_redirects=False).headers["location"] == "/login"
    assert "<form" in client.get("/login").text  # the expired session is gone: no redirect loop


def test_htmx_request_without_session_gets_a_fragment_with_a_login_link(app, web):
    client = client_for(app, web, "inspector")
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"  # logged in already
    client.post("/logout", data={"csrftoken": csrf(client)})
    response = client.post("/search", data={"q": web.head_name, "csrftoken": csrf(client)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "<html" not in response.text and 'href="/login"' in response.text and "登录已过期" in response.text


def test_logout_needs_csrf_and_ends_the_session(app, web):
    client = client_for(app, web, "inspector")
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/api/me").status_code == 200
    response = client.post("/logout", data={"csrftoken": csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/api/me").status_code == 401


def test_bearer_token_works_without_csrf_and_stops_when_disabled(tmp_path):
    web = make_web_home(tmp_path)
    app = create_app(web.root)
    home = open_home(web)
    try:
        token = new_token(home, web.user("caseworker"))
        stored = home.db.execute("SELECT token_sha256 FROM api_tokens").fetchall()
        assert token not in json.dumps([tuple(r) for r in stored])  # only the digest is kept
    finally:
        home.close()
    client = TestClient(app)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=bearer).json()["name"] == web.user("caseworker")
    assert client.get("/api/me", headers={"Authorization": "Bearer arc_wrong"}).status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Basic abc"}).status_code == 401
    response = client.post("/api/documents", headers=bearer, json={
        "type": "不予批准告知书", "household": web.head_id, "date": "2025-07-09",
        "fields": {"reason": "家庭财产超过规定", "apply_date": "2025-06-21"}})
    assert response.status_code == 201, response.text
    record = response.json()
    assert set(record) == {"doc_id", "type", "number", "household", "pdf", "docx", "xlsx", "pages",
                           "reprinted", "signed_by", "signature"}
    assert record["type"] == "refusal" and record["number"].startswith("青岩民不批〔2025〕")
    home = open_home(web)
    try:
        row = home.db.execute("SELECT operator FROM audit WHERE action='document.generate' AND target=?",
                              (record["doc_id"],)).fetchone()
        assert row["operator"] == web.user("caseworker")  # the audit names the API user
        disable_user(home, web.user("caseworker"))
    finally:
        home.close()
    assert client.get("/api/me", headers=bearer).status_code == 401


def test_disabled_user_loses_the_open_session(tmp_path):
    web = make_web_home(tmp_path)
    app = create_app(web.root)
    client = client_for(app, web, "archivist")
    assert client.get("/api/me").status_code == 200
    home = open_home(web)
    try:
        disable_user(home, web.user("archivist"))
    finally:
        home.close()
    assert client.get("/api/me").status_code == 401
    assert login(TestClient(app), web.user("archivist")).status_code == 401


# --- CSRF ----------------------------------------------------------------------------------

def test_state_changing_requests_without_csrf_token_are_refused(app, web):
    client = client_for(app, web, "caseworker")
    assert client.post("/search", data={"q": web.head_name}).status_code == 403
    assert client.post("/search", data={"q": web.head_name, "csrftoken": "forged"}).status_code == 403
    response = client.post("/api/documents", json={"type": "refusal", "household": web.head_id,
                                                   "fields": {"reason": "试"}})
    assert response.status_code == 403 and "防伪令牌" in response.text
    assert client.post("/search", data={"q": web.head_name, "csrftoken": csrf(client)}).status_code == 200
    # a login form posted from elsewhere (no CSRF cookie or field) is refused too
    assert TestClient(app).post("/login", data={"username": web.user("admin"), "password": PASSWORD},
                                follow_redirects=False).status_code == 403


def test_bodies_need_a_length_within_the_limit(web):
    app = create_app(web.root, WebSettings(root=web.root, upload_limit=1024))
    client = client_for(app, web, "archivist")
    big = {"files": ("big.pdf", b"%PDF-" + b"0" * 4096, "application/pdf")}
    response = client.post("/api/scans", files=big, headers={"X-CSRFToken": csrf(client)})
    assert response.status_code == 413 and "上传内容太大" in response.text


# --- pages: headers, Chinese, no ID number in any address --------------------------------------

def test_pages_are_not_cached_have_csp_and_no_id_number_in_any_url(app, web, household_key):
    client = client_for(app, web, "inspector")
    pages = [client.get("/search"),
             client.post("/search", data={"q": web.head_name, "csrftoken": csrf(client)}),
             client.post("/search", data={"q": web.head_id, "csrftoken": csrf(client)}),
             client.get(f"/households/{household_key}"),
             client.get(f"/documents/{web.doc_id}")]
    for response in pages:
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "<script>" not in response.text and " on" + "click=" not in response.text
        for url in urls_in(response.text):
            assert not ID_NUMBER.search(url), url
        assert 'lang="zh-CN"' in response.text
    household = pages[3].text
    assert web.head_id in household  # the ID number is on the page, only never in an address
    assert web.head_name in pages[1].text and f"/households/{household_key}" in pages[1].text
    assert f"/households/{household_key}" in pages[2].text  # found by ID number, linked by key
    assert "2025年7月8日" in pages[4].text and "2025-07-08" not in pages[4].text
    assert client.get("/api/me").headers["cache-control"] == "no-store"
    static = client.get("/static/htmx.min.js")
    assert static.status_code == 200 and "no-store" not in static.headers["cache-control"]


def test_search_and_opened_household_are_audited_under_the_logged_in_user(app, web, household_key):
    client = client_for(app, web, "inspector")
    client.post("/search", data={"q": web.head_name, "csrftoken": csrf(client)})
    client.get(f"/households/{household_key}")
    client.get(f"/documents/{web.doc_id}")
    home = open_home(web)
    try:
        rows = home.db.execute("SELECT action, target FROM audit WHERE operator=? ORDER BY id",
                               (web.user("inspector"),)).fetchall()
    finally:
        home.close()
    actions = [(r["action"], r["target"]) for r in rows]
    assert ("search", web.head_name) in actions
    assert ("show", web.head_id) in actions
    assert ("document.open", web.doc_id) in actions


def test_household_page_shows_members_and_documents_with_thumbnails(app, web, household_key):
    client = client_for(app, web, "caseworker")
    page = client.get(f"/households/{household_key}").text
    assert "家庭成员" in page and "不予批准告知书" in page and "月保障金额" in page
    thumb = f"/documents/{web.doc_id}/pages/1.png?size=thumb"
    assert thumb in page
    first = client.get(thumb)
    assert first.status_code == 200 and first.content.startswith(b"\x89PNG")
    cached = sorted((web.root / "cache" / "pages" / web.doc_id).glob("*-p1-thumb.png"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert client.get(thumb).content == first.content
    assert cached[0].stat().st_mtime_ns == stamp  # rendered once


def test_document_viewer_pages_zoom_and_download(app, web):
    client = client_for(app, web, "inspector")
    page = client.get(f"/documents/{web.doc_id}").text
    assert "第 1 页 / 共 2 页" in page and f"/documents/{web.doc_id}?page=2" in page
    second = client.get(f"/documents/{web.doc_id}?page=2&zoom=1").text
    assert "第 2 页 / 共 2 页" in second and "pages/2.png?size=zoom" in second and "缩小" in second
    assert client.get(f"/documents/{web.doc_id}/pages/2.png?size=zoom").status_code == 200
    assert client.get(f"/documents/{web.doc_id}/pages/9.png").status_code == 404
    assert client.get(f"/documents/{web.doc_id}/pages/1.png?size=huge").status_code == 400
    pdf = client.get(f"/documents/{web.doc_id}/pdf")
    assert pdf.content.startswith(b"%PDF-") and "attachment" in pdf.headers["content-disposition"]


def test_unknown_household_key_and_document_are_404_in_chinese(app, web):
    client = client_for(app, web, "inspector")
    response = client.get("/households/hAAAAAAAAAAAAAAAA")
    assert response.status_code == 404 and "没有这个家庭" in response.text
    response = client.get(f"/households/{web.head_id}")  # an ID number is no key
    assert response.status_code == 404
    assert client.get("/api/households/nope").json()["error"].startswith("没有这个家庭")
    assert client.get("/documents/Z109-9999999").status_code == 404
    assert client.get("/no/such/page").status_code == 404


# --- API -----------------------------------------------------------------------------------

def test_api_search_and_household_match_the_cli_objects(app, web, household_key):
    client = client_for(app, web, "inspector")
    found = client.get("/api/search", params={"q": web.head_name, "limit": 5}).json()
    assert found["total"] >= 1
    hit = found["hits"][0]
    assert hit["household"] == web.head_id and hit["household_key"] == household_key
    assert {"doc_id", "title", "location", "snippet", "number", "archival_code"} <= set(hit)
    household = client.get(f"/api/households/{household_key}").json()
    assert household["household"] == web.head_id and household["key"] == household_key
    assert [d["doc_id"] for d in household["documents"]] == [web.doc_id]
    bad = client.get("/api/search", params={"q": "x", "village": "不存在村"})
    assert bad.status_code == 400 and "不存在村" in bad.json()["error"]


def test_api_generate_refuses_bad_input_in_chinese(app, web):
    client = client_for(app, web, "caseworker")
    headers = {"X-CSRFToken": csrf(client)}
    response = client.post("/api/documents", headers=headers, json={"type": "nonexistent"})
    assert response.status_code == 400 and "不能用此接口生成" in response.json()["error"]
    response = client.post("/api/documents", headers={**headers, "Content-Type": "application/json"},
                           content=b"{not json")
    assert response.status_code == 400 and response.json()["error"] == "请求内容不是有效的 JSON"
    response = client.post("/api/documents", headers=headers,
                           json={"type": "refusal", "household": web.head_id, "fields": {}})
    assert response.status_code == 400 and "不予批准的理由" in response.json()["error"]


def test_api_scans_upload_goes_through_ingest(tmp_path):
    from scanfixtures import text_pdf

    web = make_web_home(tmp_path)
    app = create_app(web.root)
    client = client_for(app, web, "archivist")
    home = open_home(web)
    try:
        member = home.db.execute("SELECT name, id_number FROM members WHERE household_id=? AND seq=1",
                                 (web.head_id,)).fetchone()
    finally:
        home.close()
    good = text_pdf(tmp_path / "户口.pdf", ["常住人口登记卡", f"姓名 {member['name']}",
                                            f"公民身份号码 {member['id_number']}", "户主或与户主关系 子"])
    files = [("files", ("户口.pdf", good.read_bytes(), "application/pdf")),
             ("files", ("../../坏文件.pdf", b"%PDF-1.7 truncated", "application/pdf"))]
    response = client.post("/api/scans", files=files, headers={"X-CSRFToken": csrf(client)})
    assert response.status_code == 200, response.text
    records = response.json()["records"]
    assert sorted(r["status"] for r in records) == ["filed", "quarantined"]
    filed = next(r for r in records if r["status"] == "filed")
    assert filed["household"] == web.head_id and filed["type"] == "hukou"
    bad = next(r for r in records if r["status"] == "quarantined")
    assert bad["reason"] and "坏文件" in bad["source"] and ".." not in bad["source"].split("/")[-1][:4]
    quarantined = list((web.root / "quarantine").rglob("*坏文件.pdf"))
    assert quarantined, "the bad upload is kept in quarantine, not lost"
    home = open_home(web)
    try:
        operators = {r[0] for r in home.db.execute("SELECT operator FROM audit WHERE action LIKE 'ingest.%'")}
    finally:
        home.close()
    assert operators == {web.user("archivist")}


# --- command line --------------------------------------------------------------------------

def test_cli_user_add_token_list_disable(tmp_path):
    from conftest import run_cli

    from archive.users import user_for_token

    web = make_web_home(tmp_path)
    root = str(web.root)
    result = run_cli("--home", root, "user", "add", "王芳", "--role", "archivist", input="短\n短\n")
    assert result.exit_code != 0 and "密码太短" in result.output
    result = run_cli("--home", root, "user", "add", "王芳", "--role", "archivist",
                     input="长一些的口令123\n不一样的口令456\n长一些的口令123\n长一些的口令123\n")
    assert result.exit_code == 0, result.output
    assert "两次输入的密码不一致" in result.output
    assert "长一些的口令" not in result.output  # hidden input
    result = run_cli("--home", root, "user", "add", "李强", "--role", "inspector", "--password-stdin",
                     input="stdin-口令-789\n")
    assert result.exit_code == 0 and "督查" in result.output
    assert run_cli("--home", root, "user", "add", "李强", "--role", "admin", "--password-stdin",
                   input="another-password\n").exit_code != 0
    assert run_cli("--home", root, "user", "add", "x", "--role", "boss", "--password-stdin",
                   input="another-password\n").exit_code != 0
    token = run_cli("--home", root, "user", "token", "李强").output.strip().splitlines()[-1]
    listed = [json.loads(line) for line in run_cli("--home", root, "user", "list", "--json").output.splitlines()]
    assert {u["name"]: u["role"] for u in listed}["李强"] == "inspector"
    home = open_home(web)
    try:
        assert user_for_token(home, token).name == "李强"
        assert run_cli("--home", root, "user", "disable", "李强").exit_code == 0
        assert user_for_token(home, token) is None
        operators = {r[0] for r in home.db.execute("SELECT operator FROM audit WHERE action='user.add'")}
    finally:
        home.close()
    assert "李强" not in operators  # the CLI acts as its operator, not as the new user
    client = TestClient(create_app(web.root))
    assert login(client, "王芳", "长一些的口令123").status_code == 303


def test_serve_warns_for_plain_http_beyond_this_machine():
    assert plain_http_warning("127.0.0.1", tls=False) is None
    assert plain_http_warning("localhost", tls=False) is None
    assert plain_http_warning("::1", tls=False) is None
    warning = plain_http_warning("0.0.0.0", tls=False)
    assert warning and warning.startswith("警告") and "明文" in warning
    assert plain_http_warning("192.0.2.10", tls=True) is None


def test_archive_serve_starts_on_loopback_and_serves_the_login_page(tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import urllib.request

    web = make_web_home(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen([sys.executable, "-m", "archive", "--home", str(web.root), "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                    page = response.read().decode("utf-8")
                    headers = response.headers
                break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "archive serve did not answer"
                time.sleep(0.2)
        assert "登录" in page and headers["Cache-Control"] == "no-store"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert f"http://127.0.0.1:{port}/" in output and "警告" not in output


def test_household_list_filters_and_finds_households_without_documents(app, web, household_key):
    from archive.household_list import find_households

    client = client_for(app, web, "caseworker")
    everyone = client.get("/households")
    assert everyone.status_code == 200 and "共 " in everyone.text
    home = open_home(web)
    try:
        rows = home.db.execute("SELECT h.id, h.head_name, h.village, m.id_number FROM households h "
                               "JOIN members m ON m.household_id = h.id AND m.seq = 1 WHERE h.id != ?",
                               (web.head_id,)).fetchall()
        other = rows[0]  # a household with no document at all
        assert home.db.execute("SELECT count(*) FROM documents WHERE household_id=?", (other["id"],)).fetchone()[0] == 0
        total = home.db.execute("SELECT count(*) FROM households").fetchone()[0]
        first, second = (find_households(home, limit=5, offset=o) for o in (0, 5))
        assert first.total == total and len(first.rows) == 5
        assert not {r.household for r in first.rows} & {r.household for r in second.rows}
    finally:
        home.close()
    assert f"共 {total} 户" in everyone.text

    def get(**fields):
        return client.get("/households", params=fields)

    by_name = get(q=other["head_name"])
    assert other["head_name"] in by_name.text
    by_digits = get(q=other["id_number"][-4:])  # the last digits of a member's ID, not the head's
    assert other["head_name"] in by_digits.text
    assert f"/households/{household_key}" in get(q=web.head_name).text
    assert "共 0 户" in get(q=other["head_name"], village=[v for v in ("龙井村", "思潜村") if v != other["village"]][0]).text
    assert "不在本乡镇的村名单中" in get(village="不存在村").text
    assert "共 0 户" in get(q="%").text  # LIKE wildcards are literal
    # the search box is POSTed: a name goes on to a bookmarkable address, a full ID number never
    # does (one household: its own page, by its key)
    sent = client.post("/households", data={"q": other["head_name"], "status": "active", "csrftoken": csrf(client)},
                       follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/households?q=")
    by_id = client.post("/households", data={"q": other["id_number"], "csrftoken": csrf(client)}, follow_redirects=False)
    assert by_id.status_code == 303 and by_id.headers["location"].startswith("/households/h")
    assert not ID_NUMBER.search(by_id.headers["location"])
    partial = client.post("/households", data={"q": other["id_number"][-10:], "csrftoken": csrf(client)},
                          follow_redirects=False)
    assert partial.status_code in (200, 303) and not ID_NUMBER.search(partial.headers.get("location", ""))
    typed_in_address = get(q=other["id_number"])
    assert "身份证号不能放在网址中" in typed_in_address.text
    for response in (by_name, by_digits, typed_in_address, get(q=other["id"])):
        for url in urls_in(response.text):
            assert not ID_NUMBER.search(url), url
    home = open_home(web)
    try:
        listed = home.db.execute("SELECT count(*) FROM audit WHERE action='household.list' AND operator=?",
                                 (web.user("caseworker"),)).fetchone()[0]
    finally:
        home.close()
    assert listed >= 5


def test_demo_users_one_per_role_can_log_in(tmp_path):
    from archive.users import add_demo_users

    web = make_web_home(tmp_path)
    home = open_home(web)
    try:
        made = add_demo_users(home)
    finally:
        home.close()
    assert sorted(user.role for user, _ in made) == sorted(ROLES)
    app = create_app(web.root)
    for user, password in made:
        assert login(TestClient(app), user.name, password).status_code == 303


def test_an_unexpected_error_is_a_chinese_page_without_details(web, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("archive.web.routes.households.open_household_file", broken)
    app = create_app(web.root)
    client = TestClient(app, raise_server_exceptions=False)
    login(client, web.user("inspector"))
    home = open_home(web)
    try:
        key = key_for(home.db, web.head_id)
    finally:
        home.close()
    response = client.get(f"/households/{key}")
    assert response.status_code == 500 and "服务器内部错误" in response.text
    assert "secret internal detail" not in response.text
    assert response.headers["cache-control"] == "no-store"


def test_search_within_one_household_from_its_page(app, web, household_key):
    client = client_for(app, web, "inspector")
    page = client.get(f"/households/{household_key}").text
    assert f'name="household_key" value="{household_key}"' in page
    response = client.post("/search", data={"q": "告知书", "household_key": household_key, "csrftoken": csrf(client)})
    assert response.status_code == 200
    assert f"只查 {web.head_name}户" in response.text and f'value="{household_key}"' in response.text
    assert web.doc_id in response.text
    bad = client.post("/search", data={"q": "告知书", "household_key": "hBADBADBADBADBADB", "csrftoken": csrf(client)})
    assert "没有这个家庭" in bad.text


def test_error_pages_lead_back_to_where_the_user_came_from_and_the_list(app, web):
    client = client_for(app, web, "inspector")
    came_from = "http://testserver/households?village=%E9%BE%99%E4%BA%95%E6%9D%91&page=2"
    missing = client.get("/documents/Z109-9999999", headers={"Referer": came_from})
    assert missing.status_code == 404
    assert 'href="/households?village=%E9%BE%99%E4%BA%95%E6%9D%91&amp;page=2"' in missing.text
    assert "返回上一页" in missing.text and 'href="/search">检索</a>' in missing.text
    assert missing.headers["referrer-policy"] == "same-origin"
    # another site's address is never offered as the way back
    foreign = client.get("/documents/Z109-9999999", headers={"Referer": "http://evil.example/households"})
    assert "返回上一页" not in foreign.text and 'href="/search">检索</a>' in foreign.text
    refused = client.get("/review", headers={"Referer": "http://testserver/search"})
    assert refused.status_code == 403
    assert 'class="button" href="/search">返回上一页</a>' in refused.text
    assert 'href="/review"' not in refused.text  # no link to a list the inspector may not open
    archivist = client_for(app, web, "archivist")
    wrong = archivist.post("/review/Z109-9999999/reject", data={"csrftoken": csrf(archivist), "reason": "x"},
                           headers={"Referer": "http://testserver/review"})
    assert wrong.status_code == 404 and 'href="/review">返回上一页</a>' in wrong.text


def test_household_list_pages_by_address_and_finds_near_names(app, web):
    """Paging links are plain addresses (bookmarkable, the back button works); a name one
    character off finds its household, marked 「近似」, as the search does."""
    import re

    from archive.web.routes import households as listing

    client = client_for(app, web, "caseworker")
    home = open_home(web)
    try:
        total = home.db.execute("SELECT count(*) FROM households").fetchone()[0]
        three = home.db.execute("SELECT m.name, h.head_name, h.id FROM members m JOIN households h ON h.id = m.household_id "
                                "WHERE length(m.name) = 3 ORDER BY m.name LIMIT 1").fetchone()
    finally:
        home.close()
    old = listing.PAGE_SIZE
    listing.PAGE_SIZE = 5
    try:
        first = client.get("/households")
        assert f"第 1 / {-(-total // 5)} 页" in first.text
        following = re.search(r'<a href="(/households\?page=2)" rel="next">下一页</a>', first.text).group(1)
        second = client.get(following)
        assert "第 2 / " in second.text and 'href="/households" rel="prev">上一页</a>' in second.text
        filtered = client.get("/households", params={"status": "active"})
        assert re.search(r'href="/households\?status=active&amp;page=2"', filtered.text)
    finally:
        listing.PAGE_SIZE = old
    name = three["name"]
    typo = name[:2] + ("甲" if name[2] != "甲" else "乙")
    near = client.get("/households", params={"q": typo})
    assert near.status_code == 200 and f"「近似」（{name}）" in near.text and three["head_name"] in near.text


def test_inspector_exports_two_households_as_one_bookmarked_pdf(app, web):
    """The household list's ticked households, as one PDF: 卷内目录 first, a bookmark per household
    (with a bookmark per document under it), audited under the inspector's name; nothing is left
    in the archive home (verify would report an unknown file)."""
    import datetime as dt
    import io

    import pypdf

    from archive.documents.generate import Generator

    home = open_home(web)
    try:
        rows = home.db.execute("SELECT id, head_name FROM households WHERE id <> ? ORDER BY id LIMIT 1",
                               (web.head_id,)).fetchall()
        rows = [(web.head_id, web.head_name), (rows[0][0], rows[0][1])]
        if not home.db.execute("SELECT 1 FROM documents WHERE household_id=?", (rows[1][0],)).fetchone():
            Generator(home).household_document("refusal", rows[1][0], dt.date(2025, 7, 9),
                                               {"reason": "家庭人均收入高于当地最低生活保障标准"})
        keys = [key_for(home.db, row[0]) for row in rows]
    finally:
        home.close()
    assert len(rows) == 2
    client = TestClient(app)
    assert login(client, web.user("inspector")).status_code == 303
    listing = client.post("/households", data={"csrftoken": csrf(client), "q": rows[0][1]})
    assert f'name="household_key" value="{keys[0]}" form="export-form"' in listing.text
    response = client.post("/export", data={"csrftoken": csrf(client), "household_key": keys})
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/pdf"
    assert "no-store" in response.headers.get("cache-control", "")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert top[0].title == "卷内目录"
    assert [t.title.split("（")[0] for t in top[1:]] == [row[1] for row in rows]  # in the order ticked
    assert all(isinstance(item, list) and item for item in reader.outline[2::2])  # documents under each household
    home = open_home(web)
    try:
        entry = home.db.execute("SELECT operator, detail FROM audit WHERE action='export' ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        home.close()
    assert entry[0] == web.user("inspector") and json.loads(entry[1])["households"] == [row[0] for row in rows]
    refused = client.post("/export", data={"csrftoken": csrf(client)})
    assert refused.status_code == 400 and "请先勾选要导出的家庭" in refused.text
    assert client.post("/export", data={"household_key": keys}).status_code == 403  # no CSRF token


def test_inspector_sees_the_spot_check_with_its_pull_list_and_can_print_it(app, web):
    """The year's sample (the same draw as `archive sample`: same year, rate and seed, same
    households), each file's place, the pull list as a PDF; all sampled households ticked for export."""
    import io

    import pypdf

    from archive.filing.sample import draw_sample

    home = open_home(web)
    try:
        items, summary = draw_sample(home, 2025, 0.5, 7)
        assert items  # the fixture has households new in 2025
        keys = {item.household: key_for(home.db, item.household) for item in items}
    finally:
        home.close()
    client = TestClient(app)
    assert login(client, web.user("inspector")).status_code == 303
    page = client.get("/sample?year=2025&rate=0.5&seed=7")
    assert page.status_code == 200, page.text[:300]
    assert f"共 {summary['households']} 户 {summary['documents']} 件待调阅" in page.text
    for item in items:
        assert item.title in page.text and f'value="{keys[item.household]}" form="export-form" checked' in page.text
    assert not ID_NUMBER.search(" ".join(urls_in(page.text)))
    pdf = client.post("/sample/pdf", data={"csrftoken": csrf(client), "year": "2025", "rate": "0.5", "seed": "7"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "抽查调档清单" in text and "种子7" in text
    bad = client.get("/sample?year=2025&rate=2")
    assert bad.status_code == 400 and "抽查比例应在 0 到 1 之间" in bad.text
