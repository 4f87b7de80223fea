"""Load a YAML (or JSON) data file, validate it against a JSON Schema, and report errors
with the file, the field and the line, in Chinese."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from archive.errors import ArchiveError, os_error_text
from archive.resources import schema_path

# libyaml's parser when PyYAML has it (same events, nodes and marks, about ten times faster: the
# document-type registry parses every template); the pure-Python one otherwise
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DataFileError(ArchiveError):
    """A user-written data file is unreadable or does not match its schema."""


def load_with_lines(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML and return (data, {json-path tuple: 1-based line})."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataFileError(f"文件 {path} 不是 UTF-8 编码的文本，请另存为 UTF-8") from None
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise DataFileError(f"找不到文件 {path}") from None
        raise DataFileError(f"无法读取文件 {path}：{os_error_text(exc)}") from None
    try:
        _refuse_aliases(path, text)
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        if "nesting depth" in str(getattr(exc, "problem", "")):  # libyaml's own limit (1000 levels)
            raise DataFileError(f"文件 {path} 嵌套层数过多，不是有效的数据文件") from None
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行第{mark.column + 1}列" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataFileError(f"文件 {path} {where} 不是有效的 YAML：{problem}") from None
    lines: dict[tuple, int] = {}
    if node is not None:
        try:
            _collect_lines(node, (), lines)
        except DataFileError as exc:
            raise DataFileError(f"文件 {path} {exc.message}") from None
    return data, lines


def _refuse_aliases(path: Path, text: str) -> None:
    """Anchors and aliases (&a, *a) let a few lines stand for billions of items ("billion laughs"),
    which would keep validation busy for ever. Files written by hand need none: refused, with the line."""
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise DataFileError(f"文件 {path} 第{event.start_mark.line + 1}行：不允许使用 YAML 锚点和别名（&名称、*名称），"
                                "请把内容直接写出")


def _collect_lines(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                # YAML would silently keep the last one; a user editing a template means one
                raise DataFileError(f"第{key_node.start_mark.line + 1}行：字段「{key}」重复出现")
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _collect_lines(value_node, path + (key,), lines)
            # the key's own line is more useful than the value's for a scalar
            lines[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, path + (index,), lines)


def line_of(lines: dict[tuple, int], path: tuple) -> int | None:
    """The line of the deepest known ancestor of `path`."""
    path = tuple(path)
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


@cache
def load_schema(name: str) -> dict:
    with open(schema_path(name), encoding="utf-8") as fh:
        return json.load(fh)


def describe_path(path: tuple) -> str:
    parts = []
    for part in path:
        parts.append(f"[{part + 1}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "（文件顶层）"


def _narrow(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a oneOf failure (a template block), find the branch the user meant: the one whose
    required key is present, and report its own error instead of 'not valid under any'."""
    while error.validator == "oneOf" and error.context:
        by_branch: dict[int, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        meant = [errs for errs in by_branch.values() if not any(e.validator == "required" for e in errs)]
        if len(meant) != 1:
            return error
        error = meant[0][0]
    return error


def _error_message(error: jsonschema.ValidationError) -> str:
    """A Chinese rendering of the common JSON Schema failures."""
    validator = error.validator
    if validator == "oneOf":
        if isinstance(error.instance, dict):
            return f"无法识别的内容（键：{', '.join(map(str, error.instance))}），请对照格式定义检查拼写和取值"
        return f"取值 {error.instance!r} 不符合任何一种允许的写法"
    value = error.validator_value
    if validator == "required":
        missing = [name for name in value if name not in (error.instance or {})]
        return f"缺少必填字段 {', '.join(missing)}"
    if validator == "type":
        names = {"string": "文本", "integer": "整数", "number": "数字", "array": "列表",
                 "object": "映射(键: 值)", "boolean": "是/否(true/false)"}
        wanted = value if isinstance(value, list) else [value]
        return f"类型不对：应为{'或'.join(names.get(v, v) for v in wanted)}，实际是 {error.instance!r}"
    if validator == "enum":
        return f"取值 {error.instance!r} 不在允许范围内：{', '.join(map(str, value))}"
    if validator == "additionalProperties":
        return f"有不认识的字段：{error.message.split('(')[-1].rstrip(')')}"
    if validator == "pattern":
        return f"取值 {error.instance!r} 格式不对（应匹配 {value}）"
    if validator in ("minimum", "exclusiveMinimum"):
        return f"取值 {error.instance!r} 太小（最小 {value}）"
    if validator in ("minItems", "minLength"):
        return "不能为空"
    return error.message


def validate(data: Any, schema_name: str, path: Path, lines: dict[tuple, int]) -> None:
    """Raise DataFileError listing every schema violation with its field and line."""
    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return
    rows = []
    for error in errors[:20]:
        error = _narrow(error)
        field_path = tuple(error.absolute_path)
        if error.validator == "required":
            missing = [n for n in error.validator_value if n not in (error.instance or {})]
            shown = describe_path(field_path + (missing[0],)) if missing else describe_path(field_path)
        else:
            shown = describe_path(field_path)
        line = line_of(lines, field_path)
        where = f"第{line}行 " if line else ""
        rows.append(f"  {where}字段 {shown}：{_error_message(error)}")
    raise DataFileError(f"文件 {path} 不符合格式要求（{schema_name}）：\n" + "\n".join(rows))


def load_validated(path: Path, schema_name: str) -> tuple[Any, dict[tuple, int]]:
    try:
        data, lines = load_with_lines(path)
        validate(data, schema_name, path, lines)
    except RecursionError:
        raise DataFileError(f"文件 {path} 嵌套层数过多，不是有效的数据文件") from None
    return data, lines
