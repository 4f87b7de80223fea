"""Where the built-in templates and schemas live.

They are data at the top of the repository (an editable install finds them there); an ordinary
install carries them under <prefix>/share/township-archive.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from archive.errors import ConfigError


@cache
def resource_root() -> Path:
    candidates = []
    if os.environ.get("ARCHIVE_RESOURCES"):
        candidates.append(Path(os.environ["ARCHIVE_RESOURCES"]))
    candidates.append(Path(__file__).resolve().parents[2])
    candidates.append(Path(sys.prefix) / "share" / "township-archive")
    for root in candidates:
        if (root / "schemas").is_dir() and (root / "doc_templates").is_dir():
            return root
    raise ConfigError("找不到内置的模板和格式定义（doc_templates/、schemas/），安装可能不完整")


def builtin_templates_dir() -> Path:
    return resource_root() / "doc_templates"


def schema_path(name: str) -> Path:
    return resource_root() / "schemas" / f"{name}.schema.json"
