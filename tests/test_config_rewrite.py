"""`village add` changes config.yaml in place: every key and comment survives, writes are locked
and atomic, so concurrent additions are all kept."""

from __future__ import annotations

import multiprocessing as mp
import stat
from pathlib import Path

import yaml

from archive.config import load_config
from tests.conftest import run_cli

CONFIG = """\
# 青岩镇档案库配置（手工编辑过）
fonds: Z109
county: 花溪区
township: 青岩镇
villages:   # 村名单，顺序决定默认的机构代码
  - 龙井村
  - 思潜村
complaint_phone: 0851-83200000
legal_basis:
  refusal: 《贵州省最低生活保障办法》第十条   # 本省办法
filing:
  box_capacity: 30
  township_code: XZB
  village_codes:
    龙井村: C07   # 与县档案馆约定
    思潜村: C09
ocr_model_dir: /opt/models
"""


def _home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    assert run_cli("--home", str(root), "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                   "--villages", "龙井村,思潜村").exit_code == 0
    (root / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return root


def test_village_add_keeps_every_key_and_comment(tmp_path):
    root = _home(tmp_path)
    result = run_cli("--home", str(root), "village", "add", "杨眉村")
    assert result.exit_code == 0, result.stderr
    text = (root / "config.yaml").read_text(encoding="utf-8")
    for kept in ("# 青岩镇档案库配置（手工编辑过）", "# 村名单，顺序决定默认的机构代码", "# 与县档案馆约定", "# 本省办法"):
        assert kept in text
    data = yaml.safe_load(text)
    assert data["villages"] == ["龙井村", "思潜村", "杨眉村"]
    assert data["filing"] == {"box_capacity": 30, "township_code": "XZB", "village_codes": {"龙井村": "C07", "思潜村": "C09"}}
    assert data["legal_basis"] == {"refusal": "《贵州省最低生活保障办法》第十条"}
    assert data["ocr_model_dir"] == "/opt/models" and data["complaint_phone"] == "0851-83200000"
    config = load_config(root / "config.yaml")
    assert config.village_code("龙井村") == "C07" and config.village_code(None) == "XZB"
    assert config.village_code("杨眉村") == "C03"
    assert stat.S_IMODE((root / "config.yaml").stat().st_mode) == 0o600
    assert not [p for p in root.iterdir() if p.name.endswith(".tmp")]


def test_village_add_twice_changes_nothing(tmp_path):
    root = _home(tmp_path)
    run_cli("--home", str(root), "village", "add", "杨眉村")
    before = (root / "config.yaml").read_bytes()
    result = run_cli("--home", str(root), "village", "add", "杨眉村")
    assert result.exit_code == 0 and "均已存在" in result.stdout
    assert (root / "config.yaml").read_bytes() == before


def test_invalid_config_is_refused_and_left_alone(tmp_path):
    root = _home(tmp_path)
    broken = CONFIG.replace("box_capacity: 30", "box_capacity: 三十")
    (root / "config.yaml").write_text(broken, encoding="utf-8")
    result = run_cli("--home", str(root), "village", "add", "杨眉村")
    assert result.exit_code != 0 and "box_capacity" in result.stderr
    assert (root / "config.yaml").read_text(encoding="utf-8") == broken


def _add(args: tuple[str, str]) -> int:
    root, name = args
    from click.testing import CliRunner

    from archive.cli import cli

    return CliRunner().invoke(cli, ["--home", root, "village", "add", name]).exit_code


def test_concurrent_village_adds_lose_nothing(tmp_path):
    root = _home(tmp_path)
    names = [f"新村{i:02d}" for i in range(20)]
    with mp.get_context("fork").Pool(8) as pool:
        codes = pool.map(_add, [(str(root), name) for name in names])
    assert codes == [0] * 20
    data = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    assert data["villages"][:2] == ["龙井村", "思潜村"]
    assert sorted(data["villages"][2:]) == names
    assert data["filing"]["village_codes"] == {"龙井村": "C07", "思潜村": "C09"}
    assert "# 与县档案馆约定" in (root / "config.yaml").read_text(encoding="utf-8")
