"""`archive township add` takes the office settings `init` takes (--complaint-phone,
--office-phone, --dibao-standard) and warns, as `init` does without a terminal, about those left
empty (issue #15, the QA walk through docs/COUNTY.md)."""

from __future__ import annotations

import json

from conftest import run_cli

from archive.home import Home

ADD = ("township", "add", "青岩镇", "--county", "花溪区", "--fonds", "Z109", "--villages", "龙井村,思潜村",
       "--operator", "王敏")


def test_township_add_without_office_settings_warns_like_init(tmp_path):
    root = tmp_path / "花溪区"
    result = run_cli("--home", str(root), *ADD)
    assert result.exit_code == 0, result.stderr
    assert "注意：未设置监督举报电话、民政办公室电话、当地低保标准；需要它们的文书（如公示单）生成时会停止并提示。" in result.stderr
    assert "complaint_phone、office_phone、dibao_standard" in result.stderr
    assert "已添加乡镇：青岩镇" in result.stdout

    result = run_cli("--home", str(root), "township", "add", "黔陶乡", "--county", "花溪区", "--fonds", "Z110",
                     "--villages", "骑龙村", "--office-phone", "0851-83210001", "--json")
    assert result.exit_code == 0, result.stderr
    added = json.loads(result.stdout)
    assert added["unset"] == ["complaint_phone", "dibao_standard"]  # stable config.yaml keys


def test_township_add_takes_the_office_settings_into_the_townships_config(tmp_path):
    root = tmp_path / "花溪区"
    result = run_cli("--home", str(root), *ADD, "--complaint-phone", "0851-83200000",
                     "--office-phone", "0851-83200001", "--dibao-standard", "850")
    assert result.exit_code == 0, result.stderr
    assert "注意" not in result.stderr
    home = Home(root / "townships" / "青岩镇")
    try:
        config = home.config
        assert (config.complaint_phone, config.office_phone, config.dibao_standard) == \
            ("0851-83200000", "0851-83200001", 850.0)
    finally:
        home.close()


def test_township_add_refuses_a_dibao_standard_that_is_not_a_positive_number(tmp_path):
    root = tmp_path / "花溪区"
    result = run_cli("--home", str(root), *ADD, "--dibao-standard", "八百五")
    assert result.exit_code == 2
    assert "当地低保标准应为正数" in result.stderr
    assert not (root / "townships" / "青岩镇").exists()
