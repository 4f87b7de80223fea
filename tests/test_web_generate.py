"""Generating documents in the browser: the type chosen by its Chinese name, a form from the
template's fields with problems beside each field, a draft (样稿) preview that takes no 文号,
issuing (which takes it), reprint and void with a reason; inspectors refused on every write."""

from __future__ import annotations

import datetime as dt
import io
import re

import pypdf
import pytest
from webfixtures import ID_NUMBER, client_for, csrf, open_home, urls_in

from archive.documents.fieldcheck import field_problems
from archive.documents.templates import load_template
from archive.household_keys import key_for


@pytest.fixture(scope="module")
def key(web):
    home = open_home(web)
    try:
        return key_for(home.db, web.head_id)
    finally:
        home.close()


def counts(web) -> tuple[int, int]:
    home = open_home(web)
    try:
        documents = home.db.execute("SELECT count(*) FROM documents").fetchone()[0]
        numbers = home.db.execute("SELECT count(*) FROM documents WHERE number IS NOT NULL").fetchone()[0]
        return documents, numbers
    finally:
        home.close()


def refusal_form(client, key, **fields):
    data = {"csrftoken": csrf(client), "household_key": key, "type": "refusal", "date": "2025-07-09",
            "f.reason": "家庭财产超过规定", "f.apply_date": "2025-06-21"}
    data.update({k.replace("_f_", "f."): v for k, v in fields.items()})
    return data


def test_field_problems_name_each_field_in_chinese():
    template = load_template("confirmation")
    problems = field_problems(template, {"amount": "六百", "start_month": "2025-13", "publicity_to": "2025-07-01"})
    assert set(problems) == {"amount", "start_month"}
    assert "六百" in problems["amount"] and "金额" in problems["amount"]
    assert "YYYY-MM" in problems["start_month"]
    refusal = load_template("refusal")
    assert field_problems(refusal, {}) == {"reason": "请填写不予批准的理由"}
    assert "没有字段" in field_problems(refusal, {"reason": "x", "bogus": "1"})["bogus"]
    assert field_problems(refusal, {"reason": "x", "apply_date": "2025-06-21"}) == {}


def test_generate_page_offers_every_type_by_its_chinese_name(app, web, key):
    client = client_for(app, web, "caseworker")
    page = client.get(f"/generate?household={key}")
    assert page.status_code == 200
    for title in ("不予批准告知书", "审核确认通知书", "停发告知书", "入户调查表"):
        assert title in page.text, title
    form = client.get(f"/generate?household={key}&type=refusal").text
    assert 'name="f.reason"' in form and "不予批准的理由" in form and 'class="req"' in form
    assert 'type="date"' in form  # the apply date is a date field
    for url in urls_in(form):
        assert not ID_NUMBER.search(url), url
    assert f"/generate?household={key}" in client.get(f"/households/{key}").text
    assert client.get("/generate?household=hBADBADBADBADBADB").status_code == 404
    assert client.get(f"/generate?household={key}&type=nonsense").status_code == 404


def test_invalid_form_shows_messages_beside_fields_and_takes_nothing(app, web, key):
    client = client_for(app, web, "caseworker")
    before = counts(web)
    data = refusal_form(client, key)
    data.update({"f.reason": "", "f.apply_date": "去年", "date": "2025-02-30"})
    response = client.post("/generate/preview", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    text = response.text
    assert "<html" not in text  # a fragment for htmx
    assert re.search(r'id="err-reason">请填写不予批准的理由<', text)
    assert 'id="err-apply_date"' in text and "去年" in text
    assert 'id="err-date"' in text
    assert 'aria-invalid="true"' in text
    issue = client.post("/generate/issue", data=data)
    assert issue.status_code == 400 and "请填写不予批准的理由" in issue.text
    assert counts(web) == before


def test_preview_is_a_draft_without_a_number_and_issue_takes_one(app, web, key):
    client = client_for(app, web, "caseworker")
    before = counts(web)
    response = client.post("/generate/preview", data=refusal_form(client, key), headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    assert "样稿预览" in response.text and "签发（取文号）" in response.text
    token = re.search(r"/generate/previews/([0-9a-f]{32})\.pdf", response.text).group(1)
    assert counts(web) == before  # nothing numbered, nothing recorded
    draft = client.get(f"/generate/previews/{token}.pdf")
    assert draft.status_code == 200 and draft.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(draft.content)).pages)
    assert "样稿" in text and "家庭财产超过规定" in text
    assert "青岩民不批〔2025〕" not in text
    image = client.get(f"/generate/previews/{token}/1.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    # another user cannot open this draft
    other = client_for(app, web, "admin")
    assert other.get(f"/generate/previews/{token}.pdf").status_code == 404
    assert client.get("/generate/previews/../../secure.pdf").status_code == 404

    home = open_home(web)
    try:
        last = home.db.execute("SELECT max(number_seq) FROM documents WHERE number_code='不批'").fetchone()[0] or 0
    finally:
        home.close()
    issued = client.post("/generate/issue", data=refusal_form(client, key), follow_redirects=False)
    assert issued.status_code == 303, issued.text
    location = issued.headers["location"]
    assert location.startswith("/documents/") and location.endswith("?done=issued")
    doc_id = location.split("/")[2].split("?")[0]
    assert counts(web) == (before[0] + 1, before[1] + 1)
    home = open_home(web)
    try:
        row = home.db.execute("SELECT number, number_seq FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        operator = home.db.execute("SELECT operator FROM audit WHERE action='document.generate' AND target=?",
                                   (doc_id,)).fetchone()[0]
    finally:
        home.close()
    assert row["number_seq"] == last + 1 and row["number"] == f"青岩民不批〔2025〕{last + 1}号"
    assert operator == web.user("caseworker")
    page = client.get(location).text
    assert "已签发" in page and row["number"] in page and "重印" in page and "作废" in page


def test_reprint_keeps_the_number_and_void_needs_a_reason(app, web, key):
    client = client_for(app, web, "caseworker")
    data = refusal_form(client, key, **{"_f_reason": "家庭人均收入高于标准（作废测试）"})
    doc_id = client.post("/generate/issue", data=data, follow_redirects=False).headers["location"].split("/")[2].split("?")[0]
    home = open_home(web)
    try:
        number = home.db.execute("SELECT number FROM documents WHERE doc_id=?", (doc_id,)).fetchone()[0]
    finally:
        home.close()
    original = client.get(f"/documents/{doc_id}/pdf").content
    response = client.post(f"/documents/{doc_id}/reprint", data={"csrftoken": csrf(client)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("done=reprinted")
    no_reason = client.post(f"/documents/{doc_id}/void", data={"csrftoken": csrf(client), "reason": "  "})
    assert no_reason.status_code == 400 and "作废文书必须说明原因" in no_reason.text
    voided = client.post(f"/documents/{doc_id}/void", data={"csrftoken": csrf(client), "reason": "金额填错"},
                         follow_redirects=False)
    assert voided.status_code == 303
    home = open_home(web)
    try:
        row = home.db.execute("SELECT status, void_reason, number FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        operator = home.db.execute("SELECT operator FROM audit WHERE action='document.void' AND target=?",
                                   (doc_id,)).fetchone()[0]
    finally:
        home.close()
    assert (row["status"], row["void_reason"], row["number"]) == ("voided", "金额填错", number)
    assert operator == web.user("caseworker")
    page = client.get(f"/documents/{doc_id}").text
    assert "已作废" in page and "（金额填错）" in page and 'action="/documents/' + doc_id + '/void"' not in page
    # what the browser opens and downloads now is the copy marked 作废, as search and `show` give it
    marked = client.get(f"/documents/{doc_id}/pdf").content
    assert marked != original
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(marked)).pages)
    assert "本文书已作废" in text
    assert "本文书已作废" not in "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(original)).pages)
    again = client.post(f"/documents/{doc_id}/reprint", data={"csrftoken": csrf(client)})
    assert again.status_code == 400 and "已作废" in again.text


WRITE_POSTS = ("/generate/preview", "/generate/issue", "/documents/{doc}/reprint", "/documents/{doc}/void")


def test_inspector_and_archivist_are_refused_every_generate_route(app, web, key):
    before = counts(web)
    for role in ("inspector", "archivist"):
        client = client_for(app, web, role)
        assert client.get(f"/generate?household={key}").status_code == 403
        for path in WRITE_POSTS:
            response = client.post(path.format(doc=web.doc_id),
                                   data=refusal_form(client, key, **{"reason": "x"}), follow_redirects=False)
            assert response.status_code == 403, (role, path)
        page = client.get(f"/documents/{web.doc_id}").text
        assert "/void" not in page and "/reprint" not in page
        assert "/generate?" not in client.get(f"/households/{key}").text
    assert counts(web) == before


def test_generate_posts_without_csrf_token_are_refused(app, web, key):
    client = client_for(app, web, "caseworker")
    before = counts(web)
    for path in WRITE_POSTS:
        data = {k: v for k, v in refusal_form(client, key).items() if k != "csrftoken"}
        data["reason"] = "无令牌"
        assert client.post(path.format(doc=web.doc_id), data=data).status_code == 403, path
    assert counts(web) == before


def test_preview_and_issue_refuse_alike_through_one_library_check(app, web, key):
    """A refusal dated before the application contradicts the history: the draft is refused with
    the same message the issue gives (one check in the library), beside the form, nothing taken."""
    from archive.documents.generate import Generator
    from archive.errors import ArchiveError

    contradiction = {"reason": "家庭财产超过规定", "apply_date": "2025-08-01"}
    home = open_home(web)
    try:
        messages = []
        for call in (Generator(home).household_preview, Generator(home).household_document):
            with pytest.raises(ArchiveError) as caught:
                call("refusal", web.head_id, dt.date(2025, 7, 9), dict(contradiction))
            messages.append(caught.value.message)
    finally:
        home.close()
    assert messages[0] == messages[1] and "日期相互矛盾" in messages[0]
    client = client_for(app, web, "caseworker")
    before = counts(web)
    data = refusal_form(client, key, _f_apply_date="2025-08-01")
    for path in ("/generate/preview", "/generate/issue"):
        response = client.post(path, data=data, headers={"HX-Request": "true"})
        assert response.status_code == 400, path
        assert "日期相互矛盾" in response.text and 'id="docform"' in response.text  # the form stays
        assert "样稿预览" not in response.text
    assert counts(web) == before
