import csv
import json

import pytest

from archive import sample
from archive.errors import RosterError
from archive.roster.importer import import_roster
from tests.conftest import run_cli


def _count(home, table):
    return home.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_import_xlsx_builds_households_with_members(home, township):
    assert _count(home, "households") == len(township)
    assert _count(home, "members") == sum(len(h.members) for h in township)
    head = township[0].head
    row = home.db.execute("SELECT * FROM households WHERE id=?", (head.id_number,)).fetchone()
    assert row["head_name"] == head.name and row["village"] == township[0].village


@pytest.mark.pg_catalog  # also with the catalog in PostgreSQL (tests/conftest.py)
def test_reimport_same_file_changes_nothing(home, township, tmp_path):
    # the very file the fixture imported: written again, an XLSX gets a new save time and,
    # across a second's boundary, another SHA-256
    path = tmp_path / "roster.xlsx"
    before = home.db.execute("SELECT id, updated_at FROM households ORDER BY id").fetchall()
    result = import_roster(home.db, path, home.config, "tester")
    assert result.already_imported and result.added == 0 and result.updated == 0
    # the same data in another file (CSV) is recognised household by household
    result = import_roster(home.db, sample.write_roster_csv(township, tmp_path / "r.csv"), home.config, "tester")
    assert (result.added, result.updated, result.unchanged) == (0, 0, len(township))
    assert home.db.execute("SELECT id, updated_at FROM households ORDER BY id").fetchall() == before


def _write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_header_variants_and_gbk_are_accepted(home, tmp_path):
    h = sample.make_township(2, sample_month(), seed=99, applicants=0)
    header = [" 序 号", "乡镇（街道）", "村(社区)", "户主 姓名", "成员姓名", "与户主关系", "公民身份号码",
              "救助类别", "保障人数", "月保障金额(元)", "开始日期"]
    rows = [r[:11] for r in sample.roster_rows(h)]
    text = "\n".join(",".join(map(str, row)) for row in [header] + rows)
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gb18030"))
    result = import_roster(home.db, path, home.config, "tester")
    assert result.added == 2


def sample_month():
    import datetime as dt
    return dt.date(2025, 7, 1)


def _good_rows(seed=5):
    return [r[:11] for r in sample.roster_rows(sample.make_township(3, sample_month(), seed=seed, applicants=0))]


HEADER = sample.ROSTER_HEADER[:11]


def test_bad_rows_are_all_reported_and_nothing_is_imported(home, tmp_path):
    rows = _good_rows()
    rows[0][6] = rows[0][6][:17] + ("0" if rows[0][6][17] != "0" else "1")  # wrong checksum
    rows[1][2] = "不存在村"                                                   # unknown village
    rows[-1][7] = "优抚对象"                                                   # unknown category
    path = _write_csv(tmp_path / "bad.csv", HEADER, rows)
    before = _count(home, "households")
    with pytest.raises(RosterError) as info:
        import_roster(home.db, path, home.config, "tester")
    text = str(info.value)
    assert "第2行" in text and "校验位" in text
    assert "第3行" in text and "不存在村" in text and "archive village add" in text
    assert f"第{len(rows) + 1}行" in text and "优抚对象" in text
    assert _count(home, "households") == before


def test_member_row_without_its_head_is_refused(home, tmp_path):
    rows = _good_rows()
    member_rows = [r for r in rows if r[5] != "本人"]
    path = _write_csv(tmp_path / "orphan.csv", HEADER, member_rows[:1])
    with pytest.raises(RosterError, match="户主行"):
        import_roster(home.db, path, home.config, "tester")


def test_missing_column_is_named(home, tmp_path):
    header = [h for h in HEADER if h != "保障类别"]
    rows = [r[:7] + r[8:] for r in _good_rows()]
    path = _write_csv(tmp_path / "nocat.csv", header, rows)
    with pytest.raises(RosterError, match="保障类别"):
        import_roster(home.db, path, home.config, "tester")


def test_cli_reports_json_and_exits_nonzero_on_bad_file(home, tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    result = run_cli("--home", str(home.root), "roster", "import", str(path))
    assert result.exit_code != 0 and "已损坏" in result.stderr
    rows = _good_rows(seed=11)
    rows[0][6] = "12345"
    bad = _write_csv(tmp_path / "bad.csv", HEADER, rows)
    result = run_cli("--home", str(home.root), "roster", "import", str(bad), "--json")
    assert result.exit_code == 4 and not result.stdout
    payload = json.loads(result.stderr.splitlines()[-1])
    assert payload["kind"] == "bad_input" and payload["code"] == 4 and payload["problems"][0]["row"] == 2
    good = _write_csv(tmp_path / "good.csv", HEADER, _good_rows(seed=12))
    result = run_cli("--home", str(home.root), "roster", "import", str(good), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["added"] == 3


def test_unsupported_format(home, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    result = run_cli("--home", str(home.root), "roster", "import", str(path))
    assert result.exit_code != 0 and "另存为" in result.stderr


def test_households_yaml_file_is_validated_and_imported(home, tmp_path):
    import yaml

    township = sample.make_township(2, sample_month(), seed=21, applicants=0)
    data = {"households": [
        {"village": h.village, "category": h.category, "amount": h.amount, "start_date": h.start.isoformat(),
         "members": [{"name": m.name, "relation": m.relation, "id_number": m.id_number} for m in h.members]}
        for h in township]}
    path = tmp_path / "households.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert import_roster(home.db, path, home.config, "t").added == 2
    # a bad checksum is reported at its line in the YAML file
    data["households"][1]["members"][0]["id_number"] = "520111199001011230"
    data["households"][1]["village"] = "月亮村"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    id_line = next(i for i, line in enumerate(lines, 1) if "520111199001011230" in line)
    with pytest.raises(RosterError) as info:
        import_roster(home.db, path, home.config, "t")
    assert f"第{id_line}行" in str(info.value) and "月亮村" in str(info.value)
    # schema errors name the field and the line
    path.write_text("households:\n  - village: 龙井村\n    category: 五保\n    amount: 很多\n    members: []\n",
                    encoding="utf-8")
    with pytest.raises(RosterError, match=r"第4行.*amount"):
        import_roster(home.db, path, home.config, "t")


# --- ID numbers, regions, old numbers, categories, encodings (issue 11) ----------------------

def _lucky_id() -> tuple[str, str]:
    """An ID whose value rounded to Excel's 15 significant digits is itself a valid ID number."""
    import datetime as dt
    from decimal import ROUND_HALF_UP, Decimal

    from archive import idcard

    for serial in range(1000):
        number = idcard.make("520111", dt.date(1968, 3, 14), serial)
        if number.endswith("X"):
            continue
        rounded = str(int(Decimal(number).scaleb(-3).to_integral_value(ROUND_HALF_UP)) * 1000)
        if rounded != number and idcard.is_valid(rounded):
            return number, rounded
    raise AssertionError("no such ID in 1000 serials")


def test_xlsx_with_numeric_id_cells_is_refused_even_when_the_rounded_value_passes(home, tmp_path):
    from openpyxl import load_workbook

    from archive import idcard
    from archive.roster.checks import NUMERIC_ID

    township = sample.make_township(3, sample_month(), seed=31, applicants=0)
    true_id, rounded = _lucky_id()
    assert idcard.is_valid(rounded) and rounded != true_id  # the case that slipped through
    township[0].members[0].id_number = true_id
    path = sample.write_roster_xlsx(township, tmp_path / "numeric.xlsx")
    book = load_workbook(path)
    sheet = book.active
    sheet.cell(3, 7).value = int(rounded)                       # what Excel kept of the number
    digits_row = next(r for r in range(4, sheet.max_row + 1) if sheet.cell(r, 7).value[-1] != "X")
    sheet.cell(digits_row, 7).value = float(sheet.cell(digits_row, 7).value)
    sheet.cell(3, 7).number_format = sheet.cell(digits_row, 7).number_format = "0"
    book.save(path)
    before = _count(home, "households")
    with pytest.raises(RosterError) as info:
        import_roster(home.db, path, home.config, "tester")
    numeric = [p for p in info.value.problems if NUMERIC_ID in p.message]
    assert [p.row for p in numeric] == [3, digits_row]
    assert all(p.column == "身份证号" and p.hint for p in numeric)
    assert _count(home, "households") == before
    assert home.db.execute("SELECT 1 FROM members WHERE id_number=?", (rounded,)).fetchone() is None


def test_csv_with_scientific_notation_ids_is_refused(home, tmp_path):
    rows = _good_rows(seed=32)
    member = next(i for i, r in enumerate(rows) if r[5] != "本人")
    rows[member][6] = "5.20111E+17"
    path = _write_csv(tmp_path / "sci.csv", HEADER, rows)
    with pytest.raises(RosterError) as info:
        import_roster(home.db, path, home.config, "tester")
    (problem,) = info.value.problems
    assert problem.row == member + 2 and "以数字格式保存" in problem.message and "5.20111E+17" in problem.message


def test_region_codes_unknown_refused_other_county_flagged(home, tmp_path):
    import datetime as dt

    from archive import idcard

    rows = _good_rows(seed=33)
    heads = [i for i, r in enumerate(rows) if r[5] == "本人"]
    rows[heads[0]][6] = idcard.make("000000", dt.date(1970, 1, 1), 5)
    rows[heads[0]][3] = rows[heads[0]][4]
    path = _write_csv(tmp_path / "zero.csv", HEADER, rows)
    with pytest.raises(RosterError) as info:
        import_roster(home.db, path, home.config, "tester")
    assert any(p.row == heads[0] + 2 and "地区码 000000" in p.message for p in info.value.problems)

    rows = _good_rows(seed=33)
    moved = idcard.make("110101", dt.date(1970, 1, 1), 5)      # 北京市东城区: valid, not 花溪区
    rows[heads[1]][6] = moved
    path = _write_csv(tmp_path / "moved.csv", HEADER, rows)
    result = import_roster(home.db, path, home.config, "tester")
    assert result.added == 3
    (flag,) = [f for f in result.findings if f.level == "warning" and "地区码" in f.message]
    assert flag.row == heads[1] + 2 and "110101" in flag.message and "花溪区" in flag.message
    assert "东城区" in flag.message and "不属于花溪区" in result.summary_zh()
    assert flag.to_json() == {"row": heads[1] + 2, "column": "身份证号", "message": flag.message,
                              "hint": flag.hint, "level": "warning"}


def test_old_15_digit_ids_are_upgraded_with_a_note_or_refused(home, tmp_path):
    rows = _good_rows(seed=34)
    member = next(i for i, r in enumerate(rows) if r[5] != "本人")
    new18 = rows[member][6]
    rows[member][6] = new18[:6] + new18[8:17]                 # the same person's 15-digit number
    path = _write_csv(tmp_path / "old.csv", HEADER, rows)
    result = import_roster(home.db, path, home.config, "tester")
    (note,) = [f for f in result.findings if f.level == "note"]
    assert note.row == member + 2 and rows[member][6] in note.message and new18 in note.message
    assert "升为18位" in result.summary_zh()
    assert home.db.execute("SELECT 1 FROM members WHERE id_number=?", (new18,)).fetchone()

    rows = _good_rows(seed=35)
    rows[member][6] = "520111901301123"                       # month 13: no such date
    path = _write_csv(tmp_path / "old-bad.csv", HEADER, rows)
    with pytest.raises(RosterError) as info:
        import_roster(home.db, path, home.config, "tester")
    (problem,) = info.value.problems
    assert problem.row == member + 2 and "无法升为18位" in problem.message and problem.hint


def test_wubao_is_the_old_name_of_tekun(home, tmp_path):
    rows = _good_rows(seed=36)
    heads = [i for i, r in enumerate(rows) if r[5] == "本人"]
    for r in rows:
        if r[3] == rows[heads[0]][3]:
            r[7] = "五保"
        if r[3] == rows[heads[1]][3]:
            r[7] = "五保户"
    path = _write_csv(tmp_path / "wubao.csv", HEADER, rows)
    result = import_roster(home.db, path, home.config, "tester")
    for position in heads[:2]:
        row = home.db.execute("SELECT category FROM households WHERE id=?", (rows[position][6],)).fetchone()
        assert row["category"] == "特困"
    notes = [f for f in result.findings if f.level == "note" and "旧称" in f.message]
    assert [n.row for n in notes] == [heads[0] + 2, heads[1] + 2]


def test_household_file_takes_wubao_and_roster_statuses_as_the_roster_does(home, tmp_path):
    """The YAML/JSON household file and the roster share the category and status checks: 五保 is
    the old name of 特困 in both, 停发 is 停保, and a category neither knows is refused at its line."""
    import yaml

    township = sample.make_township(3, sample_month(), seed=52, applicants=0)
    data = {"households": [
        {"village": h.village, "category": h.category, "amount": h.amount, "start_date": h.start.isoformat(),
         "members": [{"name": m.name, "relation": m.relation, "id_number": m.id_number} for m in h.members]}
        for h in township]}
    data["households"][0]["category"] = "五保"
    data["households"][1]["category"] = "五保户"
    data["households"][1]["status"] = "停发"
    data["households"][2]["category"] = "五金"
    path = tmp_path / "households.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if "五金" in line)
    with pytest.raises(RosterError) as info:
        import_roster(home.db, path, home.config, "t")
    (problem,) = info.value.problems
    assert problem.row == bad_line and "保障类别「五金」无法识别" in problem.message
    data["households"][2]["category"] = "城乡低保"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = import_roster(home.db, path, home.config, "t")
    assert result.added == 3
    stored = {row["id"]: (row["category"], row["status"]) for row in home.db.execute("SELECT * FROM households")}
    heads = [h.members[0].id_number for h in township]
    assert stored[heads[0]] == ("特困", "active")
    assert stored[heads[1]] == ("特困", "stopped")
    assert stored[heads[2]] == ("低保", "active")
    notes = [f for f in result.findings if f.level == "note" and "旧称" in f.message]
    assert len(notes) == 2


def _roster_text(seed: int) -> tuple[str, list]:
    township = sample.make_township(3, sample_month(), seed=seed, applicants=0)
    rows = [sample.ROSTER_HEADER] + sample.roster_rows(township)
    return "\n".join(",".join(map(str, r)) for r in rows) + "\n", township


def test_big5_csv_is_read_as_big5_and_names_kept_traditional(home, tmp_path):
    import opencc

    text, township = _roster_text(41)
    traditional = opencc.OpenCC("s2t").convert(text)
    assert traditional != text and "戶主姓名" in traditional
    path = tmp_path / "big5.csv"
    path.write_bytes(traditional.encode("big5"))
    result = import_roster(home.db, path, home.config, "tester")
    assert result.added == 3 and result.encoding in ("big5", "cp950", "big5hkscs")
    assert "Big5" in result.summary_zh()
    head = township[0].head
    row = home.db.execute("SELECT head_name, village FROM households WHERE id=?", (head.id_number,)).fetchone()
    assert row["head_name"] == opencc.OpenCC("s2t").convert(head.name)   # as written, not garbled
    assert row["village"] == township[0].village                          # matched to 龙井村 etc.


def test_shift_jis_csv_is_not_imported_as_garbage(home, tmp_path):
    import opencc

    text, _ = _roster_text(42)
    japanese = opencc.OpenCC("t2jp").convert(opencc.OpenCC("s2t").convert(text))
    for name in {line.split(",")[4] for line in japanese.splitlines()[1:]}:
        japanese = japanese.replace(name, "ﾀﾅｶ ﾀﾛｳ")              # a Japanese system's names
    path = tmp_path / "sjis.csv"
    # what Shift-JIS cannot hold (份, 员 ...) the Japanese system wrote as "?"
    path.write_bytes(japanese.encode("shift_jis", errors="replace"))
    before = _count(home, "households")
    with pytest.raises(RosterError, match="Shift-JIS"):
        import_roster(home.db, path, home.config, "tester")
    assert _count(home, "households") == before


def test_mojibake_names_are_refused_naming_the_row(home, tmp_path):
    rows = _good_rows(seed=43)
    # a name that went UTF-8 -> Latin-1 -> UTF-8 on the way (Ã©, å›½ ...), and a private-use one
    member = next(i for i, r in enumerate(rows) if r[5] != "本人")
    rows[member][4] = rows[member][4].encode("utf-8").decode("cp1252", errors="replace")
    rows[0][3] = rows[0][4] = "\ue000" + rows[0][4][1:]
    path = _write_csv(tmp_path / "mojibake.csv", HEADER, rows)
    with pytest.raises(RosterError) as info:
        import_roster(home.db, path, home.config, "tester")
    found = {(p.row, p.column) for p in info.value.problems}
    assert (member + 2, "成员姓名") in found and (2, "户主姓名") in found and (2, "成员姓名") in found
    assert all("编码" in p.hint for p in info.value.problems if "不是有效的中文姓名" in p.message)
    # the whole file read through Latin-1: the header itself is mojibake
    text, _ = _roster_text(44)
    path = tmp_path / "latin1.csv"
    path.write_text(text.encode("utf-8").decode("latin-1"), encoding="utf-8")
    with pytest.raises(RosterError, match="乱码"):
        import_roster(home.db, path, home.config, "tester")


def test_utf8_and_gbk_csv_still_import(home, tmp_path):
    text, _ = _roster_text(45)
    for encoding, name in (("utf-8", "u8.csv"), ("gbk", "gbk.csv")):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        result = import_roster(home.db, path, home.config, "tester")
        assert result.encoding in ("utf_8", "gb18030") and not result.findings
        assert result.added + result.unchanged == 3


def test_problems_are_structured_for_a_table(home, tmp_path):
    rows = _good_rows(seed=46)
    rows[0][6] = "5.20111E+17"
    rows[1][2] = "不存在村"
    path = _write_csv(tmp_path / "two.csv", HEADER, rows)
    before = _count(home, "households")
    result = run_cli("--home", str(home.root), "roster", "import", str(path), "--json")
    payload = json.loads(result.stderr.splitlines()[-1])
    assert result.exit_code == 4 and payload["kind"] == "bad_input" and "error" in payload
    first, second = payload["problems"]
    assert first["row"] == 2 and first["column"] == "身份证号" and "以数字格式保存" in first["message"]
    assert first["hint"] and second["row"] == 3 and second["column"] == "村(社区)"
    assert _count(home, "households") == before


def test_household_file_shares_the_row_checks(home, tmp_path):
    import datetime as dt

    import yaml

    from archive import idcard

    township = sample.make_township(2, sample_month(), seed=47, applicants=0)
    data = {"households": [
        {"village": h.village, "category": h.category, "amount": h.amount, "start_date": h.start.isoformat(),
         "members": [{"name": m.name, "relation": m.relation, "id_number": m.id_number} for m in h.members]}
        for h in township]}
    new18 = data["households"][0]["members"][0]["id_number"]
    data["households"][0]["members"][0]["id_number"] = new18[:6] + new18[8:17]
    data["households"][1]["members"][0]["id_number"] = idcard.make("000000", dt.date(1970, 1, 1), 7)
    path = tmp_path / "households.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(RosterError) as info:
        import_roster(home.db, path, home.config, "t")
    (problem,) = info.value.problems
    assert "地区码 000000" in problem.message
    data["households"].pop()
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = import_roster(home.db, path, home.config, "t")
    assert result.added == 1 and any("升为18位" in f.message for f in result.findings)
    assert home.db.execute("SELECT 1 FROM households WHERE id=?", (new18,)).fetchone()


def test_unknown_county_is_said_once_not_per_row(home, tmp_path):
    home.config.county = "月亮县"
    result = import_roster(home.db, _write_csv(tmp_path / "c.csv", HEADER, _good_rows(seed=48)), home.config, "t")
    assert result.added == 3 and not any(f.level == "warning" for f in result.findings)
    assert "「月亮县」在行政区划代码表中找不到" in result.summary_zh()


def test_text_id_ending_in_000_is_flagged(home, tmp_path):
    # a CSV written from a numeric column formatted "0": the rounded number as plain digits
    true_id, rounded = _lucky_id()
    rows = _good_rows(seed=49)
    member = next(i for i, r in enumerate(rows) if r[5] != "本人")
    rows[member][6] = rounded
    result = import_roster(home.db, _write_csv(tmp_path / "z.csv", HEADER, rows), home.config, "t")
    (flag,) = [f for f in result.findings if "000" in f.message]
    assert flag.level == "warning" and flag.row == member + 2 and flag.hint
