"""The archive home's configuration file (config.yaml), validated by schemas/config.schema.json."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from archive import files
from archive.errors import ArchiveError, BadInputError, HomeMissingError, LockedError, UsageError
from archive.yamldoc import load_validated, validate

DEFAULT_APPEAL = {
    "review_days": 60,
    "litigation_months": 6,
}

# DA/T 22 classification: each document type files into a class with a problem code and a
# retention period. 审批类 household files and 日常管理类 records differ (check local rules).
DEFAULT_FILING: dict[str, Any] = {
    "classes": {
        "审批类": {"retention": "D30"},
        "日常管理类": {"retention": "D10"},
    },
    # a type's class comes from its template's `category` (documents/types.py); entries here
    # (config.yaml filing.type_classes) override it for a township whose rules differ
    "type_classes": {},
    "box_capacity": 50,
    "township_code": "XZ",
    "village_codes": {},
    "secrecy": "",
    # 必备材料 per 保障类别 (DOMAIN.md: 单户审批类 file); types as in `archive generate` and ingest
    "required_materials": {
        "低保": ["application", "declaration", "authorization", "home-visit", "approval", "hukou", "id-card"],
        "特困": ["application", "declaration", "authorization", "home-visit", "approval", "hukou", "id-card"],
        "低保边缘": ["application", "declaration", "authorization", "home-visit", "approval", "hukou", "id-card"],
        "临时救助": ["application", "approval", "id-card"],
    },
}

# Scan ingest (archive ingest): what one file may ask of memory and time; see scans/readers.Limits
DEFAULT_INGEST: dict[str, Any] = {
    "max_pages": 300,               # more pages: quarantined (split the file)
    "max_page_pixels": 36_000_000,  # a page's pixels at 300 dpi (about A2); larger: quarantined
    "max_attempts": 2,              # a file started this often without finishing (killed) is quarantined
    "settle_seconds": 1.0,          # a file modified this recently is looked at again before it is taken
    # with a broker (broker_url): a task taken by a worker that vanished (machine off, SIGKILL)
    # goes back to the queue after this many seconds (Redis visibility timeout; Celery's default)
    "queue_visibility_timeout": 3600,
}

DEFAULT_LEGAL_BASIS = {
    "refusal": "《社会救助暂行办法》《最低生活保障审核确认办法》（民发〔2021〕57号）",
    "suspension": "《社会救助暂行办法》《最低生活保障审核确认办法》（民发〔2021〕57号）第三十一条",
    "adjustment": "《社会救助暂行办法》《最低生活保障审核确认办法》（民发〔2021〕57号）第三十条",
    "confirmation": "《社会救助暂行办法》《最低生活保障审核确认办法》（民发〔2021〕57号）",
}


def short_name(township: str) -> str:
    """青岩镇 -> 青岩, used as the issuing-office code in 文号 (青岩民不批〔2025〕7号)."""
    for suffix in ("街道办事处", "街道", "镇", "乡"):
        if township.endswith(suffix) and len(township) > len(suffix):
            return township[: -len(suffix)]
    return township


@dataclass
class Config:
    fonds: str
    county: str
    township: str
    villages: list[str]
    township_short: str = ""
    office: str = ""
    province: str = ""
    city: str = ""
    complaint_phone: str = ""
    office_phone: str = ""
    dibao_standard: float | None = None
    publicity_days: int = 7
    refusal_deadline_working_days: int = 3
    operator: str = ""
    appeal: dict[str, Any] = field(default_factory=dict)
    legal_basis: dict[str, str] = field(default_factory=dict)
    fonts: dict[str, str] = field(default_factory=dict)
    holidays: list[str] = field(default_factory=list)
    ocr_model_dir: str = ""
    filing: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)   # hmac_key_file: makes the audit chain an HMAC
    signing: dict[str, Any] = field(default_factory=dict)
    ingest: dict[str, Any] = field(default_factory=dict)
    casework: dict[str, Any] = field(default_factory=dict)  # history, reviews, deadlines, retention, wording
    broker_url: str = ""  # a county deployment: OCR work goes to Celery workers through this Redis
    index: dict[str, Any] = field(default_factory=dict)  # backend: the full-text index backend
    database_url: str = ""     # a county deployment: the catalog in this PostgreSQL database
    database_schema: str = ""  # its schema (default archive_ + 全宗号 in lower case)
    path: Path | None = None

    def __post_init__(self) -> None:
        self.township_short = self.township_short or short_name(self.township)
        self.office = self.office or f"{self.township}人民政府"
        self.appeal = {
            "review_body": f"{self.county}人民政府",
            "court": f"{self.county}人民法院",
            **DEFAULT_APPEAL,
            **self.appeal,
        }
        self.legal_basis = {**DEFAULT_LEGAL_BASIS, **self.legal_basis}
        self.ingest = {**DEFAULT_INGEST, **self.ingest}
        given = self.filing
        self.filing = {**DEFAULT_FILING, **given}
        for key in ("classes", "type_classes", "required_materials", "village_codes"):
            self.filing[key] = {**DEFAULT_FILING[key], **given.get(key, {})}

    def village_code(self, village: str | None) -> str:
        """机构(问题)代码 of a village: configured, else C01, C02… in the order of the village list."""
        if not village:
            return self.filing["township_code"]
        codes = self.filing["village_codes"]
        if village in codes:
            return codes[village]
        index = self.villages.index(village) + 1 if village in self.villages else 99
        return f"C{index:02d}"

    def village_rank(self, village: str | None) -> int:
        """A village's place in the configured list (the office's own order, not the characters'
        code order); a village not in the list after all of them."""
        return self.villages.index(village) if village in self.villages else len(self.villages)

    def village_order_sql(self, column: str) -> tuple[str, list[str]]:
        """An ORDER BY term putting `column` (a village) in the configured order, and its arguments."""
        if not self.villages:
            return column, []
        cases = " ".join("WHEN ? THEN " + str(i) for i in range(len(self.villages)))
        return f"CASE {column} {cases} ELSE {len(self.villages)} END, {column}", list(self.villages)

    def filing_class(self, doc_type: str, default_class: str | None = None) -> tuple[str, str]:
        """(class name, retention) of a document type: config.yaml's filing.type_classes, else
        `default_class` (the type's category, see documents.types.filing_class), else 审批类."""
        name = self.filing["type_classes"].get(doc_type) or default_class or "审批类"
        return name, self.filing["classes"][name]["retention"]

    @property
    def holiday_dates(self) -> frozenset[dt.date]:
        return frozenset(dt.date.fromisoformat(day) for day in self.holidays)

    def require_village(self, village: str) -> str:
        """Return the configured spelling of `village`, or raise a Chinese error saying how to add it."""
        wanted = normalize_village(village)
        for known in self.villages:
            if normalize_village(known) == wanted:
                return known
        raise ArchiveError(
            f"村(社区)「{village}」不在本乡镇的村名单中（现有：{'、'.join(self.villages) or '无'}）",
            hint=f"如确属本乡镇，请先添加：archive village add {village}",
        )

    def to_yaml_dict(self) -> dict[str, Any]:
        data = {
            "fonds": self.fonds,
            "province": self.province,
            "city": self.city,
            "county": self.county,
            "township": self.township,
            "township_short": self.township_short,
            "office": self.office,
            "villages": list(self.villages),
            "complaint_phone": self.complaint_phone,
            "office_phone": self.office_phone,
            "dibao_standard": self.dibao_standard,
            "publicity_days": self.publicity_days,
            "refusal_deadline_working_days": self.refusal_deadline_working_days,
            "operator": self.operator,
            "appeal": self.appeal,
            "fonts": self.fonts,
            "holidays": self.holidays,
            "ocr_model_dir": self.ocr_model_dir,
            "filing": {"box_capacity": self.filing["box_capacity"]},
            "audit": self.audit,
            "signing": self.signing,
            "ingest": {k: v for k, v in self.ingest.items() if DEFAULT_INGEST.get(k) != v},
            "casework": self.casework,
            "broker_url": self.broker_url,
            "index": self.index,
            "database_url": self.database_url,
            "database_schema": self.database_schema,
        }
        return {key: value for key, value in data.items() if value not in ("", None, [], {})}

VILLAGE_NAME_MAX = 30  # characters; names become folder names under documents/


def check_village_names(names: list[str]) -> list[str]:
    """The names stripped, or a BadInputError naming every unusable one: empty, a path separator,
    a control character, only dots, or longer than VILLAGE_NAME_MAX (a village's name is a folder)."""
    problems: list[str] = []
    cleaned: list[str] = []
    for raw in names:
        name = raw.strip()
        shown = repr(raw) if any(unicodedata.category(c) == "Cc" for c in raw) else raw
        if not name:
            problems.append("村(社区)名称不能为空")
        elif "/" in name or "\\" in name:
            problems.append(f"「{shown}」含有路径分隔符（/ 或 \\），村名会成为文件夹名，不能含有它")
        elif any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
            problems.append(f"「{shown}」含有控制字符或不可见字符")
        elif set(name) == {"."}:
            problems.append(f"「{name}」不能作为村名")
        elif len(name) > VILLAGE_NAME_MAX:
            problems.append(f"「{name[:VILLAGE_NAME_MAX]}…」过长（{len(name)} 个字，最多 {VILLAGE_NAME_MAX} 个）")
        else:
            cleaned.append(name)
    if problems:
        raise BadInputError("村(社区)名称不可用：" + "；".join(problems),
                            hint="请使用村(社区)的正式名称，如 龙井村、新民社区")
    return cleaned


def normalize_village(name: str) -> str:
    return re.sub(r"\s+", "", name)


def load_config(path: Path) -> Config:
    if not path.exists():
        raise HomeMissingError(
            f"档案库配置文件不存在：{path}",
            hint="请先运行 archive --home 目录 init --township 乡镇 --county 县区 --fonds 全宗号 --villages 村1,村2",
        )
    data, _ = load_validated(path, "config") if not _lists_townships(path) else _county_home(path)
    return Config(**data, path=path)


def _lists_townships(path: Path) -> bool:
    from archive.county import is_county_root

    return path.name == "config.yaml" and is_county_root(path.parent)


def _county_home(path: Path):
    """A county home's root is no township: its commands need one picked (archive.county)."""
    from archive.county import CountyHome

    names = CountyHome(path.parent).townships
    raise UsageError(f"{path.parent} 是县级档案库（{len(names)} 个乡镇：{'、'.join(names) or '无'}），"
                     "乡镇的操作需要指定乡镇",
                     hint="用 --township 乡镇名 或环境变量 ARCHIVE_TOWNSHIP 指定")


def save_config(config: Config, path: Path) -> None:
    header = (
        "# 档案库配置（格式见 schemas/config.schema.json）。\n"
        "# 全宗号、乡镇、村名单、低保标准、救济途径等均可在此修改。\n"
    )
    body = yaml.safe_dump(config.to_yaml_dict(), allow_unicode=True, sort_keys=False)
    with config_lock(path):
        files.write_text_atomic(path, header + body)


LOCK_TIMEOUT_S = 60


@contextlib.contextmanager
def config_lock(path: Path) -> Iterator[None]:
    """One writer of config.yaml at a time, across processes (a lock file beside it in .locks/)."""
    from filelock import FileLock, Timeout

    folder = files.ensure_dir(path.parent / ".locks")
    lock = FileLock(str(folder / f"{path.name}.lock"), timeout=LOCK_TIMEOUT_S, mode=files.PRIVATE_FILE)
    try:
        with lock:
            yield
    except Timeout:
        raise LockedError(f"配置文件 {path} 正被另一个程序修改，{LOCK_TIMEOUT_S} 秒内未能取得写锁",
                          hint="请稍后再试") from None


def update_config(path: Path, change: Callable[[Any], Any]) -> tuple[Config, Any]:
    """Change config.yaml in place: read it under the lock, let `change` edit the round-trip
    document (a ruamel.yaml CommentedMap: every key, comment and order is kept), validate the
    result and write it atomically. Returns the new Config and what `change` returned."""
    from ruamel.yaml import YAML

    round_trip = YAML(typ="rt")
    round_trip.width = 4096  # never re-wrap long Chinese lines
    round_trip.preserve_quotes = True
    with config_lock(path):
        load_config(path)  # a missing, broken or invalid file: the usual Chinese error, nothing written
        document = round_trip.load(path.read_text(encoding="utf-8"))
        outcome = change(document)
        buffer = io.StringIO()
        round_trip.dump(document, buffer)
        text = buffer.getvalue()
        data = yaml.safe_load(text)
        validate(data, "config", path, {})
        files.write_text_atomic(path, text)
    config = load_config(path)
    return config, outcome
