"""A county home: one deployment, many townships (issue #15, docs/COUNTY.md).

    config.yaml            county: 花溪区, townships: [青岩镇, 黔陶乡, …]   (schemas/county.schema.json)
    catalog.sqlite         the county's catalog: its accounts (users.township limits one to a
                           township) and the county's audit log; the other tables stay empty
    townships/青岩镇/       a complete township home (its own config.yaml with 全宗号 and villages,
                           catalog, documents, scans, index): every library function works on it
                           unchanged, and its settings (database_schema, index, broker_url) are its own

A folder is a county home when its config.yaml lists `townships`. `resolve_home` picks a township
for a command (`--township`, ARCHIVE_TOWNSHIP, or the only one); the county's own functions
(township add, accounts, search across townships, backup) work on `CountyHome`.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from archive import catalog, files, migrations
from archive.config import Config, config_lock, short_name
from archive.errors import (
    ArchiveError,
    BadInputError,
    ConflictError,
    HomeExistsError,
    NotFoundError,
    UsageError,
)
from archive.home import CATALOG_NAME, CONFIG_NAME, Home, init_home
from archive.yamldoc import load_validated, validate

TOWNSHIPS_DIR = "townships"
TOWNSHIP_ENV = "ARCHIVE_TOWNSHIP"
TOWNSHIP_NAME_MAX = 30
HEADER = ("# 县级档案库配置（格式见 schemas/county.schema.json）。一个部署，多个乡镇：\n"
          "# 每个乡镇是 townships/乡镇名/ 下一个完整的乡镇档案库（各自的 config.yaml、全宗号、村名单）。\n"
          "# 用 archive township add 添加乡镇，不要手工改 townships 一项。\n")


@dataclass
class CountyConfig:
    county: str
    townships: list[str]
    province: str = ""
    city: str = ""
    operator: str = ""
    audit: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def to_yaml_dict(self) -> dict[str, Any]:
        data = {"county": self.county, "province": self.province, "city": self.city,
                "townships": list(self.townships), "operator": self.operator, "audit": self.audit}
        return {key: value for key, value in data.items() if value not in ("", None, {}) or key == "townships"}


def is_county_config(data: object) -> bool:
    """Whether parsed config.yaml data is a county home's (it lists townships)."""
    return isinstance(data, dict) and "townships" in data


def is_county_root(root: Path) -> bool:
    """Whether `root` holds a county home (a cheap look at its config.yaml; False when unreadable:
    the township home's own loading then reports the problem in the usual way)."""
    path = root / CONFIG_NAME
    try:
        with open(path, encoding="utf-8") as handle:
            head = handle.read(64 * 1024)
    except (OSError, UnicodeDecodeError):
        return False
    if "townships" not in head:
        return False
    try:
        return is_county_config(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return False


def load_county_config(path: Path) -> CountyConfig:
    data, _ = load_validated(path, "county")
    return CountyConfig(**data, path=path)


def save_county_config(config: CountyConfig, path: Path) -> None:
    data = config.to_yaml_dict()
    validate(data, "county", path, {})
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    files.write_text_atomic(path, HEADER + body)


def check_township_name(raw: str) -> str:
    """A township's name stripped, or BadInputError: it becomes a folder name under townships/."""
    name = (raw or "").strip()
    if not name:
        raise BadInputError("乡镇(街道)名称不能为空")
    if "/" in name or "\\" in name:
        raise BadInputError(f"乡镇名「{name}」含有路径分隔符（/ 或 \\），乡镇名会成为文件夹名，不能含有它")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise BadInputError(f"乡镇名「{name!r}」含有控制字符或不可见字符")
    if set(name) == {"."} or name.startswith("."):
        raise BadInputError(f"「{name}」不能作为乡镇名")
    if len(name) > TOWNSHIP_NAME_MAX:
        raise BadInputError(f"乡镇名过长（{len(name)} 个字，最多 {TOWNSHIP_NAME_MAX} 个）")
    return name


class CountyHome(Home):
    """The county's root folder. Its catalog holds the county's accounts and audit log; the
    townships are complete homes in townships/<name>/ (`township`)."""

    @cached_property
    def config(self) -> CountyConfig:  # type: ignore[override]
        return load_county_config(self.config_path)

    @property
    def catalog_target(self) -> tuple[str, str] | None:
        """The county's own catalog (accounts, audit) is catalog.sqlite; its townships' may be in
        PostgreSQL, each in its own schema (their config.yaml's database_url)."""
        return None

    @property
    def county(self) -> str:
        return self.config.county

    @property
    def townships(self) -> list[str]:
        return list(self.config.townships)

    @property
    def townships_dir(self) -> Path:
        return self.root / TOWNSHIPS_DIR

    def township_root(self, name: str) -> Path:
        return self.townships_dir / name

    def find_township(self, name: str) -> str:
        """The configured spelling of a township (its full name or its short name, 青岩 for 青岩镇);
        a usage error listing the townships otherwise."""
        wanted = (name or "").strip()
        for known in self.townships:
            if wanted in (known, short_name(known)):
                return known
        raise UsageError(f"{self.county}没有乡镇「{wanted}」（现有：{'、'.join(self.townships) or '无'}）",
                         hint="用 archive township list 查看，或 archive township add 添加")

    def township(self, name: str) -> Home:
        """The township home of `name` (checked against the county's list)."""
        return Home(self.township_root(self.find_township(name)))

    def pick(self, name: str | None) -> str:
        """The township a command works on: `name` (--township), else ARCHIVE_TOWNSHIP, else the
        only one; with several and none named, a usage error listing them."""
        name = name or os.environ.get(TOWNSHIP_ENV, "").strip() or None
        if name:
            return self.find_township(name)
        townships = self.townships
        if len(townships) == 1:
            return townships[0]
        if not townships:
            raise UsageError(f"县级档案库 {self.root}（{self.county}）还没有乡镇",
                             hint="请先添加：archive township add 乡镇名 --county 县区 --fonds 全宗号 --villages 村1,村2")
        raise UsageError(f"县级档案库 {self.root} 有 {len(townships)} 个乡镇（{'、'.join(townships)}），"
                         "请指定其中一个",
                         hint=f"用 --township 乡镇名 或环境变量 {TOWNSHIP_ENV} 指定，如 --township {townships[0]}")

    def township_homes(self, names: list[str] | None = None) -> list[tuple[str, Home]]:
        """(name, home) of the given townships (all by default), in the county's order."""
        chosen = [self.find_township(n) for n in names] if names else self.townships
        return [(name, Home(self.township_root(name))) for name in chosen]


def county_root_of(home_root: Path) -> Path | None:
    """The county home a township home belongs to (its townships/<name>/ folder listed in the
    county's config.yaml), or None for a township home on its own."""
    parent = home_root.absolute().parent
    if parent.name != TOWNSHIPS_DIR or not is_county_root(parent.parent):
        return None
    try:
        listed = load_county_config(parent.parent / CONFIG_NAME).townships
    except ArchiveError:
        return None
    return parent.parent if home_root.absolute().name in listed else None


def open_home(root: Path, township: str | None = None) -> Home:
    """The home a township-level command works on: a township home as it is (a `township` naming
    another township is refused), or the chosen township of a county home."""
    if is_county_root(root):
        county = CountyHome(root)
        return Home(county.township_root(county.pick(township)))
    home = Home(root)
    wanted = (township or "").strip()
    if wanted and home.config_path.exists() and wanted not in (home.config.township, home.config.township_short):
        raise UsageError(f"档案库 {root} 是{home.config.township}的档案库，不是「{wanted}」的",
                         hint=f"请检查 --township 或环境变量 {TOWNSHIP_ENV}")
    return home


def init_county(root: Path, county: str, operator: str = "", province: str = "", city: str = "") -> CountyHome:
    """Create an empty county home (config.yaml, the county's catalog, townships/)."""
    files.ensure_dir(root)
    home = CountyHome(root)
    if home.config_path.exists():
        raise HomeExistsError(f"{root} 已经是一个档案库（存在 {CONFIG_NAME}），不会覆盖")
    if any(root.iterdir()):
        raise HomeExistsError(f"{root} 不是空目录，不会在其中建立县级档案库", hint="请指定一个不存在的目录或空目录")
    os.chmod(root, files.PRIVATE_DIR)
    files.ensure_dir(home.townships_dir)
    config = CountyConfig(county=county.strip(), townships=[], province=province, city=city, operator=operator)
    if not config.county:
        raise BadInputError("县(区)名称不能为空")
    save_county_config(config, home.config_path)
    config.path = home.config_path
    home.__dict__["config"] = config
    files.create_private_file(home.catalog_path)
    schema = migrations.create_catalog(home.catalog_path)
    with catalog.transaction(home.db):
        catalog.audit(home.db, home.operator, "county.init", str(root), {"county": config.county, "schema": schema.after})
    return home


@dataclass
class TownshipAdded:
    county: str
    township: str
    fonds: str
    villages: list[str]
    home: str
    created_county: bool
    unset: list[str] = field(default_factory=list)  # office settings left empty (config.yaml keys), as init's

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def add_township(root: Path, name: str, *, county: str, fonds: str, villages: list[str], operator: str = "",
                 province: str = "", city: str = "", complaint_phone: str = "", office_phone: str = "",
                 dibao_standard: float | None = None) -> TownshipAdded:
    """`archive township add`: a new township home in townships/<name>/ of the county home at
    `root` (made first when `root` is absent or empty). Its 全宗号 must differ from every other
    township's; `county` must be the county home's."""
    from archive.config import check_village_names

    name = check_township_name(name)
    villages = check_village_names(villages)
    created = False
    if not (root / CONFIG_NAME).exists():
        init_county(root, county, province=province, city=city)
        created = True
    elif not is_county_root(root):
        raise ConflictError(f"{root} 是一个乡镇档案库，不是县级档案库，不能在其中添加乡镇",
                            hint="县级档案库请建在新的空目录中：archive --home 新目录 township add …")
    home = CountyHome(root)
    try:
        if county.strip() != home.county:
            raise ArchiveError(f"县级档案库 {root} 是{home.county}的，不是「{county}」的",
                               hint=f"请用 --county {home.county}")
        with config_lock(home.config_path):
            home.__dict__.pop("config", None)
            config = home.config
            if name in config.townships:
                raise ConflictError(f"{home.county}已有乡镇「{name}」")
            for other in config.townships:
                other_fonds = Home(home.township_root(other)).config.fonds
                if other_fonds.upper() == fonds.upper():
                    raise ConflictError(f"全宗号 {fonds} 已由{other}使用；每个乡镇有自己的全宗号")
            target = home.township_root(name)
            if target.exists() and any(target.iterdir()):
                raise HomeExistsError(f"{target} 已存在且不是空目录，不会覆盖")
            township_config = Config(fonds=fonds, county=home.county, township=name, villages=villages,
                                     province=province or config.province, city=city or config.city,
                                     complaint_phone=complaint_phone.strip(), office_phone=office_phone.strip(),
                                     dibao_standard=dibao_standard, operator=operator)
            validate(township_config.to_yaml_dict(), "config", Path("--命令行参数--"), {})
            township = init_home(target, township_config)
            township.close()
            config.townships.append(name)
            save_county_config(config, home.config_path)
        with catalog.transaction(home.db):
            catalog.audit(home.db, home.operator, "township.add", name,
                          {"fonds": fonds, "villages": villages, "folder": f"{TOWNSHIPS_DIR}/{name}"})
        unset = [key for key, value in (("complaint_phone", township_config.complaint_phone),
                                        ("office_phone", township_config.office_phone),
                                        ("dibao_standard", dibao_standard)) if value in ("", None)]
        return TownshipAdded(home.county, name, fonds, villages, str(target), created, unset)
    finally:
        home.close()


def list_townships(root: Path) -> list[dict[str, Any]]:
    """Each township of a county home: name, 全宗号, villages, folder."""
    if not is_county_root(root):
        raise NotFoundError(f"{root} 不是县级档案库（config.yaml 中没有 townships）")
    home = CountyHome(root)
    out = []
    for name, township in home.township_homes():
        config = township.config
        out.append({"township": name, "fonds": config.fonds, "villages": list(config.villages),
                    "home": str(township.root)})
    return out


def accounts_home(root: Path) -> Home:
    """Where the accounts of a deployment live: the county's catalog for a county home, the
    home itself otherwise."""
    return CountyHome(root) if is_county_root(root) else Home(root)


def catalog_exists(root: Path) -> bool:
    return (root / CATALOG_NAME).exists()


def search_townships(county: CountyHome, text: str, townships: list[str] | None = None, **filters: Any):
    """Search across a county's townships (all, or those named): see `search_homes`."""
    homes = county.township_homes(townships)
    try:
        return search_homes(homes, text, **filters)
    finally:
        for _, home in homes:
            home.close()


def search_homes(homes: list[tuple[str, Home]], text: str, *, village: str | None = None,
                 doc_type: str | None = None, category: str | None = None, year: int | None = None,
                 month: str | None = None, household: str | None = None, limit: int = 20):
    """Each township's own index is searched with the same query and filters, and the hits are
    merged by score, each labelled with its township (Hit.township, HouseholdHit.township). A
    village filter applies to the townships that have the village (an error when none has it).
    Returns a search.engine.SearchResult."""
    import time

    from archive.search.engine import SearchResult
    from archive.search.engine import search as search_one

    started = time.perf_counter()
    if village:
        having = [(name, home) for name, home in homes if _has_village(home, village)]
        if not having:
            raise ArchiveError(f"村(社区)「{village}」不在{'、'.join(name for name, _ in homes)}的村名单中")
        homes = having
    merged = SearchResult(query=text.strip(), total=0, hits=[], seconds=0.0)
    for name, home in homes:
        result = search_one(home, text, village=village, doc_type=doc_type, category=category, year=year,
                            month=month, household=household, limit=limit)
        merged.query = result.query
        merged.total += result.total
        merged.exact = merged.exact and result.exact
        for hit in result.hits:
            hit.township = name
        for found in result.households:
            found.township = name
        merged.hits.extend(result.hits)
        merged.households.extend(result.households)
    # the townships' ranks, merged: exact before approximate, then by score (each township's index
    # scores with its own statistics, which is close enough to interleave them)
    merged.hits.sort(key=lambda hit: (hit.approximate, -hit.score))
    merged.hits = merged.hits[:limit]
    merged.households = merged.households[:limit]
    merged.seconds = time.perf_counter() - started
    return merged


def _has_village(home: Home, village: str) -> bool:
    try:
        home.config.require_village(village)
    except ArchiveError:
        return False
    return True


@dataclass
class LevelVerified:
    """One part of a county's `archive verify`: the county's own catalog (township None) or a
    township. Machine output carries stable values (level, county, township); the label is for people."""
    county: str
    township: str | None
    result: Any  # archive.filing.verify.VerifyResult

    @property
    def label(self) -> str:
        return self.township if self.township is not None else f"{self.county}（县级）"

    def to_json(self) -> dict[str, Any]:
        return {**self.result.to_json(), "level": "township" if self.township is not None else "county",
                "county": self.county, "township": self.township}


def verify_county(county: CountyHome, check_usability: bool = True) -> list[LevelVerified]:
    """`archive verify` of a whole county home: the county catalog's audit chain (its accounts and
    township additions), then each township's full 四性检测."""
    import time

    from archive.filing.verify import Context, VerifyResult, check_audit_chain, verify

    started = time.perf_counter()
    own = VerifyResult()
    check_audit_chain(Context(county, own, check_usability))
    own.seconds = time.perf_counter() - started
    results = [LevelVerified(county.county, None, own)]
    for name, home in county.township_homes():
        try:
            results.append(LevelVerified(county.county, name, verify(home, check_usability)))
        finally:
            home.close()
    return results
