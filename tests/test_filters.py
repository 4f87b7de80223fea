import datetime as dt

import pytest

from archive.dates import add_working_days, cn_date, parse_date, parse_month
from archive.documents.filters import money, rmb_upper


@pytest.mark.parametrize(
    "amount, words",
    [
        (0, "零元整"),
        (1105, "壹仟壹佰零伍元整"),
        (850.5, "捌佰伍拾元伍角整"),
        (1000.07, "壹仟元零柒分"),
        (100010, "壹拾万零壹拾元整"),
        (20000000, "贰仟万元整"),
        (12.34, "壹拾贰元叁角肆分"),
    ],
)
def test_rmb_upper(amount, words):
    assert rmb_upper(amount) == words


def test_money_always_shows_fen():
    assert money(850) == "850.00"
    assert money("1105.005") == "1105.01"


def test_dates_have_no_leading_zeros():
    assert cn_date(dt.date(2024, 7, 1)) == "2024年7月1日"


@pytest.mark.parametrize("text", ["2025-01-05", "2025/1/5", "2025年1月5日", "20250105", "2025.01.05"])
def test_parse_loose_dates(text):
    assert parse_date(text) == dt.date(2025, 1, 5)


def test_parse_month_and_errors_in_chinese():
    assert parse_month("2025-07") == dt.date(2025, 7, 1)
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month("2025-13")
    with pytest.raises(ValueError, match="无法识别"):
        parse_date("昨天")


def test_working_days_skip_weekends_and_holidays():
    friday = dt.date(2025, 7, 4)
    assert add_working_days(friday, 1) == dt.date(2025, 7, 7)
    assert add_working_days(friday, 1, frozenset({dt.date(2025, 7, 7)})) == dt.date(2025, 7, 8)
