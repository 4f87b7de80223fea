"""Fonts: the official names written into DOCX, and the font files embedded into PDFs.

A township PC has 方正小标宋简体, 仿宋_GB2312, 黑体 and 楷体_GB2312; the DOCX names them so Word
and WPS show them. PDFs embed real font files: the configured ones, else the official fonts if
installed on this machine, else free stand-ins from Debian (AR PL UMing, AR PL UKai, WenQuanYi).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from archive.errors import ConfigError

ROLES = ("fangsong", "xiaobiaosong", "heiti", "kaiti", "song")

# names a township PC has; written into the DOCX
DOCX_NAMES = {
    "fangsong": "仿宋_GB2312",
    "xiaobiaosong": "方正小标宋简体",
    "heiti": "黑体",
    "kaiti": "楷体_GB2312",
    "song": "宋体",
}

_FONT_DIRS = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts",
              Path("C:/Windows/Fonts")]

# file names to look for, best first: the official fonts, then Debian's free stand-ins
_CANDIDATES = {
    "fangsong": ["FANGSONG_GB2312.TTF", "仿宋_GB2312.ttf", "simfang.ttf", "uming.ttc#0"],
    "xiaobiaosong": ["FZXBSJW.TTF", "方正小标宋简体.ttf", "uming.ttc#0"],
    "heiti": ["simhei.ttf", "wqy-zenhei.ttc#0", "uming.ttc#0"],
    "kaiti": ["KAITI_GB2312.TTF", "楷体_GB2312.ttf", "simkai.ttf", "ukai.ttc#0", "uming.ttc#0"],
    "song": ["simsun.ttc#0", "uming.ttc#0"],
}


# a font for characters the role's font lacks (CJK Extension B and beyond, in rare names such as
# 𠮷): embedded only when a document needs it. HanaMinB (Debian fonts-hanazono) has all of
# Extensions B-F; HanaMinA the BMP. Configurable as fonts.fallback.
FALLBACK_ROLE = "fallback"
_FALLBACK_CANDIDATES = ["HanaMinB.ttf", "HanaMinA.ttf", "BabelStoneHan.ttf"]


@dataclass(frozen=True)
class FontFile:
    path: Path
    index: int = 0

    @classmethod
    def parse(cls, spec: str) -> FontFile:
        path, _, index = spec.partition("#")
        return cls(Path(path).expanduser(), int(index or 0))


@cache
def _installed_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in _FONT_DIRS:
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.suffix.lower() in (".ttf", ".ttc", ".otf"):
                    found.setdefault(path.name.lower(), path)
    return found


def resolve(configured: dict[str, str] | None = None) -> dict[str, FontFile]:
    """A font file for every role, or a Chinese error that says how to install one."""
    configured = configured or {}
    chosen: dict[str, FontFile] = {}
    for role in ROLES:
        if configured.get(role):
            font = FontFile.parse(configured[role])
            if not font.path.is_file():
                raise ConfigError(f"配置的字体文件不存在：fonts.{role} = {configured[role]}",
                                  hint="请在 config.yaml 的 fonts 中改正路径，或删除该项以使用默认字体")
            chosen[role] = font
            continue
        for candidate in _CANDIDATES[role]:
            name, _, index = candidate.partition("#")
            path = _installed_files().get(name.lower())
            if path:
                chosen[role] = FontFile(path, int(index or 0))
                break
        else:
            raise ConfigError(
                f"找不到可嵌入 PDF 的中文字体（{DOCX_NAMES[role]} 或其替代字体）",
                hint="请运行 README 中的命令（会安装 fonts-arphic-uming、fonts-arphic-ukai、fonts-wqy-zenhei），"
                     "或在 config.yaml 的 fonts 中指定字体文件",
            )
    fallbacks = []
    if configured.get(FALLBACK_ROLE):
        fallbacks.append(FontFile.parse(configured[FALLBACK_ROLE]))
        if not fallbacks[0].path.is_file():
            raise ConfigError(f"配置的字体文件不存在：fonts.{FALLBACK_ROLE} = {configured[FALLBACK_ROLE]}",
                              hint="请在 config.yaml 的 fonts 中改正路径，或删除该项以使用默认的后备字体")
    fallbacks += [FontFile(path) for name in _FALLBACK_CANDIDATES if (path := _installed_files().get(name.lower()))]
    for number, font in enumerate(font for font in fallbacks if font.path.is_file()):
        chosen[f"{FALLBACK_ROLE}{number}"] = font
    return chosen


def fallback_roles(fonts: dict[str, FontFile]) -> list[str]:
    """The fallback entries of a resolve() result, best first."""
    return sorted(role for role in fonts if role.startswith(FALLBACK_ROLE))
