"""A template's fields checked one by one, for a form that shows each problem beside its field
(the command line gets all of them at once from templates.check_fields)."""

from __future__ import annotations

import re

from archive.documents.context import typed_value
from archive.documents.templates import Template

KIND_HINTS = {
    "money": "金额，例如 650 或 650.50",
    "integer": "整数，例如 3",
    "date": "日期，例如 2025-07-08",
    "month": "月份，例如 2025-07",
}
MAX_LENGTH = 2000


def field_problems(template: Template, params: dict[str, str]) -> dict[str, str]:
    """Field name -> what is wrong with its value (Chinese), for every field that has a problem:
    a required field left empty, a value that is not of the field's kind, a text too long.
    A name the template does not have is reported under its own name."""
    problems: dict[str, str] = {}
    for name in params:
        if name not in template.fields:
            problems[name] = f"「{template.title}」没有字段「{name}」"
    for name, spec in template.fields.items():
        raw = str(params.get(name) or "").strip()
        if not raw:
            if spec.required and not str(spec.default or "").strip():
                problems[name] = f"请填写{_bare(spec.label)}"
            continue
        longest = getattr(spec, "max_length", None) or MAX_LENGTH
        if len(raw) > longest:
            problems[name] = f"内容太长：{len(raw)} 个字，最多 {longest} 个"
            continue
        choices = getattr(spec, "choices", ())
        if choices and raw not in choices:
            problems[name] = f"「{raw}」不在可选范围内：{'、'.join(choices)}"
            continue
        try:
            typed_value(spec.kind, raw)
        except ValueError as exc:
            ours = re.search(r"[\u4e00-\u9fff]", str(exc).replace(raw, ""))  # Python's own messages are English
            detail = str(exc) if ours else f"应为{KIND_HINTS.get(spec.kind, '文字')}"
            problems[name] = f"「{raw}」无效：{detail}"
    return problems


def _bare(label: str) -> str:
    """「月保障金额（元）」 -> 「月保障金额」: the label without its parenthesised note."""
    return re.split(r"[（(]", label, maxsplit=1)[0].strip() or label
