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
