"""Document templates: YAML files in doc_templates/ (or the archive home's templates/ folder,
which overrides the built-in ones), validated against schemas/template.schema.json, with Jinja2
text rendered into a docmodel.Document."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from archive.documents import filters
from archive.documents.docmodel import Block, Document
from archive.errors import TemplateError
from archive.resources import builtin_templates_dir
from archive.yamldoc import DataFileError, line_of, load_validated


@dataclass
class FieldSpec:
    name: str
    label: str
    required: bool = False
    default: Any = None
    kind: str = "text"
    choices: tuple[str, ...] = ()
    help: str = ""
    min: float | str | None = None
    max: float | str | None = None
    max_message: str = ""
    max_length: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The field as a form needs it: name, label, kind, required, default, choices, help, limits."""
        return {"name": self.name, "label": self.label, "kind": self.kind, "required": self.required,
                "default": self.default, "choices": list(self.choices), "help": self.help,
                "min": self.min, "max": self.max, "max_length": self.max_length}


@dataclass
class Template:
    id: str
    title: str
    scope: str
    path: Path
    data: dict[str, Any]
    lines: dict[tuple, int]
    number_code: str | None = None
    public: bool = False
    mask_id: bool = False
    category: str = ""
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    help: str = ""
    aliases: tuple[str, ...] = ()
    recognize: tuple[str, ...] = ()
    event: str | None = None
    notice: bool = False
    period: bool = False
    only_if: dict[str, str] | None = None
    households: str = "current"

    @property
    def has_stub(self) -> bool:
        return bool(self.data.get("stub"))

    def where(self, path: tuple) -> str:
        line = line_of(self.lines, path)
        return f"模板 {self.path} 第{line}行" if line else f"模板 {self.path}"


class _Sandbox(ImmutableSandboxedEnvironment):
    """Templates come from the township's own folder and are never trusted: rendered in Jinja2's
    immutable sandbox (no `_` attributes, no mutation of lists or dicts, no unsafe callables),
    without the global helpers (cycler, joiner, namespace, lipsum) that lead to Python's globals,
    and with bounded `*` and `**` so a template cannot exhaust memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("乘方的指数过大")
        if operator == "*" and any(isinstance(v, (str, list, tuple)) for v in (left, right)):
            count = right if isinstance(left, (str, list, tuple)) else left
            if isinstance(count, int) and count > _MAX_REPEAT:
                raise SecurityError("重复次数过大")
        return super().call_binop(context, operator, left, right)


_MAX_REPEAT = 10_000

_ENV = _Sandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals.clear()  # cycler, joiner, namespace, lipsum, range, dict: none is needed by a template
filters.install(_ENV)

# Names a template must not use: Jinja's own helpers whose attributes reach Python's globals,
# and `self`, the template's reference to its own blocks and context.
_FORBIDDEN_NAMES = frozenset({"self", "cycler", "joiner", "namespace", "lipsum", "range", "dict",
                              "config", "request", "getattr", "__builtins__"})
_EXPRESSION_KEYS = frozenset({"if", "each", "when"})


def unsafe_construct(text: str, expression: bool = False) -> str | None:
    """Why a template text reaches beyond its data (a `_` attribute, a forbidden name, `attr` with
    a `_` name), in Chinese; None when it does not. Syntax errors are left to the compiler."""
    source = "{{ (" + text + ") }}" if expression else text
    try:
        tree = _ENV.parse(source)
    except jinja2.TemplateSyntaxError:
        return None
    reasons: list[str] = []
    for node in tree.find_all((jinja2.nodes.Getattr, jinja2.nodes.Getitem, jinja2.nodes.Name,
                               jinja2.nodes.Filter, jinja2.nodes.Import, jinja2.nodes.FromImport,
                               jinja2.nodes.Include, jinja2.nodes.Extends)):
        reason = None
        if isinstance(node, jinja2.nodes.Getattr) and node.attr.startswith("_"):
            reason = f"不允许访问以下划线开头的属性「{node.attr}」"
        elif isinstance(node, jinja2.nodes.Getitem) and isinstance(node.arg, jinja2.nodes.Const) \
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            reason = f"不允许访问以下划线开头的属性「{node.arg.value}」"
        elif isinstance(node, jinja2.nodes.Name) and node.name in _FORBIDDEN_NAMES:
            reason = f"不允许使用「{node.name}」"
        elif isinstance(node, jinja2.nodes.Filter) and node.name == "attr":
            reason = "不允许使用 attr 过滤器"
        elif isinstance(node, (jinja2.nodes.Import, jinja2.nodes.FromImport, jinja2.nodes.Include,
                               jinja2.nodes.Extends)):
            reason = "不允许引用其他模板（import/include/extends）"
        if reason and reason not in reasons:
            reasons.append(reason)
    return "；".join(reasons) or None


def _refusal(where: str, exc: SecurityError) -> TemplateError:
    """The sandbox's refusal in Chinese, naming where; Jinja's English detail only as a hint."""
    detail = str(exc)
    if re.search(r"[\u4e00-\u9fff]", detail):  # our own refusals (huge powers, repetitions) are Chinese
        return TemplateError(f"{where}：模板试图做不允许的操作：{detail}")
    found = re.search(r"attribute '([^']*)'", detail)
    what = f"不允许访问属性「{found.group(1)}」" if found else "不允许调用或访问该对象"
    return TemplateError(f"{where}：模板试图做不允许的操作：{what}", hint=f"请删去模板中的这一处（详情：{detail}）")


def render_string(text: str, values: dict[str, Any]) -> str:
    """Render a short Jinja text (a field default such as `{{ next_month }}`), in the sandbox."""
    try:
        return _ENV.from_string(text).render(values)
    except SecurityError as exc:
        raise _refusal(f"模板字段默认值「{text}」", exc) from None


def template_dirs(home_templates: Path | None) -> list[Path]:
    dirs = []
    if home_templates and home_templates.is_dir():
        dirs.append(home_templates)
    dirs.append(builtin_templates_dir())
    return dirs


def available(home_templates: Path | None = None) -> dict[str, Path]:
    """Template id -> file, the home's own templates taking precedence."""
    found: dict[str, Path] = {}
    for folder in reversed(template_dirs(home_templates)):
        for path in sorted(folder.glob("*.yaml")):
            found[path.stem] = path
    return found


def load_template(template_id: str, home_templates: Path | None = None) -> Template:
    paths = available(home_templates)
    if template_id not in paths:
        raise TemplateError(
            f"没有名为「{template_id}」的文书模板",
            hint=f"可用的模板：{', '.join(sorted(paths))}",
        )
    return load_template_file(paths[template_id])


def load_template_file(path: Path) -> Template:
    try:
        data, lines = load_validated(path, "template")
    except DataFileError as exc:
        raise TemplateError(exc.message) from None
    if data["id"] != path.stem:
        raise TemplateError(f"模板 {path} 第{line_of(lines, ('id',))}行：id「{data['id']}」应与文件名「{path.stem}」一致")
    fields = {
        name: FieldSpec(name, spec["label"], spec.get("required", False), spec.get("default"),
                        spec.get("kind", "choice" if spec.get("choices") else "text"),
                        tuple(spec.get("choices") or ()), spec.get("help", ""), spec.get("min"), spec.get("max"),
                        spec.get("max_message", ""), spec.get("max_length"))
        for name, spec in (data.get("fields") or {}).items()
    }
    for name, spec in fields.items():
        if spec.kind == "choice" and not spec.choices:
            raise TemplateError(f"模板 {path} 第{line_of(lines, ('fields', name))}行：字段「{name}」是选择项（kind: choice），"
                                "须用 choices 列出可选的值")
    template = Template(
        id=data["id"], title=data["title"], scope=data["scope"], path=path, data=data, lines=lines,
        number_code=data.get("number"), public=data.get("public", False), mask_id=data.get("mask_id", False),
        category=data.get("category", ""), fields=fields, help=data.get("help", ""),
        aliases=tuple(data.get("aliases") or ()), recognize=tuple(data.get("recognize") or (data["title"],)),
        event=data.get("event"), notice=data.get("notice", False), period=data.get("period", False),
        only_if=data.get("only_if"), households=data.get("households", "current"),
    )
    _compile_all(template)
    return template


def _compile_all(template: Template) -> None:
    """Compile every text once, so a syntax error is reported before any number is taken."""
    for section in ("body", "stub"):
        for index, block in enumerate(template.data.get(section) or []):
            for path, text in _texts(block, (section, index)):
                _refuse_unsafe(template, text, path)
                _compile(template, text, path)
    for name, spec in template.fields.items():
        for key in ("default", "min", "max", "max_message"):
            value = getattr(spec, key)
            if isinstance(value, str):
                _refuse_unsafe(template, value, ("fields", name, key))
    if template.only_if:
        _refuse_unsafe(template, template.only_if["when"], ("only_if", "when"))
        _refuse_unsafe(template, template.only_if["message"], ("only_if", "message"))


def _refuse_unsafe(template: Template, text: str, path: tuple) -> None:
    expression = isinstance(path[-1], str) and path[-1] in _EXPRESSION_KEYS
    reason = unsafe_construct(text, expression) or (unsafe_construct(text, True) if path[-1] == "signatures" else None)
    if reason:
        raise TemplateError(f"{template.where(path)}：{reason}；模板只能使用提供给它的字段和过滤器，不能调用程序内部的对象")


def _texts(value: Any, path: tuple) -> list[tuple[tuple, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [item for key, sub in value.items() for item in _texts(sub, path + (key,))]
    if isinstance(value, list):
        return [item for index, sub in enumerate(value) for item in _texts(sub, path + (index,))]
    return []


_COMPILED: dict[str, jinja2.Template] = {}


def _compile(template: Template, text: str, path: tuple) -> jinja2.Template:
    compiled = _COMPILED.get(text)
    if compiled is None:
        try:
            compiled = _ENV.from_string(text)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{template.where(path)}：模板语法错误：{exc.message}") from None
        _COMPILED[text] = compiled
    return compiled


# YAML folding (>-) joins lines with a space, which Chinese text must not have. Spaces are kept
# between two Latin letters or digits only; ideographic spaces (U+3000) are always kept.
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f\u2014\u2026\u00b7\u201c-\u201d\u2018-\u2019"
_FOLD_SPACE = re.compile(rf"(?<=[{_CJK}])[ \t]+|[ \t]+(?=[{_CJK}])")


def tidy(text: str) -> str:
    return _FOLD_SPACE.sub("", text).strip()


class _Renderer:
    def __init__(self, template: Template, context: dict[str, Any]) -> None:
        self.template = template
        self.context = context

    def text(self, text: str, path: tuple, extra: dict[str, Any] | None = None) -> str:
        compiled = _compile(self.template, text, path)
        scope = {**self.context, **extra} if extra else self.context
        try:
            return tidy(compiled.render(scope))
        except jinja2.UndefinedError as exc:
            name = _undefined_name(exc)
            spec = self.template.fields.get(name or "")
            label = f"（{spec.label}）" if spec else ""
            hint = f"请用 --set {name}=… 提供" if spec else "请检查模板中的字段名是否拼写正确"
            raise TemplateError(f"{self.template.where(path)}：字段「{name}」{label}没有提供；{hint}") from None
        except SecurityError as exc:
            raise _refusal(self.template.where(path), exc) from None
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateError(f"{self.template.where(path)}：计算出错：{exc}") from None

    def expression(self, expr: str, path: tuple) -> Any:
        try:
            compiled = _ENV.compile_expression(expr, undefined_to_none=False)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{self.template.where(path)}：表达式语法错误：{exc.message}") from None
        try:
            value = compiled(**self.context)
            if isinstance(value, jinja2.Undefined):
                value._fail_with_undefined_error()
            return value
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{self.template.where(path)}：字段「{_undefined_name(exc)}」没有提供") from None
        except SecurityError as exc:
            raise _refusal(self.template.where(path), exc) from None

    def blocks(self, section: str) -> list[Block]:
        out: list[Block] = []
        for index, raw in enumerate(self.template.data.get(section) or []):
            path = (section, index)
            if "if" in raw and not self.expression(raw["if"], path + ("if",)):
                continue
            out.extend(self.block(raw, path))
        return out

    def block(self, raw: dict[str, Any], path: tuple) -> list[Block]:
        for kind in ("title", "subtitle", "number", "heading"):
            if kind in raw:
                text = self.text(raw[kind], path + (kind,))
                return [Block(kind, text=text)] if text else []
        if "paragraph" in raw:
            text = self.text(raw["paragraph"], path + ("paragraph",))
            return [Block("paragraph", text=text, font=raw.get("font"), size=raw.get("size"),
                          align=raw.get("align"), indent=raw.get("indent"), bold=raw.get("bold", False))]
        if "form" in raw:
            return [self.form(raw["form"], path + ("form",))]
        if "table" in raw:
            return [self.table(raw["table"], path + ("table",))]
        if "signatures" in raw:
            return [self.signatures(raw, path)]
        if "sign_off" in raw:
            spec = raw["sign_off"]
            return [Block("sign_off", org=self.text(spec["org"], path + ("sign_off", "org")),
                          date=self.text(spec["date"], path + ("sign_off", "date")), seal=spec.get("seal", False))]
        if "spacer" in raw:
            return [Block("spacer", amount=float(raw["spacer"]))]
        if "page_break" in raw:
            return [Block("page_break")]
        if "cut_line" in raw:
            return [Block("cut_line", text=self.text(raw["cut_line"], path + ("cut_line",)))]
        raise TemplateError(f"{self.template.where(path)}：无法识别的块")

    def form(self, spec: dict[str, Any], path: tuple) -> Block:
        rows, heights = [], []
        for r, row in enumerate(spec["rows"]):
            cells = row["cells"] if isinstance(row, dict) else row
            height = row.get("height", 1) if isinstance(row, dict) else 1
            rows.append([self.text(cell, path + ("rows", r, c)) for c, cell in enumerate(cells)])
            heights.append(float(height))
        width_count = max(len(row) for row in rows)
        widths = list(spec.get("widths") or [1.0] * width_count)
        if len(widths) < width_count:
            raise TemplateError(f"{self.template.where(path + ('widths',))}：widths 只有 {len(widths)} 列，但表格有 {width_count} 列")
        return Block("form", rows=rows, heights=heights, widths=widths, size=spec.get("size"))

    def table(self, spec: dict[str, Any], path: tuple) -> Block:
        items = self.expression(spec["each"], path + ("each",))
        if items is None or isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
            raise TemplateError(f"{self.template.where(path + ('each',))}：each 应给出一个列表")
        columns = spec["columns"]
        header = [self.text(col["header"], path + ("columns", i, "header")) for i, col in enumerate(columns)]
        rows = []
        for number, item in enumerate(items, start=1):
            extra = {"item": item, "index": number}
            rows.append([self.text(col["value"], path + ("columns", i, "value"), extra) for i, col in enumerate(columns)])
        for _ in range(max(0, spec.get("min_rows", 0) - len(rows))):
            rows.append([""] * len(columns))
        if spec.get("total"):
            rows.append([self.text(cell, path + ("total", i)) for i, cell in enumerate(spec["total"])])
        widths = [float(col.get("width", 1)) for col in columns]
        return Block("table", header=header, rows=rows, widths=widths, size=spec.get("size"))

    def signatures(self, raw: dict[str, Any], path: tuple) -> Block:
        spec = raw["signatures"]
        if isinstance(spec, str):
            items = self.expression(spec, path + ("signatures",))
            label = raw.get("label", "{{ item }}（签字）：")
            lines = [self.text(label, path + ("label",), {"item": item, "index": i}) for i, item in enumerate(items, 1)]
        else:
            lines = [self.text(text, path + ("signatures", i)) for i, text in enumerate(spec)]
        return Block("signatures", lines=lines, with_date=raw.get("date", False))


def _undefined_name(exc: jinja2.UndefinedError) -> str | None:
    message = str(exc.message or "")
    # "'reason' is undefined" or "'dict object' has no attribute 'reason'"
    if "has no attribute" in message:
        return message.rsplit("'", 2)[-2]
    if message.startswith("'"):
        return message.split("'")[1]
    return None


def render(template: Template, context: dict[str, Any]) -> Document:
    renderer = _Renderer(template, context)
    body = renderer.blocks("body")
    stub = renderer.blocks("stub") if template.has_stub else None
    return Document(title=template.title, body=body, stub=stub)


def check_fields(template: Template, params: dict[str, str]) -> None:
    """Refuse --set keys the template does not know, and name every required field not given."""
    unknown = [key for key in params if key not in template.fields]
    if unknown:
        known = "、".join(f"{n}（{s.label}）" for n, s in template.fields.items()) or "无"
        raise TemplateError(f"模板 {template.path} 没有字段：{', '.join(unknown)}。可设置的字段：{known}")
    missing = [spec for spec in template.fields.values()
               if spec.required and not str(params.get(spec.name, spec.default or "")).strip()]
    if missing:
        rows = [f"  {template.where(('fields', spec.name))}：字段「{spec.name}」（{spec.label}）必须提供，请用 --set {spec.name}=…"
                for spec in missing]
        raise TemplateError(f"生成「{template.title}」缺少必填内容：\n" + "\n".join(rows))
