"""A county home for tests: townships added with `archive township add`, each with its own sample
roster (its own name and villages in every row), optionally a broker for OCR workers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from conftest import run_cli

from archive import sample

MONTH = dt.date(2025, 7, 1)


@dataclass
class Township:
    name: str
    fonds: str
    villages: list[str]
    seed: int
    households: list = field(default_factory=list)

    def folder(self, root: Path) -> Path:
        return root / "townships" / self.name


THREE = [Township("青岩镇", "Z109", ["龙井村", "思潜村", "新关村", "杨眉村", "北街社区"], 3),
         Township("黔陶乡", "Z110", ["骑龙村", "老中寨村", "半坡村", "谷洒村", "黔陶社区"], 5),
         Township("马铃乡", "Z111", ["谷中村", "凯坝村", "马铃村", "乐榜村", "马铃社区"], 8)]


def roster_csv(township: Township, folder: Path, count: int = 12) -> Path:
    """The sample roster, rewritten as this township's (its name and villages in every row)."""
    households = sample.make_township(count, MONTH, seed=township.seed, applicants=1)
    for household in households:
        household.village = township.villages[sample.VILLAGES.index(household.village)]
    township.households = households
    path = sample.write_roster_csv(households, folder / f"{township.name}-花名册.csv")
    path.write_text(path.read_text(encoding="utf-8-sig").replace(sample.TOWNSHIP, township.name), encoding="utf-8")
    return path


def add_township(root: Path, township: Township) -> None:
    result = run_cli("--home", str(root), "township", "add", township.name, "--county", "花溪区",
                     "--fonds", township.fonds, "--villages", ",".join(township.villages), "--operator", "王敏",
                     "--json")
    assert result.exit_code == 0, result.stderr


def import_roster(root: Path, township: Township, folder: Path, count: int = 12) -> None:
    result = run_cli("--home", str(root), "--township", township.name, "roster", "import",
                     str(roster_csv(township, folder, count)), "--json")
    assert result.exit_code == 0, result.stderr


def use_broker(root: Path, township: Township, broker: str, visibility: int = 5) -> None:
    """broker_url and a short visibility timeout in the township's config.yaml."""
    with open(township.folder(root) / "config.yaml", "a", encoding="utf-8") as handle:
        handle.write(f"broker_url: {broker}\ningest:\n  queue_visibility_timeout: {visibility}\n")
