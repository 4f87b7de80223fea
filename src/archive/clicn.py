"""Chinese for click's own messages (Usage, Error: Missing argument, Invalid value, --help titles).

click marks its messages with gettext (`from gettext import gettext as _` in each module) but ships
no catalogue. `install()` points the `_` and `ngettext` of click's modules at a small in-memory
catalogue; it runs once when archive.cli is imported, before any command is declared (click.Path
translates its type name when it is constructed). Everything else in click is untouched.
"""

from __future__ import annotations

import gettext
import importlib

import click

# click msgid -> Chinese. The placeholders are click's and must stay as they are.
MESSAGES: dict[str, str] = {
    # usage and help
    "Usage:": "用法:",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "env var: {var}": "环境变量：{var}",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": "弃用提示：命令 {name!r} 已弃用。{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}": "弃用提示：{param_type} {name!r} 已弃用。{extra_message}",
    # errors
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行「{command} {option}」查看帮助。",
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing {param_type}": "缺少{param_type}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Invalid start character for option ({option})": "选项的开头字符无效（{option}）",
    "Value must be an iterable.": "值必须是多个值。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "unknown error": "未知错误",
    "Aborted!": "已中止！",
    # parameter types
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "Choice({choices})": "选项（{choices}）",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的是/否值。可用：{states}",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，不是目录。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录，不是文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    # prompts
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不询问，直接确认。",
    "Repeat for confirmation": "请再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入的值不一致。",
    "Error: invalid input": "错误：输入无效",
    "Press any key to continue...": "按任意键继续……",
}

# (singular, plural) -> (Chinese for one, Chinese for several); each keeps its form's placeholders.
PLURALS: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        ("多余的参数（{args}）", "多余的参数（{args}）"),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        ("是不是 {possibility}？", "（是不是以下之一：{possibilities}？）"),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        ("选项 {name!r} 需要一个值。", "选项 {name!r} 需要 {nargs} 个值。"),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."):
        ("需要 {nargs} 个值，只给了 1 个。", "需要 {nargs} 个值，给了 {len} 个。"),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        ("{value!r} 不是 {choice}。", "{value!r} 不是以下之一：{choices}。"),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."):
        ("{value!r} 不符合格式 {format}。", "{value!r} 不符合以下任一格式：{formats}。"),
    ("{len_type} values are required, but {len_value} was given.",
     "{len_type} values are required, but {len_value} were given."):
        ("需要 {len_type} 个值，给了 {len_value} 个。", "需要 {len_type} 个值，给了 {len_value} 个。"),
}

# The names click shows for its parameter types (in metavars and in "is not a valid …").
TYPE_NAMES: dict[str, str] = {"text": "文本", "integer": "整数", "float": "数字", "boolean": "是/否", "uuid": "UUID"}

# Metavars click writes without gettext: the [OPTIONS] of a usage line and a group's subcommand.
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."

CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui", "utils",
                 "_termui_impl", "shell_completion")


class ChineseCatalogue(gettext.NullTranslations):
    """gettext translations from the two dictionaries above; unknown messages pass through."""

    def gettext(self, message: str) -> str:
        return MESSAGES.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        pair = PLURALS.get((msgid1, msgid2))
        if pair is None:
            return msgid1 if n == 1 else msgid2
        return pair[0] if n == 1 else pair[1]


_installed = False


def install() -> None:
    """Translate click's messages for this process (idempotent)."""
    global _installed
    if _installed:
        return
    catalogue = ChineseCatalogue()
    for name in CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # e.g. a module click drops in a later release
            continue
        if hasattr(module, "_"):
            module._ = catalogue.gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = catalogue.ngettext  # type: ignore[attr-defined]
    for param_type in (click.STRING, click.INT, click.FLOAT, click.BOOL, click.UUID):
        param_type.name = TYPE_NAMES.get(param_type.name, param_type.name)
    _installed = True
