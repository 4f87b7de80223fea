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
    assert result.exit_code != 0
    payload = json.loads(result.stdout.splitlines()[0])
    assert payload["ok"] is False and payload["problems"][0]["row"] == 2
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
    path.write_text("households:\n  - village: 龙井村\n    category: 五保\n    members: []\n", encoding="utf-8")
    with pytest.raises(RosterError, match=r"第3行.*category"):
        import_roster(home.db, path, home.config, "t")
