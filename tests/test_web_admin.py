"""The administrator's user page: add, change role, set password, disable; the last administrator
cannot be taken away; every other role refused; CSRF needed; every change audited by name."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from webfixtures import PASSWORD, client_for, csrf, login, open_home

from archive.errors import ConflictError
from archive.users import disable_user, get_user, set_role


def test_admin_adds_a_user_changes_role_resets_password_and_disables(app, web):
    admin = client_for(app, web, "admin")
    page = admin.get("/admin/users")
    assert page.status_code == 200 and "添加用户" in page.text and "档案员" in page.text
    token = csrf(admin)
    mismatch = admin.post("/admin/users", data={"csrftoken": token, "name": "张丽", "role": "caseworker",
                                                "password": "口令-一二三四五", "password2": "别的口令-一二三"})
    assert mismatch.status_code == 400 and "两次输入的密码不一致" in mismatch.text
    short = admin.post("/admin/users", data={"csrftoken": token, "name": "张丽", "role": "caseworker",
                                             "password": "短", "password2": "短"})
    assert short.status_code == 400 and "密码太短" in short.text
    added = admin.post("/admin/users", data={"csrftoken": token, "name": "张丽", "role": "caseworker",
                                             "password": "口令-一二三四五", "password2": "口令-一二三四五"},
                       follow_redirects=False)
    assert added.status_code == 303
    assert login(TestClient(app), "张丽", "口令-一二三四五").status_code == 303
    again = admin.post("/admin/users", data={"csrftoken": token, "name": "张丽", "role": "caseworker",
                                             "password": "口令-一二三四五", "password2": "口令-一二三四五"})
    assert again.status_code == 400 and "已存在" in again.text
    assert admin.post("/admin/users/张丽/role", data={"csrftoken": token, "role": "inspector"},
                      follow_redirects=False).status_code == 303
    assert admin.post("/admin/users/张丽/role", data={"csrftoken": token, "role": "boss"}).status_code == 400
    assert admin.post("/admin/users/张丽/password", data={"csrftoken": token, "password": "新口令-六七八九十",
                                                        "password2": "新口令-六七八九十"}, follow_redirects=False).status_code == 303
    assert login(TestClient(app), "张丽", "口令-一二三四五").status_code == 401
    user = TestClient(app)
    assert login(user, "张丽", "新口令-六七八九十").status_code == 303
    assert user.get("/api/me").json()["role"] == "inspector"
    assert admin.post("/admin/users/张丽/disable", data={"csrftoken": token}, follow_redirects=False).status_code == 303
    assert user.get("/api/me").status_code == 401
    home = open_home(web)
    try:
        rows = home.db.execute("SELECT action, operator FROM audit WHERE target='张丽' AND action LIKE 'user.%' "
                               "ORDER BY id").fetchall()
    finally:
        home.close()
    assert [r["action"] for r in rows] == ["user.add", "user.role", "user.password", "user.disable"]
    assert {r["operator"] for r in rows} == {web.user("admin")}


def test_the_last_administrator_cannot_be_disabled_or_demoted(app, web):
    admin = client_for(app, web, "admin")
    name = web.user("admin")
    response = admin.post(f"/admin/users/{name}/disable", data={"csrftoken": csrf(admin)})
    assert response.status_code == 400 and "唯一可用的管理员" in response.text
    response = admin.post(f"/admin/users/{name}/role", data={"csrftoken": csrf(admin), "role": "inspector"})
    assert response.status_code == 400 and "唯一可用的管理员" in response.text
    home = open_home(web)
    try:
        assert get_user(home, name).role == "admin" and not get_user(home, name).disabled
        with pytest.raises(ConflictError):
            disable_user(home, name)
        set_role(home, web.user("archivist"), "admin")  # with a second administrator it is allowed
        assert set_role(home, name, "inspector").role == "inspector"
        set_role(home, name, "admin")
        set_role(home, web.user("archivist"), "archivist")
    finally:
        home.close()


def test_other_roles_are_refused_and_csrf_is_needed(app, web):
    for role in ("caseworker", "archivist", "inspector"):
        client = client_for(app, web, role)
        assert client.get("/admin/users").status_code == 403
        response = client.post("/admin/users", data={"csrftoken": csrf(client), "name": "闯入者", "role": "admin",
                                                     "password": "口令-一二三四五", "password2": "口令-一二三四五"})
        assert response.status_code == 403
        assert client.post(f"/admin/users/{web.user(role)}/role",
                           data={"csrftoken": csrf(client), "role": "admin"}).status_code == 403
    admin = client_for(app, web, "admin")
    assert admin.post("/admin/users", data={"name": "闯入者", "role": "admin", "password": "口令-一二三四五",
                                            "password2": "口令-一二三四五"}).status_code == 403
    home = open_home(web)
    try:
        assert home.db.execute("SELECT count(*) FROM users WHERE name='闯入者'").fetchone()[0] == 0
        assert get_user(home, web.user("inspector")).role == "inspector"
    finally:
        home.close()


def test_concurrent_logins_each_use_their_own_threads_connection(app, web):
    """The login check runs in a worker thread with that thread's archive home (SQLite connections
    belong to the thread that opened them); many logins at once all succeed."""
    import threading

    results: list[int] = []
    with TestClient(app) as client:  # one event loop for every request, as under uvicorn
        client.get("/login")
        token = csrf(client)

        def attempt(role: str) -> None:
            response = client.post("/login", data={"username": web.user(role), "password": PASSWORD,
                                                   "csrftoken": token}, follow_redirects=False)
            results.append(response.status_code)

        threads = [threading.Thread(target=attempt, args=(role,)) for role in ("caseworker", "archivist") * 6]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == [303] * len(threads)
