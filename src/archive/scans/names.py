"""File names from the inbox, as a person and a file system can use them.

A scan copied from a Windows share may carry a GBK name, which is not valid UTF-8: Python hands it
over with surrogate escapes, and such a string cannot be written to SQLite, JSON or a terminal.
A long Chinese name (about 80 characters) plus a suffix such as `.原因.txt` is longer than the
255 bytes a Linux file name may have. Here every name gets:

- a readable form (UTF-8 as it is; else GB18030, the superset of GBK; else the bytes escaped),
  kept in the catalog and the reason file;
- the raw bytes, kept in the audit log when they are not UTF-8 (nothing of the original is lost);
- a stored form for files written into the home: NFC-normalised, safe on Windows, short enough.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

STORED_NAME_BYTES = 150   # leaves room for a prefix and ".原因.txt" under the 255-byte limit
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\s]+')


def raw_name(path: Path) -> bytes:
    return os.fsencode(path.name)


def is_utf8(path: Path) -> bool:
    try:
        raw_name(path).decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def readable_name(path: Path) -> str:
    """The name as a person would read it; always encodable as UTF-8."""
    return readable(raw_name(path))


def readable(raw: bytes) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "backslashreplace")


def readable_path(path: Path) -> str:
    """A whole path in readable form (for records and messages)."""
    return readable(os.fsencode(path))


def name_note(path: Path) -> str:
    """A line for the reason file when the name is not UTF-8: the exact bytes."""
    if is_utf8(path):
        return ""
    return f"原文件名不是 UTF-8 编码（按 GBK 读出如上），原始字节：{raw_name(path)!r}\n"


def stored_name(name: str, limit: int = STORED_NAME_BYTES) -> str:
    """A file-name-safe form of a readable name, at most `limit` bytes in UTF-8, suffix kept."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip("._ ") or "_"
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix.encode("utf-8")) > 16:
        stem, suffix = name, ""
    else:
        suffix = "." + suffix
    budget = limit - len(suffix.encode("utf-8"))
    if len(stem.encode("utf-8")) > budget:
        stem = stem.encode("utf-8")[: budget - 3].decode("utf-8", "ignore") + "…"
    return stem + suffix
