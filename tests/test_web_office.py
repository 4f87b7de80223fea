"""The administrator's office pages: the settings (township, villages with codes and order,
phones, 低保 standard) checked field by field, saved to config.yaml through the library with every
other key and comment kept, and audited; the seal and the signers (a certificate checked with its
password, which is never stored). Every other role refused; CSRF needed."""

from __future__ import annotations

import pytest
from signfixtures import make_p12, make_seal, make_signature
from webfixtures import client_for, csrf, make_web_home, open_home

from archive.errors import BadInputError
from archive.office import SettingsChange, office_settings, update_office_settings
from archive.web import create_app


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """Its own home: these tests change config.yaml."""
    return make_web_home(tmp_path_factory.mktemp("weboffice"))


@pytest.fixture(scope="module")
def app(web):
    return create_app(web.root)


def current(web):
    home = open_home(web)
    try:
        return office_settings(home)
    finally:
        home.close()


def settings_form(client, web, **changes):
    now = current(web)
    data = {"csrftoken": csrf(client), "township": now.township, "township_short": now.township_short,
            "office": now.office, "complaint_phone": now.complaint_phone, "office_phone": now.office_phone,
            "dibao_standard": "" if now.dibao_standard is None else f"{now.dibao_standard:g}",
            "village_name": [n for n, _ in now.villages], "village_code": [c for _, c in now.villages],
            "village_order": [str(i + 1) for i in range(len(now.villages))]}
    data.update(changes)
    return data


def test_settings_are_checked_by_field_and_nothing_is_saved(app, web):
    client = client_for(app, web, "admin")
    page = client.get("/admin/settings")
    assert page.status_code == 200 and "办公设置" in page.text and "青岩镇" in page.text
    config_before = (web.root / "config.yaml").read_bytes()
    bad = client.post("/admin/settings", data=settings_form(
        client, web, township="", office_phone="打电话", dibao_standard="很多",
        village_code=["C01", "C01", "C03", "C04", "c5!"]))
    assert bad.status_code == 400
    text = bad.text
    assert 'id="err-township">请填写乡镇（街道）<' in text
    assert 'id="err-office_phone"' in text and "不像电话号码" in text
    assert 'id="err-dibao_standard"' in text and "不是金额" in text
    assert 'id="err-villages"' in text and "代码都是 C01" in text and "代码「C5!」不对" in text
    assert "未保存任何内容" in text
    assert (web.root / "config.yaml").read_bytes() == config_before
    # a village holding households can be neither removed nor renamed
    first = current(web).villages[0][0]
    gone = client.post("/admin/settings", data=settings_form(
        client, web, village_name=[n for n, _ in current(web).villages][1:],
        village_code=[c for _, c in current(web).villages][1:],
        village_order=[str(i) for i in range(1, len(current(web).villages))]))
    assert gone.status_code == 400 and f"「{first}」有" in gone.text and "不能删除或改名" in gone.text
    assert (web.root / "config.yaml").read_bytes() == config_before


def test_settings_are_saved_in_place_audited_and_used(app, web):
    path = web.root / "config.yaml"
    path.write_text("# 本乡镇的备注：请勿删除\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    before = current(web)
    names = [n for n, _ in before.villages]
    codes = [c for _, c in before.villages]
    client = client_for(app, web, "admin")
    # the last village moved to the front (its code and every other one's kept), one added at the end
    order = [str(len(names) - i) if i == len(names) - 1 else str(i + 2) for i in range(len(names))]
    order[-1] = "0.5"
    saved = client.post("/admin/settings", data=settings_form(
        client, web, office_phone="0851-83209999", dibao_standard="720.5",
        village_name=[*names, "石板村"], village_code=[*codes, ""], village_order=[*order, ""]),
        follow_redirects=False)
    assert saved.status_code == 303, saved.text
    after = current(web)
    assert after.office_phone == "0851-83209999" and after.dibao_standard == 720.5
    assert [n for n, _ in after.villages] == [names[-1], *names[:-1], "石板村"]
    assert dict(after.villages) == {**dict(before.villages), "石板村": f"C{len(names) + 1:02d}"}  # codes kept
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# 本乡镇的备注：请勿删除")  # every other key and comment kept
    home = open_home(web)
    try:
        row = home.db.execute("SELECT operator, detail FROM audit WHERE action='config.update' "
                              "ORDER BY id DESC LIMIT 1").fetchone()
        assert home.config.dibao_standard == 720.5 and home.config.village_code(names[-1]) == codes[-1]
    finally:
        home.close()
    assert row["operator"] == web.user("admin") and "0851-83209999" in row["detail"] and "石板村" in row["detail"]
    assert "已保存办公设置" in client.get("/admin/settings?done=saved").text
    again = client.post("/admin/settings", data=settings_form(client, web), follow_redirects=False)
    assert again.headers["location"].endswith("done=unchanged")


def test_the_library_refuses_bad_settings_whoever_calls(web):
    home = open_home(web)
    try:
        with pytest.raises(BadInputError) as caught:
            update_office_settings(home, SettingsChange({"township": "青岩镇", "township_short": "青岩",
                                                         "office": "青岩镇人民政府"}, "-5", [("龙/井村", "")]))
    finally:
        home.close()
    assert "低保标准" in caught.value.message and "路径分隔符" in caught.value.message


def test_seal_and_signers_with_a_certificate_whose_password_is_never_stored(app, web, tmp_path):
    client = client_for(app, web, "admin")
    page = client.get("/admin/signers")
    assert page.status_code == 200 and "还没有登记签章人" in page.text and "未设置" in page.text
    seal = make_seal(tmp_path / "印章.png").read_bytes()
    done = client.post("/admin/seal", data={"csrftoken": csrf(client)}, files={"seal": ("印章.png", seal, "image/png")},
                       follow_redirects=False)
    assert done.status_code == 303
    password = "证书-口令-8421"
    p12 = make_p12(tmp_path / "王明.p12", password, name="王明").read_bytes()
    signature = make_signature(tmp_path / "签名.png").read_bytes()
    wrong = client.post("/admin/signers", data={"csrftoken": csrf(client), "name": "王明", "role": "镇长",
                                               "password": "不对的口令"},
                        files={"cert": ("王明.p12", p12, "application/x-pkcs12")})
    assert wrong.status_code == 400 and "密码不正确" in wrong.text
    missing = client.post("/admin/signers", data={"csrftoken": csrf(client), "name": "王明", "role": "镇长"},
                          files={"cert": ("王明.p12", p12, "application/x-pkcs12")})
    assert missing.status_code == 400 and "请输入证书密码" in missing.text
    added = client.post("/admin/signers", data={"csrftoken": csrf(client), "name": "王明", "role": "镇长",
                                               "password": password},
                        files={"cert": ("王明.p12", p12, "application/x-pkcs12"),
                               "signature": ("签名.png", signature, "image/png")}, follow_redirects=False)
    assert added.status_code == 303, added.text
    listing = client.get("/admin/signers").text
    assert "王明" in listing and "镇长" in listing and "已设置" in listing and "CN=王明" in listing
    for path in web.root.rglob("*"):
        if path.is_file() and path.suffix not in (".p12", ".sqlite", ".png", ".pdf", ".docx"):
            assert password.encode("utf-8") not in path.read_bytes(), path
    home = open_home(web)
    try:
        actions = {r[0]: r[1] for r in home.db.execute("SELECT action, operator FROM audit WHERE action IN "
                                                         "('seal.set','signer.add')")}
        assert password not in "".join(str(tuple(r)) for r in home.db.execute("SELECT * FROM audit"))
    finally:
        home.close()
    assert actions == {"seal.set": web.user("admin"), "signer.add": web.user("admin")}


@pytest.mark.parametrize("role", ["caseworker", "archivist", "inspector"])
def test_only_the_administrator_reaches_the_office_pages(app, web, role):
    client = client_for(app, web, role)
    assert "/admin/settings" not in client.get("/search").text
    for path in ("/admin/settings", "/admin/signers"):
        assert client.get(path).status_code == 403
    for path in ("/admin/settings", "/admin/signers", "/admin/seal"):
        assert client.post(path, data={"csrftoken": csrf(client), "township": "别的镇"}).status_code == 403
    admin = client_for(app, web, "admin")
    assert admin.post("/admin/settings", data={"township": "别的镇"}).status_code == 403  # no CSRF token
