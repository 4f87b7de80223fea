"""Where files go inside the archive home: readable by a person without the software."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from archive.home import Home
from archive.roster.households import HouseholdRecord

_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def safe_name(text: str) -> str:
    """A file-name-safe version of a Chinese title (Windows forbids \\ / : * ? " < > |)."""
    return _UNSAFE.sub("_", text).strip("._") or "_"


def document_folder(home: Home, year: int, village: str | None, household: HouseholdRecord | None) -> Path:
    base = home.documents_dir / str(year)
    if household is not None:
        return base / safe_name(household.village) / safe_name(household.folder_name)
    if village:
        return base / safe_name(village) / "_村级"
    return base / "_乡镇"


def file_stem(day: dt.date, title: str, doc_id: str) -> str:
    return f"{day:%Y%m%d}-{safe_name(title)}-{doc_id}"

