"""The document types the browser offers, with their fields, for the generate form: the
household-scope types of the document-type registry (documents/types.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archive.documents import templates
from archive.documents.types import registry
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
    """A type's template, for checking a form's values field by field."""
    return templates.load_template(type_id, home.templates_dir)


def _info(kind: Any) -> DocType:
    fields = tuple(
        FieldInfo(name=spec.name, label=spec.label, required=bool(spec.required), kind=spec.kind,
                  choices=tuple(str(c) for c in (spec.choices or ())),
                  default=str(spec.default) if spec.default is not None else "")
        for spec in kind.fields)
    return DocType(id=kind.id, title=kind.title, scope=kind.scope, fields=fields, numbered=bool(kind.number_code))


def document_type(home: Home, type_id: str) -> DocType:
    kind = registry(home).get(type_id)
    if kind is None or not kind.generated or kind.scope != "household":
        raise NotFoundError(f"没有这种可为一户生成的文书类型：「{type_id}」")
    return _info(kind)


def household_types(home: Home) -> list[DocType]:
    """Every type a caseworker can generate for one household, in the registry's order."""
    return [_info(kind) for kind in registry(home).generated() if kind.scope == "household"]


def is_household_type(home: Home, type_id: str) -> bool:
    kind = registry(home).get(type_id)
    return kind is not None and kind.generated and kind.scope == "household"
