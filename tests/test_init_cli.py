import json
import os
import shutil

import yaml

from tests.conftest import run_cli


def test_init_creates_home_and_refuses_to_overwrite(tmp_path):
    home = tmp_path / "h"
    args = ["--home", str(home), "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
            "--villages", "龙井村,思潜村,新关村"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((home / "config.yaml").read_text(encoding="utf-8"))
    assert config["villages"] == ["龙井村", "思潜村", "新关村"] and config["township_short"] == "青岩"
    assert (home / "catalog.sqlite").exists() and (home / "scans").is_dir()
    again = run_cli(*args)
    assert again.exit_code != 0 and "不会覆盖" in again.stderr


def test_bad_fonds_is_refused_before_anything_is_written(tmp_path):
    result = run_cli("--home", str(tmp_path / "h"), "init", "--township", "青岩镇", "--county", "花溪区",
                     "--fonds", "Z 109!", "--villages", "龙井村")
    assert result.exit_code != 0 and "fonds" in result.stderr
    assert not (tmp_path / "h" / "config.yaml").exists()


def test_village_add_and_missing_home(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHIVE_HOME", raising=False)
    result = run_cli("village", "list")
    assert result.exit_code != 0 and "ARCHIVE_HOME" in result.stderr
    home = tmp_path / "h"
    run_cli("--home", str(home), "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
            "--villages", "龙井村")
    monkeypatch.setenv("ARCHIVE_HOME", str(home))
    assert run_cli("village", "add", "杨眉村").exit_code == 0
    assert run_cli("village", "list").stdout.split() == ["龙井村", "杨眉村"]


def test_corrupt_config_is_reported_with_line(tmp_path):
    home = tmp_path / "h"
    run_cli("--home", str(home), "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
            "--villages", "龙井村")
    path = home / "config.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "publicity_days: 七天\n", encoding="utf-8")
    result = run_cli("--home", str(home), "village", "list")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert result.exit_code != 0 and "publicity_days" in result.stderr and f"第{len(lines)}行" in result.stderr


def test_demo_builds_a_month(tmp_path):
    result = run_cli("--home", str(tmp_path / "demo"), "demo", "--households", "40")
    assert result.exit_code == 0, result.output
    assert "共生成" in result.stdout
    assert "网页版" in result.stdout and "用户名 督查演示" in result.stdout  # one demo user per role
    # the command it prints runs as printed, on PATH or not (a new user has no `archive` on PATH)
    serve = next(line.split()[0] for line in result.stdout.splitlines() if line.rstrip().endswith(" serve"))
    assert shutil.which(serve) or os.access(serve, os.X_OK), serve
    pdfs = list((tmp_path / "demo" / "documents").rglob("*.pdf"))
    assert len(pdfs) > 10
    assert "四性检测" in result.stdout and "全部通过" in result.stdout
    _assert_the_month_tells_a_consistent_story(tmp_path / "demo")
    # running it again rebuilds its own folder; a foreign folder is never emptied
    assert run_cli("--home", str(tmp_path / "demo"), "demo", "--households", "10").exit_code == 0
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    result = run_cli("--home", str(other), "demo")
    assert result.exit_code != 0 and (other / "keep.txt").exists()


def _assert_the_month_tells_a_consistent_story(root) -> None:
    """Application, investigation, publicity (ended) before the approvals that cite it; refusals
    after their application; a 复核 round; the month's records dated at its end."""
    import sqlite3

    conn = sqlite3.connect(root / "catalog.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        events: dict[str, dict[str, list[str]]] = {}
        for row in conn.execute("SELECT e.household_id, e.kind, e.event_date, e.detail FROM case_events e "
                                "JOIN documents d ON d.doc_id=e.doc_id WHERE d.status='active'"):
            events.setdefault(row["household_id"], {}).setdefault(row["kind"], []).append(row["event_date"])
            if row["kind"] == "publicity":
                events[row["household_id"]].setdefault("publicity_until", []).append(
                    json.loads(row["detail"])["until"])
        approved = {h: e for h, e in events.items() if "approval" in e}
        assert approved
        for kinds in approved.values():
            assert max(kinds["application"]) < min(kinds["investigation"]) < min(kinds["publicity"])
            assert max(kinds["publicity_until"]) < min(kinds["approval"])
        cited = [json.loads(row["params"]).get("publicity_to") for row in conn.execute(
            "SELECT params FROM documents WHERE type='confirmation' AND origin='generated'")]
        assert cited and all(cited)
        for kinds in events.values():
            if "refusal" in kinds:
                assert min(kinds["application"]) <= min(kinds["refusal"])
        assert any("review" in kinds for kinds in events.values())
        dated = dict(conn.execute("SELECT type, max(doc_date) FROM documents WHERE type IN "
                                  "('roster','statistics','dynamic-record') GROUP BY type").fetchall())
        assert dated == {"roster": "2025-07-31", "statistics": "2025-07-31", "dynamic-record": "2025-07-31"}
    finally:
        conn.close()


INIT = ["init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109", "--villages", "龙井村"]


def _operator(home) -> str:
    return yaml.safe_load((home / "config.yaml").read_text(encoding="utf-8")).get("operator", "")


def test_init_takes_the_operator_from_the_option_prompt_or_environment(tmp_path, monkeypatch):
    import archive.cli

    monkeypatch.delenv("ARCHIVE_OPERATOR", raising=False)
    given = run_cli("--home", str(tmp_path / "a"), *INIT, "--operator", " 王敏 ", "--json")
    assert given.exit_code == 0, given.output
    assert _operator(tmp_path / "a") == "王敏" and '"operator": "王敏"' in given.stdout
    from archive.home import Home

    entry = Home(tmp_path / "a").db.execute("SELECT operator FROM audit WHERE action='init'").fetchone()
    assert entry["operator"] == "王敏"

    monkeypatch.setattr(archive.cli, "_interactive", lambda: True)  # a person at the terminal is asked
    asked = run_cli("--home", str(tmp_path / "b"), *INIT, input="李华\n0851-83200000\n\n850\n")
    assert asked.exit_code == 0 and "整理人" in asked.output and _operator(tmp_path / "b") == "李华"
    # the office settings documents print are asked for too; one left empty is named
    written = yaml.safe_load((tmp_path / "b" / "config.yaml").read_text(encoding="utf-8"))
    assert "监督举报电话" in asked.output and "当地最低生活保障标准" in asked.output
    assert written["complaint_phone"] == "0851-83200000" and written["dibao_standard"] == 850
    assert "未设置民政办公室电话" in asked.stderr and "office_phone" in asked.stderr

    monkeypatch.setattr(archive.cli, "_interactive", lambda: False)  # a script: the environment
    monkeypatch.setenv("ARCHIVE_OPERATOR", "赵六")
    assert run_cli("--home", str(tmp_path / "c"), *INIT).exit_code == 0
    assert _operator(tmp_path / "c") == "赵六"

    bad = run_cli("--home", str(tmp_path / "d"), *INIT, "--operator", "王\x07敏")
    assert bad.exit_code == 4 and "控制字符" in bad.stderr and not (tmp_path / "d" / "config.yaml").exists()


def test_init_without_any_operator_warns_and_names_no_login(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHIVE_OPERATOR", raising=False)
    result = run_cli("--home", str(tmp_path / "h"), *INIT)
    assert result.exit_code == 0 and "整理人" in result.stderr
    from archive.home import Home

    assert _operator(tmp_path / "h") in ("", None) and Home(tmp_path / "h").named_operator is None


def test_init_takes_the_office_settings_and_names_the_unset_ones(tmp_path, monkeypatch):
    import archive.cli

    monkeypatch.setattr(archive.cli, "_interactive", lambda: False)
    given = run_cli("--home", str(tmp_path / "a"), *INIT, "--operator", "王敏", "--complaint-phone", "0851-83200000",
                    "--office-phone", "0851-83200001", "--dibao-standard", "850", "--json")
    assert given.exit_code == 0, given.output
    assert json.loads(given.stdout)["unset"] == []
    written = yaml.safe_load((tmp_path / "a" / "config.yaml").read_text(encoding="utf-8"))
    assert (written["complaint_phone"], written["office_phone"], written["dibao_standard"]) == \
        ("0851-83200000", "0851-83200001", 850)
    bare = run_cli("--home", str(tmp_path / "b"), *INIT, "--operator", "王敏")
    assert bare.exit_code == 0
    assert "未设置监督举报电话、民政办公室电话、当地低保标准" in bare.stderr
    bad = run_cli("--home", str(tmp_path / "c"), *INIT, "--operator", "王敏", "--dibao-standard", "八百五")
    assert bad.exit_code == 2 and "八百五" in bad.stderr and not (tmp_path / "c" / "config.yaml").exists()
