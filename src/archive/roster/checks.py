"""Checks shared by every source of households (roster rows, households.yaml/.json entries):
ID numbers, duplicates, villages, start dates, categories (with their older names such as 五保)
and statuses. Each finding is a RowProblem with
row, column, message and hint; errors block the import, warnings and notes do not."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from archive import idcard, regions
from archive.config import Config
from archive.dates import parse_date
from archive.errors import ArchiveError, RowProblem
from archive.roster.text import simplified

CATEGORIES = ("低保", "特困", "临时救助", "低保边缘")
CATEGORY_ALIASES = {
    "低保": "低保", "最低生活保障": "低保", "城市低保": "低保", "农村低保": "低保",
    "城乡低保": "低保", "特困": "特困", "特困供养": "特困", "特困人员": "特困",
    "特困人员救助供养": "特困", "临时救助": "临时救助", "临救": "临时救助",
    "低保边缘": "低保边缘", "低边": "低保边缘", "低保边缘家庭": "低保边缘",
    # the older term for 特困 (农村五保供养), still on many rosters
    "五保": "特困", "五保户": "特困", "五保供养": "特困", "农村五保": "特困", "五保对象": "特困",
}
OLD_TERMS = {"五保", "五保户", "五保供养", "农村五保", "五保对象"}
# 状态: in assistance, applying (开始日期 is then the application date), or stopped
STATUS_ALIASES = {
    "在保": "active", "正常": "active", "享受中": "active", "": "active",
    "申请中": "applicant", "申请": "applicant", "待审": "applicant", "待审核": "applicant",
    "停保": "stopped", "停发": "stopped", "退出": "stopped", "已退出": "stopped",
}

# an ID typed into a numeric cell: Excel keeps 15 significant digits and shows 5.20111E+17
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d*)?[eE][+-]?\d+$")
NUMERIC_ID = "身份证号以数字格式保存，末几位已丢失；请把该列设为文本后重新导出"
NUMERIC_HINT = "Excel 只保留15位有效数字，改回文本格式也找不回丢失的末几位：请从原系统重新导出，或按户口簿重新录入"


def lost_digits(value: Any) -> bool:
    """Whether an ID cell was stored as a number that cannot hold all its digits: a numeric
    cell of more than 15 digits, a fraction, or scientific notation from a CSV Excel wrote. A
    15-digit (old) ID fits in a number exactly and is not refused."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return not (value.is_integer() and len(str(int(value))) == 15)
    if isinstance(value, int):
        return len(str(abs(value))) != 15
    return isinstance(value, str) and bool(_SCIENTIFIC.match(value.strip()))


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class RowChecks:
    """Collects the findings of one file; `seen` remembers ID numbers across its rows."""

    def __init__(self, config: Config, *, today: dt.date | None = None) -> None:
        self.config = config
        self.today = today
        self.problems: list[RowProblem] = []
        self.findings: list[RowProblem] = []   # warnings and notes
        self.seen: dict[str, int] = {}
        self.county_codes = regions.codes_named(config.county)

    def error(self, row: int, message: str, column: str | None = None, hint: str | None = None) -> None:
        self.problems.append(RowProblem(row, message, column, hint=hint))

    def warn(self, row: int, message: str, column: str | None = None, hint: str | None = None) -> None:
        self.findings.append(RowProblem(row, message, column, hint=hint, level="warning"))

    def note(self, row: int, message: str, column: str | None = None) -> None:
        self.findings.append(RowProblem(row, message, column, level="note"))

    def id_number(self, raw: Any, row: int, column: str | None) -> str | None:
        """The normalised 18-digit ID, or None after recording why it cannot be used."""
        if lost_digits(raw):
            self.error(row, f"{NUMERIC_ID}（表中读到 {_number_text(raw)}）", column, NUMERIC_HINT)
            return None
        number = idcard.normalize(_number_text(raw))
        if idcard.is_old(number):
            new, reason = idcard.upgrade(number, today=self.today)
            if new is None:
                self.error(row, str(reason), column, "请按户口簿或新身份证核对后填写18位号码")
                return None
            self.note(row, f"15位旧身份证号 {number} 已按 GB 11643 升为18位 {new}", column)
            number = new
        reason = idcard.problem(number, today=self.today)
        if reason:
            self.error(row, reason, column, "请按户口簿或身份证核对后填写18位号码（末位 X 用大写）")
            return None
        if number in self.seen:
            self.error(row, f"身份证号 {number} 与第{self.seen[number]}行重复", column,
                       f"同一人只应有一行：删去重复的一行，或按户口簿核对第{self.seen[number]}行和本行哪一个号码填错了")
            return None
        self.seen[number] = row
        if number.endswith("000"):
            # passes the checksum, but so does 1 in 11 numbers Excel rounded to 15 digits
            self.warn(row, f"身份证号 {number} 末三位为 000，可能是以数字格式保存后丢失了末几位", column,
                      "请按户口簿核对；如确有丢失，请把该列设为文本后重新导出")
        if self.county_codes and number[:6] not in self.county_codes:
            self.warn(row, f"身份证号 {idcard.mask(number)} 的地区码 {number[:6]}（{regions.name_of(number[:6])}）"
                      f"不属于{self.config.county}", column, "户籍迁入或人户分离时属正常，请核实")
        return number

    def village(self, raw: str, row: int, column: str | None) -> str:
        try:
            return self.config.require_village(raw)
        except ArchiveError as exc:
            plain = simplified(raw)
            if plain != raw:
                try:
                    return self.config.require_village(plain)
                except ArchiveError:
                    pass
            self.error(row, exc.message, column, exc.hint)
            return raw

    def start_date(self, raw: Any, row: int, column: str | None) -> str:
        try:
            return parse_date(raw).isoformat()
        except ValueError as exc:
            self.error(row, str(exc), column, "写成 2025-07-01 或 2025年7月1日；单元格设为日期或文本格式")
            return ""

    def category(self, raw: str, row: int, column: str | None, *, note_old_term: bool = True) -> str | None:
        key = re.sub(r"\s+", "", raw)
        category = CATEGORY_ALIASES.get(key) or CATEGORY_ALIASES.get(simplified(key))
        if category is None:
            self.error(row, f"保障类别「{raw}」无法识别，应为 {'、'.join(CATEGORIES)} 之一", column,
                       "「五保」「五保户」按特困记")
        elif note_old_term and (key in OLD_TERMS or simplified(key) in OLD_TERMS):
            self.note(row, f"保障类别「{raw}」是旧称，按「{category}」导入", column)
        return category

    def status(self, raw: str, row: int, column: str | None) -> str | None:
        """active / applicant / stopped; an empty cell is 在保."""
        key = re.sub(r"\s+", "", raw or "")
        status = STATUS_ALIASES.get(key) or STATUS_ALIASES.get(simplified(key))
        if status is None:
            self.error(row, f"状态「{raw}」无法识别，应为 在保、申请中 或 停保", column,
                       "改为 在保、申请中 或 停保 之一；空着按在保导入")
        return status
