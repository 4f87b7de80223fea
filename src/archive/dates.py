"""Dates as Chinese official documents write them, and the loose forms rosters use."""

from __future__ import annotations

import datetime as dt
import re

_LOOSE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(\d{1,2})\s*日?)?\s*月?\s*$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})?\s*$")


def cn_date(day: dt.date) -> str:
    """2024年7月1日: Arabic numerals, no leading zeros (GB/T 9704-2012 7.3.5.3)."""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_month(day: dt.date) -> str:
    return f"{day.year}年{day.month}月"


def parse_date(value: object) -> dt.date:
    """Accept a date, datetime, '2025-01-05', '2025/1/5', '2025年1月5日', '20250105', '2025-01'.

    A month without a day means its first day. Raises ValueError with a Chinese message.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    match = _LOOSE.match(text) or _COMPACT.match(text)
    if not match:
        raise ValueError(f"无法识别的日期「{text}」，请写成 2025-01-05 的形式")
    year, month, day = int(match[1]), int(match[2]), int(match[3] or 1)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"日期「{text}」不存在") from None


def parse_month(text: str) -> dt.date:
    """'2025-07' -> date(2025, 7, 1)."""
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(text))
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"月份「{text}」格式不对，应写成 YYYY-MM，例如 2025-07")
    return dt.date(int(match[1]), int(match[2]), 1)


def month_end(first: dt.date) -> dt.date:
    return next_month(first) - dt.timedelta(days=1)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def add_working_days(start: dt.date, days: int, holidays: frozenset[dt.date] = frozenset()) -> dt.date:
    """The date `days` working days after `start` (weekends and listed holidays skipped)."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def working_days_between(start: dt.date, end: dt.date, holidays: frozenset[dt.date] = frozenset()) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            count += 1
    return count
