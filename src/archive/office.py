"""The office's own settings, as an administrator edits them (the web's 办公设置): the township,
its short name for 文号, the issuing office, the two phone numbers printed on notices, the local
低保 standard, and the villages with their codes (机构(问题)代码 in the 档号) and their order.

Every value is checked first (all problems at once, by field, in Chinese); then config.yaml is
changed in place under its lock and written atomically (config.update_config: every other key and
comment is kept), and the change is audited with each old and new value. A village that holds
households cannot be removed or renamed here (its documents are filed under its name); new
villages are added at the end of the list, and the list can be put in the office's own order."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from archive import catalog
from archive.config import VILLAGE_NAME_MAX, check_village_names, update_config
from archive.errors import ArchiveError, BadInputError
from archive.home import Home

TEXT_FIELDS = {  # name -> (label, required, longest)
    "township": ("乡镇（街道）", True, 20),
    "township_short": ("文号机关代字", True, 6),
    "office": ("发文机关署名", True, 30),
    "complaint_phone": ("监督举报电话", False, 30),
    "office_phone": ("办公电话", False, 30),
}
_PHONE = re.compile(r"[0-9][0-9\- ()（）转,，、]{5,29}")
_CODE = re.compile(r"[A-Z0-9]{1,6}")
_UNSAFE = re.compile(r"[\\/\x00-\x1f]")
MAX_STANDARD = 100000


@dataclass
class OfficeSettings:
    township: str
    township_short: str
    office: str
    complaint_phone: str
    office_phone: str
    dibao_standard: float | None
    villages: list[tuple[str, str]] = field(default_factory=list)   # (name, code) in the configured order
    households: dict[str, int] = field(default_factory=dict)        # village -> households in it

    def to_json(self) -> dict[str, Any]:
        return {"township": self.township, "township_short": self.township_short, "office": self.office,
                "complaint_phone": self.complaint_phone, "office_phone": self.office_phone,
                "dibao_standard": self.dibao_standard,
                "villages": [{"name": n, "code": c, "households": self.households.get(n, 0)} for n, c in self.villages]}


def office_settings(home: Home) -> OfficeSettings:
    config = home.config
    counts = {row[0]: row[1] for row in home.db.execute("SELECT village, count(*) FROM households GROUP BY village")}
    return OfficeSettings(config.township, config.township_short, config.office, config.complaint_phone,
                          config.office_phone, config.dibao_standard,
                          [(v, config.village_code(v)) for v in config.villages], counts)


@dataclass
class SettingsChange:
    """What an administrator submitted: the text fields, the standard as typed, and the villages
    in their new order as (name, code), with new ones at the end."""
    values: dict[str, str]
    standard: str
    villages: list[tuple[str, str]]


def settings_problems(home: Home, change: SettingsChange) -> dict[str, str]:
    """Field name -> what is wrong with it (Chinese); empty when everything can be saved. Villages
    are reported under `villages`."""
    problems: dict[str, str] = {}
    for name, (label, required, longest) in TEXT_FIELDS.items():
        value = change.values.get(name, "").strip()
        if not value:
            if required:
                problems[name] = f"请填写{label}"
            continue
        if len(value) > longest:
            problems[name] = f"{label}太长：{len(value)} 个字，最多 {longest} 个"
        elif _UNSAFE.search(value):
            problems[name] = f"{label}不能含有 / \\ 或控制字符"
        elif name.endswith("phone") and not _PHONE.fullmatch(value):
            problems[name] = f"「{value}」不像电话号码：写成 0851-83200000 这样的数字和连字符"
    standard = change.standard.strip()
    if standard:
        try:
            amount = float(standard)
        except ValueError:
            problems["dibao_standard"] = f"「{standard}」不是金额：写成 650 或 650.50（元/人/月）"
        else:
            if not 0 < amount <= MAX_STANDARD or round(amount, 2) != amount:
                problems["dibao_standard"] = f"低保标准应在 0 到 {MAX_STANDARD} 元之间，最多两位小数"
    village_problems = _village_problems(home, change.villages)
    if village_problems:
        problems["villages"] = "；".join(village_problems)
    return problems


def _village_problems(home: Home, villages: list[tuple[str, str]]) -> list[str]:
    out: list[str] = []
    names = [name.strip() for name, _ in villages]
    try:
        check_village_names(names)
    except BadInputError as exc:
        out.append(exc.message)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            out.append(f"村(社区)「{name}」重复")
        seen.add(name)
    codes: dict[str, str] = {}
    for name, typed in villages:
        name = name.strip()
        # a village left without a code gets C01, C02… by its place: that must not clash either
        code = typed.strip().upper() or (_default_code(names, name) if name in names else "")
        if not code:
            continue
        if not _CODE.fullmatch(code):
            out.append(f"「{name}」的代码「{code}」不对：1 到 6 位大写字母或数字，如 C01")
        elif code in codes:
            out.append(f"「{name}」和「{codes[code]}」的代码都是 {code}，代码不能重复")
        else:
            codes[code] = name
    kept = set(names)
    for village in home.config.villages:
        if village not in kept:
            held = home.db.execute("SELECT count(*) FROM households WHERE village=?", (village,)).fetchone()[0]
            filed = home.db.execute("SELECT count(*) FROM documents WHERE village=?", (village,)).fetchone()[0]
            if held or filed:
                out.append(f"「{village}」有 {held} 户、{filed} 份文书，不能删除或改名（档案按村名存放）")
    if not names:
        out.append("至少要有一个村(社区)")
    return out


def update_office_settings(home: Home, change: SettingsChange) -> dict[str, list[Any]]:
    """Check and save the settings; returns what changed (name -> [old, new]), audited as
    `config.update`. Raises BadInputError listing every problem when anything is wrong."""
    problems = settings_problems(home, change)
    if problems:
        raise BadInputError("办公设置有需要改正的内容：" + "；".join(problems.values()),
                            hint="改正后再保存；未保存任何内容")
    before = office_settings(home)
    standard = round(float(change.standard), 2) if change.standard.strip() else None
    villages = [(name.strip(), code.strip().upper()) for name, code in change.villages]
    changes: dict[str, list[Any]] = {}

    def edit(document) -> None:
        for name in TEXT_FIELDS:
            new = change.values.get(name, "").strip()
            old = getattr(before, name)
            if new != old:
                changes[name] = [old, new]
                if new:
                    document[name] = new
                elif name in document:
                    del document[name]
        if standard != before.dibao_standard:
            changes["dibao_standard"] = [before.dibao_standard, standard]
            if standard is None:
                document.pop("dibao_standard", None)
            else:
                document["dibao_standard"] = int(standard) if standard == int(standard) else standard
        names = [name for name, _ in villages]
        if names != list(document.get("villages") or []):
            changes["villages"] = [list(document.get("villages") or []), names]
            document["villages"] = names
        wanted = {name: code for name, code in villages if code}
        current = dict((document.get("filing") or {}).get("village_codes") or {})
        given = {name: code for name, code in current.items() if name in names}
        # a code equal to the default (C01… by position) need not be written; one typed is kept
        desired = {name: code for name, code in wanted.items() if given.get(name) or code != _default_code(names, name)}
        if desired != given:
            changes["village_codes"] = [given, desired]
            if "filing" not in document or document["filing"] is None:
                document["filing"] = {}
            document["filing"]["village_codes"] = desired
            if not desired:
                del document["filing"]["village_codes"]
                if not document["filing"]:
                    del document["filing"]

    config, _ = update_config(home.config_path, edit)
    if not changes:
        return {}
    home.__dict__["config"] = config
    with catalog.transaction(home.db):
        catalog.audit(home.db, home.operator, "config.update", None, {"changes": changes})
    return changes


def _default_code(names: list[str], name: str) -> str:
    return f"C{names.index(name) + 1:02d}"


def parse_villages(names: list[str], codes: list[str], order: list[str] | None = None) -> list[tuple[str, str]]:
    """The village rows of a form: names and codes side by side, sorted by the order numbers
    typed (a row without one keeps its place); empty rows (no name, no code) dropped."""
    rows = []
    for index, name in enumerate(names):
        code = codes[index] if index < len(codes) else ""
        if not name.strip() and not code.strip():
            continue
        typed = (order[index] if order and index < len(order) else "").strip()
        try:
            place = float(typed) if typed else index + 1
        except ValueError:
            raise ArchiveError(f"「{name}」的顺序「{typed}」应为数字") from None
        rows.append((place, index, name[:VILLAGE_NAME_MAX + 10], code[:12]))
    rows.sort()
    return [(name, code) for _, _, name, code in rows]
