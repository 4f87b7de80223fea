"""The index backend interface and its registry.

A backend keeps the full-text index of one archive home. It knows nothing of the catalog's
rules: store.py reads the catalog, turns each document row into a field dict (store.fields),
hands batches to the backend, and compares revisions for `check`; search/engine.py builds
backend-neutral queries (index/queries.py) and looks the hits up in the catalog.

To add a backend: a module with a class implementing IndexBackend, registered with
`register("name", "module.path:ClassName")`, selected by `index: {backend: name}` in config.yaml.
The search tests run against every registered backend (tests/conftest.py `index_backend`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from archive.errors import ConfigError
from archive.index.queries import Hits, Query

if TYPE_CHECKING:
    from archive.home import Home

DEFAULT = "fts5"
BACKEND_ENV = "ARCHIVE_INDEX_BACKEND"  # overrides config.yaml (tests and benchmarks)

Fields = dict[str, object]


class IndexBackend(Protocol):
    name: str

    def exists(self) -> bool:
        """Whether an index (complete or not) is there."""

    def version(self) -> str | None:
        """The version marker written by set_version (None: none written)."""

    def set_version(self, version: str | None) -> None:
        """Record the schema version (and state) of the index; None removes it."""

    def reset(self) -> None:
        """Make the index empty (a full rebuild starts here)."""

    def finish(self) -> None:
        """After the last batch of a full rebuild (merge what the rebuild wrote)."""

    def write(self, documents: Sequence[Fields], *, replace: bool, mark: Callable[[], None]) -> None:
        """Write a batch of documents (`replace`: a document of the same doc_id may be there), then
        call `mark` (it records the written revisions in the catalog): inside the same catalog
        transaction when the index lives in the catalog, after the index commit otherwise."""

    def delete(self, doc_ids: Sequence[str]) -> None:
        """Remove documents from the index."""

    def revisions(self) -> dict[str, int]:
        """doc_id -> the revision indexed, for every document in the index."""

    def doc_frequency(self, field: str, term: str) -> int:
        """How many documents have the term in the field."""

    def search(self, query: Query, filter: Query | None, limit: int, ranked: bool = True) -> Hits:
        """The best `limit` documents matching the query and the filter, with total and exactness
        (`ranked=False`: any `limit` of them, when only whether there are some matters)."""

    def size_bytes(self) -> int:
        """The index's size on disk."""

    def close(self) -> None:
        """Release open files and cached searchers."""


_REGISTRY: dict[str, str] = {}


def register(name: str, target: str) -> None:
    """Register a backend class by its import path ("package.module:Class"), loaded on first use."""
    _REGISTRY[name] = target


def names() -> list[str]:
    return list(_REGISTRY)


def backend_name(home: Home) -> str:
    """ARCHIVE_INDEX_BACKEND, else `index.backend` in config.yaml, else the default: fts5 beside a
    SQLite catalog, postgresql (in the catalog's own database and schema) beside a PostgreSQL one."""
    default = "postgresql" if home.catalog_target is not None else DEFAULT
    name = (os.environ.get(BACKEND_ENV) or "").strip() or str(home.config.index.get("backend") or default)
    if name not in _REGISTRY:
        raise ConfigError(f"config.yaml 中的全文索引后端「{name}」不存在（可用：{'、'.join(_REGISTRY)}）",
                          hint="请在 config.yaml 的 index: backend: 中填写其中之一")
    return name


def create(name: str, home: Home) -> IndexBackend:
    module, _, attr = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attr)(home)


def for_home(home: Home) -> IndexBackend:
    """The home's backend, kept on the home (it caches its searcher between searches)."""
    name = backend_name(home)
    cached = home.index_backend
    if cached is not None and cached.name == name:
        return cached
    if cached is not None:
        cached.close()
    home.index_backend = create(name, home)
    return home.index_backend


register("whoosh", "archive.index.whoosh_backend:WhooshBackend")
register("fts5", "archive.index.fts5_backend:Fts5Backend")
register("postgresql", "archive.index.pg_backend:PostgresBackend")  # a county deployment
