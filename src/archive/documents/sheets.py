"""Monthly XLSX records: the 花名册 (one row per member, in the import layout, so it can be
imported again) and the 人数资金统计表 (households, people and money by village and category)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from archive.dates import cn_month, month_end
from archive.roster.households import HouseholdRecord
from archive.roster.importer import CATEGORIES
from archive.workbooks import print_wide, title_row, workbook_bytes

ROSTER_HEADER = ["序号", "乡镇(街道)", "村(社区)", "户主姓名", "成员姓名", "与户主关系", "身份证号",
                 "保障类别", "保障人数", "月保障金额(元)", "开始日期", "近亲属备案"]

_THIN = Side(style="thin")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_TITLE_FONT = Font(name="方正小标宋简体", size=16)
_HEAD_FONT = Font(name="黑体", size=11)
_BODY_FONT = Font(name="仿宋_GB2312", size=11)


def households_in_month(households: list[HouseholdRecord], month: dt.date) -> list[HouseholdRecord]:
    """Households receiving assistance in the month: active, started on or before its last day."""
    last = month_end(month).isoformat()
    return [h for h in households if h.status == "active" and (h.start_date or "") <= last]


def _title(sheet, text: str, width: int) -> None:
    title_row(sheet, text, width, _TITLE_FONT)


def _header(sheet, row: int, names: list[str]) -> None:
    for column, name in enumerate(names, start=1):
        cell = sheet.cell(row, column, name)
        cell.font = _HEAD_FONT
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def roster_xlsx(township: str, households: list[HouseholdRecord], month: dt.date,
                villages: list[str] | None = None) -> bytes:
    """The month's 花名册, one row per person, households in the configured order of `villages`."""
    order = {name: index for index, name in enumerate(villages or [])}
    households = sorted(households, key=lambda h: order.get(h.village, len(order)))
    book = Workbook()
    sheet = book.active
    sheet.title = "花名册"
    _title(sheet, f"{township}{cn_month(month)}社会救助对象花名册", len(ROSTER_HEADER))
    _header(sheet, 2, ROSTER_HEADER)
    # ID numbers are text: as numbers Excel would round them to 15 digits
    serial = 0
    for household in households:
        serial += 1
        for member in household.members:
            sheet.append([serial, township, household.village, household.head_name, member.name,
                          member.relation, member.id_number, household.category, household.covered,
                          household.amount, household.start_date, "是" if household.kin_filed else "否"])
            for cell in sheet[sheet.max_row]:
                cell.font = _BODY_FONT
                cell.border = _BORDER
            sheet.cell(sheet.max_row, 7).number_format = "@"
            sheet.cell(sheet.max_row, 10).number_format = "0.00"
    print_wide(sheet, [6, 10, 10, 10, 10, 10, 21, 9, 9, 13, 12, 10], header_row=2)
    return _save(book)


def statistics_xlsx(township: str, households: list[HouseholdRecord], month: dt.date,
                    villages: list[str] | None = None) -> bytes:
    """Households, people and monthly amount by village and category, with totals: every village
    of `villages` in that (the configured) order, one without assisted households as 0; a village
    not configured (an old roster's) after them."""
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])
    villages = list(villages or [])
    for household in households:
        if household.village not in villages:
            villages.append(household.village)
        entry = totals[(household.village, household.category)]
        entry[0] += 1
        entry[1] += household.covered
        entry[2] += household.amount
    book = Workbook()
    sheet = book.active
    sheet.title = "人数资金统计表"
    header = ["村(社区)"]
    for category in CATEGORIES:
        header += [f"{category}户数", f"{category}人数", f"{category}金额(元)"]
    header += ["合计户数", "合计人数", "合计金额(元)"]
    _title(sheet, f"{township}{cn_month(month)}社会救助人数资金统计表", len(header))
    _header(sheet, 2, header)
    grand = [0.0] * (len(header) - 1)
    for village in villages:
        row: list[float] = []
        for category in CATEGORIES:
            row += totals.get((village, category), [0, 0, 0.0])
        row += [sum(row[0::3]), sum(row[1::3]), round(sum(row[2::3]), 2)]
        grand = [a + b for a, b in zip(grand, row, strict=True)]
        sheet.append([village] + [round(v, 2) for v in row])
    sheet.append(["合计"] + [round(v, 2) for v in grand])
    for row_cells in sheet.iter_rows(min_row=3):
        for cell in row_cells:
            cell.font = _BODY_FONT
            cell.border = _BORDER
    money = [index for index, name in enumerate(header, start=1) if "金额" in name]
    for row_cells in sheet.iter_rows(min_row=3):
        for index in money:
            row_cells[index - 1].number_format = "0.00"
    print_wide(sheet, [12] + [9] * (len(header) - 1), header_row=2)
    return _save(book)


def _save(book: Workbook) -> bytes:
    return workbook_bytes(book)  # every text cell as text: a name like =HYPERLINK(…) is no formula
