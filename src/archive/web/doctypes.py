"""The document types the browser offers, with their fields, for the generate form.

One adapter: `_template` reads a type's template through documents/templates.py today; when the
document-type registry lands, only that function changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archive.documents import templates
from archive.documents.generate import HOUSEHOLD_TYPES
from archive.errors import NotFoundError
from archive.home import Home


@dataclass(frozen=True)
class FieldInfo:
    name: str
    label: str
    required: bool
    kind: str
    choices: tuple[str, ...] = ()
    default: str = ""


@dataclass(frozen=True)
class DocType:
    id: str
    title: str
    scope: str
    fields: tuple[FieldInfo, ...]
    numbered: bool

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _template(home: Home, type_id: str) -> Any:
    """The one place that reads a type's definition (switch to the registry here)."""
    return templates.load_template(type_id, home.templates_dir)


def document_type(home: Home, type_id: str) -> DocType:
    if type_id not in HOUSEHOLD_TYPES:
        raise NotFoundError(f"没有这种文书类型：「{type_id}」")
    template = _template(home, type_id)
    raw = template.data.get("fields") or {}
    fields = tuple(
        FieldInfo(name=spec.name, label=spec.label, required=bool(spec.required), kind=spec.kind,
                  choices=tuple(str(c) for c in (raw.get(spec.name, {}).get("choices") or ())),
                  default=str(spec.default) if spec.default is not None else "")
        for spec in template.fields.values())
    return DocType(id=template.id, title=template.title, scope=template.scope, fields=fields,
                   numbered=bool(template.number_code))


def household_types(home: Home) -> list[DocType]:
    """Every type a caseworker can generate for one household, in the usual order of a case."""
    return [document_type(home, type_id) for type_id in HOUSEHOLD_TYPES]
