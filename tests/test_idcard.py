import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from archive import idcard


def test_known_valid_number():
    # the example from GB 11643-1999 appendix
    assert idcard.check_char("11010519491231002") == "X"
    assert idcard.is_valid("11010519491231002X")


def test_wrong_checksum_is_explained_in_chinese():
    message = idcard.problem("110105194912310021")
    assert "校验位" in message and "X" in message


def test_bad_birth_date_and_shape():
    assert "出生日期" in idcard.problem(idcard.make("520111", dt.date(2000, 1, 1), 1)[:10] + "0231" + "0011")
    assert "18位" in idcard.problem("52011119900101")
    future = idcard.make("520111", dt.date(2090, 1, 1), 1)
    assert "不合理" in idcard.problem(future)


def test_normalize_full_width_and_lower_x():
    assert idcard.normalize(" １１０１０５１９４９１２３１００２ｘ ") == "11010519491231002X"


def test_mask_keeps_region_and_last_four():
    assert idcard.mask("520111199001011234") == "520111********1234"


@given(st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)), st.integers(0, 999))
def test_made_numbers_are_valid(birth, serial):
    number = idcard.make("520111", birth, serial)
    assert idcard.is_valid(number)
    assert idcard.birth_date(number) == birth
    assert idcard.sex(number) == ("男" if serial % 2 else "女")


def test_region_code_must_be_a_division_code():
    # a valid checksum is not enough: 000000 and 999999 are no administrative division
    for region in ("000000", "999999"):
        number = idcard.make(region, dt.date(1990, 1, 1), 1)
        assert idcard.check_char(number[:17]) == number[17]
        assert f"地区码 {region}" in idcard.problem(number)
    # codes that were valid once stay valid: 崇文区 (abolished 2010), 毕节市 under its old code
    assert idcard.is_valid(idcard.make("110103", dt.date(1960, 5, 1), 12))
    assert idcard.is_valid(idcard.make("522401", dt.date(1995, 5, 1), 12))


def test_county_name_resolves_to_its_codes():
    from archive import regions

    assert regions.codes_named("花溪区") == {"520111"}
    assert regions.codes_named("朝阳区") == {"110105", "220104"}  # a shared name: both
    assert regions.codes_named("贵州省贵阳市花溪区") == {"520111"}
    assert regions.codes_named("没有这个县") == frozenset()
    assert "花溪区" in regions.name_of("520111")


def test_old_15_digit_number_is_upgraded():
    # GB 11643-1999's example, in its 15-digit form
    assert idcard.upgrade("110105491231002") == ("11010519491231002X", None)
    new, reason = idcard.upgrade("520111901301123")   # month 13
    assert new is None and "无法升为18位" in reason and "出生日期" in reason
    new, reason = idcard.upgrade("000000900101123")
    assert new is None and "地区码" in reason


def test_numeric_cells_that_lost_digits_are_recognised():
    from archive.roster.checks import lost_digits

    assert lost_digits(520111199001011000) and lost_digits(5.20111199001011e17)
    assert lost_digits("5.20111E+17") and lost_digits("5.20111e17")
    assert not lost_digits("520111199001011234") and not lost_digits("52011119900101123X")
    assert not lost_digits(520111900101123) and not lost_digits(520111900101123.0)  # 15 digits fit
