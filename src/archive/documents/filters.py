"""Jinja filters for templates: Chinese dates, money, amounts in words, masked IDs."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import jinja2

from archive import idcard
from archive.dates import cn_date, cn_month, parse_date
from archive.documents.missing import MissingSetting

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]
_SECTIONS = ["", "万", "亿", "兆"]


def money(value: object) -> str:
    """1234.5 -> 1234.50 (amounts on notices always show fen)."""
    if isinstance(value, MissingSetting):
        value.fail()  # an unset standard is not 0.00
    amount = Decimal(str(value or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{amount:.2f}"


def rmb_upper(value: object) -> str:
    """1234.50 -> 壹仟贰佰叁拾肆元伍角整 (金额大写, as on payment notices)."""
    if isinstance(value, MissingSetting):
        value.fail()
    amount = Decimal(str(value or 0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if amount < 0:
        return "负" + rmb_upper(-amount)
    if amount == 0:
        return "零元整"
    yuan = int(amount)
    jiao, fen = divmod(int((amount - yuan) * 100), 10)
    text = _integer_words(yuan) + "元" if yuan else ""
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan and fen:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    if not fen:
        text += "整"
    return text


def _integer_words(number: int) -> str:
    if number == 0:
        return "零"
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    out = ""
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or group < 1000):
            out += "零"
        out += _group_words(group) + _SECTIONS[index]
        zero_pending = False
    return out


def _group_words(group: int) -> str:
    out = ""
    zero = False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + _UNITS[position]
    return out


def _to_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else parse_date(value)


def install(env: jinja2.Environment) -> None:
    env.filters["cn_date"] = lambda v: cn_date(_to_date(v))
    env.filters["cn_month"] = lambda v: cn_month(_to_date(v))
    env.filters["money"] = money
    env.filters["rmb_upper"] = rmb_upper
    env.filters["mask_id"] = idcard.mask
