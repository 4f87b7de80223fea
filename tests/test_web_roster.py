"""Importing a roster in the browser: problems as a table (row, column, reason, how to fix),
nothing imported until the file is clean; inspectors and archivists refused; CSRF needed."""

from __future__ import annotations

import csv
import datetime as dt
import io

from webfixtures import client_for, csrf, open_home

from archive import sample

HEADER = sample.ROSTER_HEADER[:11]


def roster_csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def good_rows(seed=41):
    township = sample.make_township(3, dt.date(2025, 7, 1), seed=seed, applicants=0)
    return [r[:11] for r in sample.roster_rows(township)]


def household_count(web) -> int:
    home = open_home(web)
    try:
        return home.db.execute("SELECT count(*) FROM households").fetchone()[0]
    finally:
        home.close()


def upload(client, name, content):
    return client.post("/roster/import", data={"csrftoken": csrf(client)},
                       files={"file": (name, content, "text/csv")})


def test_bad_roster_shows_a_table_of_problems_and_imports_nothing(app, web):
    client = client_for(app, web, "caseworker")
    assert "导入花名册" in client.get("/roster").text
    rows = good_rows()
    rows[0][6] = rows[0][6][:17] + ("0" if rows[0][6][17] != "0" else "1")  # wrong checksum
    rows[1][2] = "不存在村"
    before = household_count(web)
    response = upload(client, "坏花名册.csv", roster_csv(rows))
    assert response.status_code == 400
    text = response.text
    assert "<th>行</th><th>列</th><th>问题</th><th>改法</th>" in text
    assert "第2行" in text and "校验位" in text and "第3行" in text and "不存在村" in text
    assert "未导入任何数据" in text
    assert household_count(web) == before


def test_every_problem_says_how_to_fix_it(app, web):
    """The 改法 column comes from the library's hints: no problem row leaves it empty."""
    import re

    client = client_for(app, web, "caseworker")
    rows = good_rows(seed=43)
    rows[0][6] = rows[0][6][:17] + ("0" if rows[0][6][17] != "0" else "1")  # wrong checksum
    rows[1][2] = "不存在村"                                                   # unknown village
    rows[2][8] = "三人"                                                       # not a number
    rows[3][9] = "很多"                                                       # not an amount
    rows[4][10] = "去年"                                                      # not a date
    rows[5][1] = "别的镇"                                                     # another township
    rows[6][3] = ""                                                           # empty head name
    rows.append(list(rows[7]))                                               # the same person twice
    response = upload(client, "坏花名册.csv", roster_csv(rows))
    assert response.status_code == 400
    table = response.text.split("<th>改法</th>", 1)[1].split("</table>", 1)[0]
    problems = re.findall(r"<tr><td class=\"num\">第(\d+)行</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table)
    assert len(problems) >= 8
    for row, column, reason, fix in problems:
        assert fix.strip(), (row, column, reason)
    assert any("archive village add" in fix or "添加" in fix for *_, fix in problems)


def test_clean_roster_is_imported_and_audited_under_the_user(app, web):
    client = client_for(app, web, "caseworker")
    before = household_count(web)
    response = upload(client, "新花名册.csv", roster_csv(good_rows(seed=42)))
    assert response.status_code == 200, response.text
    assert "已导入「新花名册.csv」" in response.text and "新增 3 户" in response.text
    assert household_count(web) == before + 3
    again = upload(client, "新花名册.csv", roster_csv(good_rows(seed=42)))
    assert "此前已导入" in again.text
    home = open_home(web)
    try:
        operator = home.db.execute("SELECT operator FROM audit WHERE action='roster.import' ORDER BY id DESC").fetchone()[0]
    finally:
        home.close()
    assert operator == web.user("caseworker")


def test_wrong_file_kinds_are_refused_in_chinese(app, web):
    client = client_for(app, web, "caseworker")
    response = upload(client, "roster.xls", b"\xd0\xcf\x11\xe0 old excel")
    assert response.status_code == 400 and "不支持的花名册格式" in response.text
    response = upload(client, "roster.xlsx", b"not a zip at all")
    assert response.status_code == 400 and "无法打开 Excel 文件" in response.text
    assert "/tmp" not in response.text and "BadZipFile" not in response.text  # no server path, no English
    response = client.post("/roster/import", data={"csrftoken": csrf(client)})
    assert response.status_code == 400 and "请选择要导入的花名册文件" in response.text


def test_inspector_and_archivist_cannot_import_and_csrf_is_needed(app, web):
    before = household_count(web)
    for role in ("inspector", "archivist"):
        client = client_for(app, web, role)
        assert client.get("/roster").status_code == 403
        assert upload(client, "r.csv", roster_csv(good_rows(seed=43))).status_code == 403
        assert "/roster" not in client.get("/search").text
    client = client_for(app, web, "caseworker")
    response = client.post("/roster/import", files={"file": ("r.csv", roster_csv(good_rows(seed=43)), "text/csv")})
    assert response.status_code == 403
    assert household_count(web) == before


def test_upload_form_token_must_be_right_and_come_before_the_file(app, web):
    client = client_for(app, web, "caseworker")
    before = household_count(web)
    forged = client.post("/roster/import", data={"csrftoken": "forged"},
                         files={"file": ("r.csv", roster_csv(good_rows(seed=44)), "text/csv")})
    assert forged.status_code == 403 and "防伪令牌" in forged.text
    boundary = "----archive-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + roster_csv(good_rows(seed=44)) + (
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"csrftoken\"\r\n\r\n{csrf(client)}\r\n"
            f"--{boundary}--\r\n").encode()
    late = client.post("/roster/import", content=body,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert late.status_code == 403
    assert household_count(web) == before
