"""Text in every PDF the software draws: fonts registered with reportlab once per process, and
characters a role's font lacks (CJK Extension B and beyond, in rare names such as 𠮷) drawn in
the first fallback font that has them, never as a blank box (.notdef).

One helper for documents, the 归档文件目录 and other catalogues, the 归档章 and the 作废 mark:

    glyphs = Glyphs(resolve(config.fonts))
    name = glyphs.font("song")                       # reportlab name of a role's font
    glyphs.draw(canvas, x, y, text, name, size)      # canvas text, any alignment: draw_centred …
    Paragraph(glyphs.markup(text, style.fontName), style)   # platypus paragraphs

A character no installed font has stops with MissingGlyphError naming it.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

from archive.errors import BadInputError
from archive.rendering.fonts import FontFile, fallback_roles, resolve

_registered: dict[FontFile, str] = {}

_reportlab_to_unicode = getattr(ttfonts.makeToUnicodeCMap, "__wrapped_original__", ttfonts.makeToUnicodeCMap)


def _to_unicode_cmap(fontname: str, subset) -> str:
    """reportlab writes a character outside the BMP (𠮷, U+20BB7) into the ToUnicode map as
    five hex digits, which readers reject (text search and copy lose it); write UTF-16 instead."""
    def utf16(match: re.Match) -> str:
        return "<" + chr(int(match[1], 16)).encode("utf-16-be").hex().upper() + ">"
    return re.sub(r"<([0-9A-F]{5,6})>$", utf16, _reportlab_to_unicode(fontname, subset), flags=re.M)


_to_unicode_cmap.__wrapped_original__ = _reportlab_to_unicode  # type: ignore[attr-defined]
ttfonts.makeToUnicodeCMap = _to_unicode_cmap


def register_fonts(fonts: dict[str, FontFile], *, fallback: bool = False) -> dict[str, str]:
    """Register each font file once per process; return role -> reportlab font name. Fallback
    fonts (large, rarely needed) only when asked for."""
    names = {}
    for role, font in fonts.items():
        if role in fallback_roles(fonts) and not fallback:
            continue
        if font not in _registered:
            name = f"F{len(_registered)}-{font.path.stem}-{font.index}"
            ttf = TTFont(name, str(font.path), subfontIndex=font.index)
            _memoise_tables(ttf.face)
            pdfmetrics.registerFont(ttf)
            _registered[font] = name
        names[role] = _registered[font]
    return names


def _memoise_tables(face) -> None:
    """reportlab slices each font table out of the whole file again for every subset it embeds;
    for a 20 MB CJK collection that copy was a third of a notice's time. Keep the slices."""
    tables: dict = {}
    original = face.get_table

    def get_table(tag):
        if tag not in tables:
            tables[tag] = original(tag)
        return tables[tag]

    face.get_table = get_table


class MissingGlyphError(BadInputError):
    """A character no installed font can print: stop rather than print a blank box."""

    def __init__(self, char: str, text: str) -> None:
        super().__init__(
            f"字「{char}」（U+{ord(char):04X}）在已安装的字体中都没有，无法打印：{text.strip()[:60]}",
            hint="请安装含该字的字体（如 apt-get install fonts-hanazono），或在 config.yaml 的 fonts.fallback "
                 "中指定含该字的字体文件；也可核对该姓名或内容是否录入有误")
        self.char = char


def _cmap(font_name: str) -> dict[int, int]:
    return pdfmetrics.getFont(font_name).face.charToGlyph


class Glyphs:
    """Split text into runs of the role's font and of the first fallback font that has each
    character the role's font lacks (never .notdef: a blank box on paper)."""

    def __init__(self, fonts: dict[str, FontFile] | None = None) -> None:
        self.fonts = fonts if fonts is not None else resolve()
        self.names = register_fonts(self.fonts)
        self._fallbacks: list[str] | None = None

    def font(self, role: str) -> str:
        """The reportlab name of a role's font (fangsong, xiaobiaosong, heiti, kaiti, song)."""
        return self.names[role]

    def fallbacks(self) -> list[str]:
        if self._fallbacks is None:  # registered on first need: HanaMinB is 30 MB
            names = register_fonts(self.fonts, fallback=True)
            self._fallbacks = [names[role] for role in fallback_roles(self.fonts)]
        return self._fallbacks

    def runs(self, text: str, font_name: str) -> list[tuple[str, str]]:
        cmap = _cmap(font_name)
        runs: list[tuple[str, str]] = []
        for char in text:
            name = font_name
            if ord(char) not in cmap and not char.isspace() and ord(char) >= 0x80:
                name = next((fb for fb in self.fallbacks() if ord(char) in _cmap(fb)), "")
                if not name:
                    raise MissingGlyphError(char, text)
            if runs and runs[-1][1] == name:
                runs[-1] = (runs[-1][0] + char, name)
            else:
                runs.append((char, name))
        return runs

    def width(self, text: str, font_name: str, size: float) -> float:
        return sum(pdfmetrics.stringWidth(run, name, size) for run, name in self.runs(text, font_name))

    def draw(self, canvas, x: float, y: float, text: str, font_name: str, size: float) -> None:
        """Text starting at x (like canvas.drawString), each run in a font that has it."""
        for run, name in self.runs(text, font_name):
            canvas.setFont(name, size)
            canvas.drawString(x, y, run)
            x += pdfmetrics.stringWidth(run, name, size)
        canvas.setFont(font_name, size)

    def draw_centred(self, canvas, x: float, y: float, text: str, font_name: str, size: float) -> None:
        self.draw(canvas, x - self.width(text, font_name, size) / 2, y, text, font_name, size)

    def draw_right(self, canvas, x: float, y: float, text: str, font_name: str, size: float) -> None:
        self.draw(canvas, x - self.width(text, font_name, size), y, text, font_name, size)

    def text_out(self, text_object, text: str, font_name: str, size: float) -> None:
        """Append text to a reportlab text object (keeps its render mode, e.g. outlined)."""
        for run, name in self.runs(text, font_name):
            text_object.setFont(name, size)
            text_object.textOut(run)

    def markup(self, text: str, font_name: str) -> str:
        """Paragraph markup of plain text: escaped, with runs the font lacks in <font name=…>."""
        return "".join(escape(run) if name == font_name else f'<font name="{name}">{escape(run)}</font>'
                       for run, name in self.runs(text, font_name))
