"""Document types: one registry, built from the templates.

Every kind of paper the archive knows is a `DocumentType`:

- the templates, `doc_templates/*.yaml` laid under the home's own `templates/*.yaml` (same id:
  the home's wins; a new id: a new type). A template says everything the program needs about its
  type: id, Chinese title (and `aliases`), `scope` (household / village / month), `category` (the
  archive class filing uses: 审批类 or 日常管理类, which gives the 保管期限), its fields (label, kind,
  required, choices, help, limits), whether it has a 存根 (`stub`), its 文号 code (`number`),
  whether it is posted (`public`), the texts that identify a scan of it (`recognize`, default the
  title), the history event it records (`event`) and whether it is a notice whose signed copy comes
  back (`notice`);
- the records the program builds itself: 花名册 and 人数资金统计表 (XLSX, one month);
- the papers people bring (身份证, 户口簿, 残疾人证, …): recognised on scans and filed, never generated.

Adding a type is adding a YAML file: `archive generate` (by id, title or alias), scan
classification at ingest, filing (its category), search (`--type`), `archive types` and the
web form all follow, with no code change.

Library API (the web application builds its generation forms from it)::

    from archive.documents.types import registry
    types = registry(home)                  # a Home, a templates folder, or None (built-in only)
    for doc_type in types.generated():      # what `archive generate` can make, in a stable order
        doc_type.id, doc_type.title, doc_type.scope, doc_type.category, doc_type.has_stub
        doc_type.options                    # what a request needs: ["household"], ["village", "from", "to"], ["month"]
        for spec in doc_type.fields:        # template order; spec.to_json() for the form:
            ...                             # name, label, kind (text/money/date/month/integer/choice),
                                            # required, default, choices, help, min, max, max_length
    types.resolve("不予批准告知书")            # id, title or alias -> DocumentType; unknown: BadInputError
                                            # (Chinese, exit 4) listing every type
    types.find("告知书")                     # lenient (search filters): also part of a title; None if nothing
    types.classify(ocr_text)                # the type a scan's text is, or None
    types.title("refusal")                  # the Chinese title (the id itself for an unknown id)
    doc_type.to_json()                      # one JSON object, as `archive types --json` prints it

A home template that fails to load does not hide the others: `resolve` of its id raises its
error (file, line, reason); classification and titles fall back to the built-in type of that id.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archive.documents.templates import FieldSpec, Template, load_template_file, template_dirs
from archive.errors import BadInputError, TemplateError

SCOPE_NAMES = {"household": "一户", "village": "一村(社区)", "month": "全乡镇一个月", "township": "全乡镇一个月",
               "external": "外来材料"}
_SCOPE_OPTIONS = {"household": ["household"], "village": ["village"], "month": ["month"], "township": ["month"],
                  "external": []}


@dataclasses.dataclass(frozen=True)
class DocumentType:
    """One kind of document. `origin`: template (generated from YAML), program (花名册, 统计表)
    or external (brought by people, only recognised on scans); `source`: builtin or home."""

    id: str
    title: str
    scope: str
    category: str
    origin: str = "template"
    source: str = "builtin"
    path: Path | None = None
    fields: tuple[FieldSpec, ...] = ()
    has_stub: bool = False
    number_code: str | None = None
    public: bool = False
    notice: bool = False
    event: str | None = None
    period: bool = False
    aliases: tuple[str, ...] = ()
    recognize: tuple[str, ...] = ()
    help: str = ""
    produced_by: str | None = None  # statistics: made together with roster

    @property
    def generated(self) -> bool:
        return self.origin != "external" and self.produced_by is None

    @property
    def options(self) -> list[str]:
        """The request parameters the type needs besides --date and its fields."""
        options = list(_SCOPE_OPTIONS.get(self.scope, []))
        if self.period:
            options += ["from", "to"]
        return options

    def field(self, name: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "scope": self.scope, "scope_cn": SCOPE_NAMES.get(self.scope, self.scope),
            "category": self.category, "origin": self.origin, "source": self.source,
            "path": str(self.path) if self.path else None, "has_stub": self.has_stub, "number_code": self.number_code,
            "public": self.public, "notice": self.notice, "event": self.event, "options": self.options,
            "aliases": list(self.aliases), "recognize": list(self.recognize), "help": self.help,
            "generated": self.generated, "fields": [field_json(spec) for spec in self.fields],
        }


def field_json(spec: FieldSpec) -> dict[str, Any]:
    """A template field as the web form needs it (FieldSpec.to_json)."""
    return spec.to_json()


def from_template(template: Template, source: str) -> DocumentType:
    return DocumentType(
        id=template.id, title=template.title, scope=template.scope, category=template.category or "审批类",
        origin="template", source=source, path=template.path, fields=tuple(template.fields.values()),
        has_stub=template.has_stub, number_code=template.number_code, public=template.public,
        notice=template.notice, event=template.event, period=template.period, aliases=template.aliases,
        recognize=template.recognize, help=template.help)


# The records the program builds (XLSX), and the papers people bring. Not templates: they have no
# text to render; they are here so that every type has one title, one filing class, one place.
PROGRAM_TYPES = (
    DocumentType("roster", "花名册", "month", "日常管理类", origin="program", source="program",
                 aliases=("社会救助对象花名册", "花名册和人数资金统计表"),
                 help="当月在保对象花名册和人数资金统计表（XLSX），按经历计算"),
    DocumentType("statistics", "人数资金统计表", "month", "日常管理类", origin="program", source="program",
                 aliases=("社会救助人数资金统计表",), produced_by="roster"),
)
EXTERNAL_TYPES = tuple(
    DocumentType(type_id, title, "external", "审批类", origin="external", source="program", recognize=patterns)
    for type_id, title, patterns in (
        ("hukou", "户口簿", ("户口簿", "常住人口登记卡", "户主或与户主关系")),
        ("id-card", "居民身份证", ("居民身份证", "签发机关", "有效期限")),
        ("disability", "残疾人证", ("残疾人证", "残疾类别", "残疾等级")),
        ("medical", "疾病证明", ("疾病证明", "诊断证明", "诊断书", "出院记录")),
        ("marriage", "婚姻状况证明", ("结婚证", "离婚证", "婚姻状况证明", "婚姻登记")),
        ("lease", "房屋租赁协议", ("租赁协议", "租赁合同", "房屋租赁")),
        ("land", "土地承包经营证明", ("土地承包经营", "承包经营权")),
        ("scan", "扫描件", ()),
    ))


class Registry:
    """The document types of one home (built-in templates under the home's own)."""

    def __init__(self, types: list[DocumentType], broken: dict[str, TemplateError] | None = None,
                 fallback: dict[str, DocumentType] | None = None) -> None:
        self._types = {t.id: t for t in types}
        self.broken = dict(broken or {})
        self._fallback = dict(fallback or {})  # built-in types hidden by a broken home template

    def __iter__(self) -> Iterator[DocumentType]:
        return iter(self._types.values())

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._types or type_id in self.broken

    def __len__(self) -> int:
        return len(self._types)

    def get(self, type_id: str) -> DocumentType | None:
        return self._types.get(type_id) or self._fallback.get(type_id)

    def generated(self) -> list[DocumentType]:
        return [t for t in self._types.values() if t.generated]

    def templates(self) -> list[DocumentType]:
        return [t for t in self._types.values() if t.origin == "template"]

    def title(self, type_id: str, default: str | None = None) -> str:
        found = self.get(type_id)
        return found.title if found else (default if default is not None else type_id)

    def titles(self) -> dict[str, str]:
        return {t.id: t.title for t in self._types.values()}

    def category(self, type_id: str) -> str | None:
        found = self.get(type_id)
        return found.category if found else None

    def _exact(self, value: str) -> DocumentType | None:
        value = value.strip()
        if value in self.broken:
            raise self.broken[value]
        if value in self._types:
            return self._types[value]
        for doc_type in self._types.values():
            if value == doc_type.title or value in doc_type.aliases:
                return doc_type
        for doc_type in self._types.values():
            if value in doc_type.recognize and doc_type.origin != "external":
                return doc_type
        return None

    def resolve(self, value: str, *, generated: bool = False) -> DocumentType:
        """The type named by its id, title or an alias; a Chinese BadInputError listing the
        types when there is none (with `generated`, only types `archive generate` makes)."""
        found = self._exact(value or "")
        if found is not None and (found.generated or not generated):
            return found
        choices = self.generated() if generated else list(self._types.values())
        listing = "、".join(f"{t.id}（{t.title}）" for t in choices)
        if found is not None and found.produced_by:
            maker = self.get(found.produced_by)
            raise BadInputError(f"「{found.title}」随「{maker.title if maker else found.produced_by}」一起生成",
                                hint=f"请用 archive generate {found.produced_by}")
        if found is not None:
            raise BadInputError(f"「{value}」（{found.title}）不由本系统生成", hint=f"可生成的文书类型：{listing}")
        raise BadInputError(f"未知的文书类型「{value}」", hint=f"可用的文书类型：{listing}")

    def find(self, value: str | None) -> str | None:
        """Lenient lookup for filters: id, title, alias, or part of a title; the value itself
        when nothing matches (an ingested type id the registry has never heard of)."""
        if not value:
            return None
        try:
            found = self._exact(value)
        except TemplateError:
            found = self._fallback.get(value)
        if found is not None:
            return found.id
        for doc_type in self._types.values():
            if value in doc_type.title or any(value in alias for alias in doc_type.aliases):
                return doc_type.id
        return value

    def classify(self, text: str) -> str | None:
        """The type of a scan from its text: the pattern found earliest (titles come first on a
        page), the longest one at the same place. None when no type's text is there."""
        compact = re.sub(r"\s+", "", text)
        best: tuple[int, int, str] | None = None
        for doc_type in list(self._types.values()) + list(self._fallback.values()):
            for pattern in doc_type.recognize:
                at = compact.find(re.sub(r"\s+", "", pattern))
                if at >= 0 and (best is None or (at, -len(pattern)) < best[:2]):
                    best = (at, -len(pattern), doc_type.id)
        return best[2] if best else None

    def to_json(self) -> list[dict[str, Any]]:
        return [t.to_json() for t in self._types.values()]


def _signature(folders: list[Path]) -> tuple:
    entries = []
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


_CACHE: dict[tuple, Registry] = {}


def registry(home: Any = None) -> Registry:
    """The registry for an archive home (`Home`, its templates folder, or None for the built-in
    types only). Cached per set of template files (path, modification time, size): a template
    added or edited is seen by the next call."""
    home_templates = getattr(home, "templates_dir", home)
    folders = template_dirs(Path(home_templates) if home_templates else None)
    key = _signature(folders)
    cached = _CACHE.get(key)
    if cached is None:
        cached = _build(folders)
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = cached
    return cached


def _build(folders: list[Path]) -> Registry:
    builtin_dir = folders[-1]
    loaded: dict[str, DocumentType] = {}
    broken: dict[str, TemplateError] = {}
    fallback: dict[str, DocumentType] = {}
    for folder in reversed(folders):  # built-in first, the home's own over them
        source = "builtin" if folder == builtin_dir else "home"
        for path in sorted(folder.glob("*.yaml")):
            try:
                template = load_template_file(path)
            except TemplateError as exc:
                if path.stem in loaded:
                    fallback[path.stem] = loaded.pop(path.stem)
                broken[path.stem] = exc
                continue
            broken.pop(template.id, None)
            fallback.pop(template.id, None)
            loaded[template.id] = from_template(template, source)
    reserved = {t.id for t in PROGRAM_TYPES + EXTERNAL_TYPES}
    for type_id in list(loaded):
        if type_id in reserved:  # a template may not take the place of a program record or a certificate
            broken[type_id] = TemplateError(f"模板 {loaded[type_id].path}：id「{type_id}」是系统保留的文书类型，请换一个 id")
            del loaded[type_id]
    types = list(loaded.values()) + list(PROGRAM_TYPES) + list(EXTERNAL_TYPES)
    return Registry(types, broken, fallback)


def filing_class(home: Any, type_id: str, types: Registry | None = None) -> tuple[str, str]:
    """(class, 保管期限) of a document type: config.yaml's `filing.type_classes` if it names the
    type, else the type's own `category` (pass `types` when asking for many documents)."""
    return home.config.filing_class(type_id, (types or registry(home)).category(type_id))
