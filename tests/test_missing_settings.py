"""A document never prints an empty office setting with stray punctuation: generation stops
naming the setting, or an optional sentence is left out cleanly."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from helpers import docx_text, pdf_text

from archive.documents.generate import Generator
from archive.documents.missing import MissingSettingError

DAY = dt.date(2025, 7, 8)


def _squash(text: str) -> str:
    return re.sub(r"\s", "", text)


def _approve_new(home, township):
    generator = Generator(home)
    new = [h for h in township if h.status == "在保" and h.start > dt.date(2025, 7, 31)]
    village = new[0].village
    for household in (h for h in new if h.village == village):
        generator.household_document("approval", household.head.id_number, dt.date(2025, 7, 10))
    return generator, village


def test_publicity_without_the_complaint_phone_stops_naming_it(home, township):
    generator, village = _approve_new(home, township)
    home.config.complaint_phone = ""
    with pytest.raises(MissingSettingError) as raised:
        generator.publicity(village, dt.date(2025, 7, 1), dt.date(2025, 7, 31), dt.date(2025, 7, 31))
    assert "complaint_phone" in raised.value.message and "监督举报电话" in raised.value.message
    assert "config.yaml" in raised.value.message
    # nothing was issued: no half-made notice with a number taken
    assert home.db.execute("SELECT COUNT(*) FROM documents WHERE type='publicity'").fetchone()[0] == 0
    home.config.complaint_phone = "0851-83200000"
    made = generator.publicity(village, dt.date(2025, 7, 1), dt.date(2025, 7, 31), dt.date(2025, 7, 31))
    assert "监督举报电话：0851-83200000。" in _squash(pdf_text(made.pdf))


def test_an_optional_phone_is_left_out_cleanly(home, head_id):
    home.config.office_phone = ""
    made = Generator(home).household_document("refusal", head_id, DAY, {"reason": "家庭人均收入高于当地标准"})
    for text in (_squash(pdf_text(made.pdf)), _squash(docx_text(made.docx))):
        assert "联系电话" not in text
        assert not re.search(r"[：:][。）)]|（）|\n。\n", text)


def test_an_unset_standard_is_never_printed_as_zero():
    from archive.documents.filters import money
    from archive.documents.missing import MissingSetting

    with pytest.raises(MissingSettingError, match="dibao_standard"):
        money(MissingSetting("dibao_standard", "当地最低生活保障标准"))
    with pytest.raises(MissingSettingError, match="office_phone"):
        f"{MissingSetting('office_phone', '经办机构联系电话')}"
    with pytest.raises(MissingSettingError, match="dibao_standard"):
        MissingSetting("dibao_standard", "当地最低生活保障标准") * 6
