"""Resident identity numbers (GB 11643-1999): checksum, birth date, sex, masking."""

from __future__ import annotations

import datetime as dt
import re

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_OLD_SHAPE = re.compile(r"^\d{15}$")


def check_char(first17: str) -> str:
    """The 18th character for the first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalize(raw: str) -> str:
    """Strip spaces and full-width forms; upper-case a trailing x."""
    text = str(raw).strip().replace(" ", "").replace("\u3000", "")
    text = text.translate(str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX"))
    return text.upper()


def problem(number: str, *, today: dt.date | None = None) -> str | None:
    """Why `number` is not a valid 18-digit ID number, in Chinese; None when it is valid."""
    if not _SHAPE.match(number):
        return f"身份证号「{number}」格式不对：应为18位，前17位为数字，末位为数字或X"
    birth = birth_date(number)
    if birth is None:
        return f"身份证号「{number}」中的出生日期 {number[6:14]} 不是有效日期"
    if birth > (today or dt.date.today()) or birth.year < 1880:
        return f"身份证号「{number}」中的出生日期 {number[6:14]} 不合理"
    expected = check_char(number[:17])
    if number[17] != expected:
        return f"身份证号「{number}」校验位错误（末位应为 {expected}），请核对是否录错"
    return region_problem(number)


def region_problem(number: str) -> str | None:
    """Why the first six digits are not an administrative division code (GB/T 2260, any
    revision since 1980); None when they are."""
    from archive import regions

    code = number[:6]
    if not regions.exists(code):
        return f"身份证号「{number}」的前六位地区码 {code} 不是有效的行政区划代码，请核对是否录错"
    return None


def is_old(number: str) -> bool:
    """A 15-digit ID number (issued before 1999: 6-digit region, YYMMDD, 3-digit serial)."""
    return bool(_OLD_SHAPE.match(number))


def upgrade(old: str, *, today: dt.date | None = None) -> tuple[str | None, str | None]:
    """Convert a 15-digit ID to 18 digits (GB 11643-1999): insert "19" before the 2-digit year
    and append the check character. Returns (new number, None), or (None, why it cannot be)."""
    if not is_old(old):
        return None, f"身份证号「{old}」不是15位旧号码"
    first17 = old[:6] + "19" + old[6:]
    new = first17 + check_char(first17)
    reason = problem(new, today=today)
    if reason:
        return None, f"15位旧身份证号「{old}」无法升为18位：{reason.replace('身份证号「', '升位后号码「', 1)}"
    return new, None


def is_valid(number: str) -> bool:
    return problem(number) is None


def birth_date(number: str) -> dt.date | None:
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def age_on(number: str, day: dt.date) -> int | None:
    birth = birth_date(number)
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def sex(number: str) -> str:
    """男 or 女 from the 17th digit."""
    return "男" if int(number[16]) % 2 else "女"


def mask(number: str, keep_head: int = 6, keep_tail: int = 4) -> str:
    """Mask an ID for a posted list, e.g. 520111********1234."""
    if len(number) <= keep_head + keep_tail:
        return "*" * len(number)
    return number[:keep_head] + "*" * (len(number) - keep_head - keep_tail) + number[-keep_tail:]


def make(region: str, birth: dt.date, serial: int) -> str:
    """Build a valid ID number (used for synthetic sample data and tests)."""
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return first17 + check_char(first17)
