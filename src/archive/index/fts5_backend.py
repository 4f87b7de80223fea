"""The SQLite FTS5 backend: the index lives in the catalog's own database, written in the
catalog's transactions (a document and the revision recorded for it commit together).

The text is analysed as for every backend (analysis.terms: character bigrams, ASCII words) and
the terms are written as space-separated tokens under FTS5's `ascii` tokenizer (white space and
ASCII punctuation separate tokens, every non-ASCII character belongs to one), so each bigram is
one token with its position: a phrase is its bigrams consecutive, matched exactly, unlike FTS5's
trigram tokenizer. Keyword fields (names, ID digits, 文号 keys, filters) are written as one
hex-encoded token per value, so any character in a value is safe.

Tables, derived data created here (IF NOT EXISTS), not part of the catalog's schema:
    search_docs(id, doc_id, rev)     which document is which FTS5 row, and its revision
    search_fts                       the FTS5 table (names, ids, number, keys, people, title, body)
    search_meta(key, value)          the schema version of what is indexed
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Sequence

from archive.catalog import transaction
from archive.home import Home
from archive.index import analysis
from archive.index import queries as iq

COLUMNS = ("names", "ids", "number", "keys", "people", "title", "body")
# bm25 weights per column: a member's name and an ID count most, a title over a body; the
# filter keys do not score
WEIGHTS = (12.0, 3.0, 3.0, 0.0, 1.0, 4.0, 1.0)
KEY_FIELDS = ("household", "village", "type", "category", "year", "month", "status", "linked",
              "archival_code")

_CREATE = (
    "CREATE TABLE IF NOT EXISTS search_docs (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, "
    "rev INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5({', '.join(COLUMNS)}, "
    "tokenize='ascii', detail=full)",
)
_DROP = ("DROP TABLE IF EXISTS search_fts", "DROP TABLE IF EXISTS search_docs", "DROP TABLE IF EXISTS search_meta")
RANK_AT_MOST = 1000  # matches ranked by bm25; beyond, the newest first
_EVERY = object()  # the compiled form of Every: no MATCH at all


def _key(value: str) -> str:
    return "k" + value.encode().hex()


def column(field: str) -> str:
    return field if field in COLUMNS else "keys"


def token(field: str, text: str) -> str:
    """The token a term of `field` is written as."""
    if field in ("people", "title", "body"):
        return text
    if field in ("names", "ids", "number"):
        return _key(text)
    return _key(f"{field}\x1f{text}")


def row(fields: dict[str, object]) -> tuple[str, ...]:
    """store.fields -> the FTS5 row, one string of tokens per column."""
    def text(value: object) -> str:
        return " ".join(analysis.tokens(str(value or "")))

    return (
        " ".join(_key(name) for name in fields.get("names", [])),  # type: ignore[union-attr]
        " ".join(_key(t) for t in str(fields.get("ids", "")).split()),
        " ".join(_key(t) for t in str(fields.get("number", "")).split()),
        " ".join(token(f, str(fields[f])) for f in KEY_FIELDS if fields.get(f)),
        text(fields.get("people")),
        text(fields.get("title")),
        text(fields.get("body")),
    )


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def compile_match(query: iq.Query):
    """The FTS5 MATCH expression of a query; None when it matches nothing, _EVERY for everything."""
    if isinstance(query, iq.Term):
        return f"{{{column(query.field)}}} : {_quote(token(query.field, query.text))}"
    if isinstance(query, iq.Phrase):
        grams = [g for g in query.grams if g]
        if not grams:
            return None
        return f"{{{column(query.field)}}} : {_quote(' '.join(grams))}"
    if isinstance(query, iq.And):
        positive: list[str] = []
        negative: list[str] = []
        for part in query.parts:
            if isinstance(part, iq.Not):
                inner = compile_match(part.part)
                if inner is _EVERY:
                    return None
                if inner is not None:
                    negative.append(inner)
                continue
            compiled = compile_match(part)
            if compiled is None:
                return None
            if compiled is not _EVERY:
                positive.append(compiled)
        if not positive:
            if negative:
                raise ValueError("an And of Not parts only cannot be searched")
            return _EVERY
        expression = "(" + " AND ".join(positive) + ")"
        for inner in negative:
            expression = f"({expression} NOT {inner})"
        return expression
    if isinstance(query, iq.Or):
        parts = []
        for part in query.parts:
            compiled = compile_match(part)
            if compiled is _EVERY and query.minmatch <= 1:
                return _EVERY
            if compiled is not None and compiled is not _EVERY:
                parts.append(compiled)
        need = max(1, query.minmatch)
        if len(parts) < need:
            return None
        if need > 1:
            parts = ["(" + " AND ".join(combo) + ")" for combo in itertools.combinations(parts, need)]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    if isinstance(query, iq.Not):
        raise ValueError("a Not is searched only inside an And")
    if isinstance(query, iq.Every):
        return _EVERY
    if isinstance(query, iq.Nothing):
        return None
    raise TypeError(f"unknown query node {query!r}")


class Fts5Backend:
    name = "fts5"

    def __init__(self, home: Home) -> None:
        self.home = home
        self._vocab = False

    @property
    def conn(self) -> sqlite3.Connection:
        return self.home.db

    def _create(self) -> None:
        for statement in _CREATE:
            self.conn.execute(statement)

    # -- in the catalog --
    def exists(self) -> bool:
        return self.conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('search_fts', 'search_docs', 'search_meta')"
        ).fetchone()[0] == 3

    def version(self) -> str | None:
        if not self.exists():
            return None
        found = self.conn.execute("SELECT value FROM search_meta WHERE key = 'version'").fetchone()
        return found[0] if found else None

    def set_version(self, version: str | None) -> None:
        with transaction(self.conn):
            self._create()
            if version is None:
                self.conn.execute("DELETE FROM search_meta WHERE key = 'version'")
            else:
                self.conn.execute("INSERT OR REPLACE INTO search_meta(key, value) VALUES ('version', ?)", (version,))

    def reset(self) -> None:
        self.close()
        with transaction(self.conn):
            for statement in _DROP + _CREATE:
                self.conn.execute(statement)
            # fewer, larger segments while a rebuild writes (merged once at the end)
            self.conn.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 8)")

    def finish(self) -> None:
        """After a full rebuild: merge the segments into one (fastest to search)."""
        with transaction(self.conn):
            self.conn.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")

    def size_bytes(self) -> int:
        try:
            return sum(r[0] for r in self.conn.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'search_%' GROUP BY name"))
        except sqlite3.OperationalError:  # SQLite built without dbstat
            return 0

    # -- writing --
    def write(self, documents: Sequence[dict[str, object]], *, replace: bool, mark: Callable[[], None],
              procs: int = 1) -> None:
        conn = self.conn
        insert = f"INSERT INTO search_fts(rowid, {', '.join(COLUMNS)}) VALUES (?{', ?' * len(COLUMNS)})"
        with transaction(conn):
            self._create()
            if not replace:
                # a full rebuild: no document is there yet, the rows are numbered here and written
                # in two statements (one per table) instead of three per document
                first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM search_docs").fetchone()[0]
                numbered = list(enumerate(documents, start=first))
                conn.executemany("INSERT INTO search_docs(id, doc_id, rev) VALUES (?, ?, ?)",
                                 [(rowid, fields["doc_id"], fields["rev"]) for rowid, fields in numbered])
                conn.executemany(insert, ((rowid, *row(fields)) for rowid, fields in numbered))
                mark()
                return
            for fields in documents:
                values = row(fields)
                doc_id, rev = fields["doc_id"], fields["rev"]
                found = conn.execute("SELECT id FROM search_docs WHERE doc_id = ?", (doc_id,)).fetchone()
                if found is not None:
                    conn.execute("DELETE FROM search_fts WHERE rowid = ?", (found[0],))
                    conn.execute("UPDATE search_docs SET rev = ? WHERE id = ?", (rev, found[0]))
                    rowid = found[0]
                else:
                    rowid = conn.execute("INSERT INTO search_docs(doc_id, rev) VALUES (?, ?)", (doc_id, rev)).lastrowid
                conn.execute(insert, (rowid, *values))
            mark()

    def delete(self, doc_ids: Sequence[str]) -> None:
        if not self.exists() or not doc_ids:
            return
        with transaction(self.conn):
            for doc_id in doc_ids:
                found = self.conn.execute("SELECT id FROM search_docs WHERE doc_id = ?", (doc_id,)).fetchone()
                if found is not None:
                    self.conn.execute("DELETE FROM search_fts WHERE rowid = ?", (found[0],))
                    self.conn.execute("DELETE FROM search_docs WHERE id = ?", (found[0],))

    def revisions(self) -> dict[str, int]:
        if not self.exists():
            return {}
        return {doc_id: rev for doc_id, rev in self.conn.execute("SELECT doc_id, rev FROM search_docs")}

    # -- searching --
    def doc_frequency(self, field: str, term: str) -> int:
        if not self.exists():
            return 0
        if not self._vocab:
            self.conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab "
                              "USING fts5vocab(main, search_fts, col)")
            self._vocab = True
        found = self.conn.execute("SELECT doc FROM temp.search_vocab WHERE term = ? AND col = ?",
                                  (token(field, term), column(field))).fetchone()
        return found[0] if found else 0

    def search(self, query: iq.Query, filter: iq.Query | None, limit: int, ranked: bool = True) -> iq.Hits:
        """Up to RANK_AT_MOST matches are ranked by bm25. More than that (a phrase every notice of a
        kind prints) are all equally good answers: the newest come first, without scoring every one,
        and the total is estimated (shown as 约) from how far back the first RANK_AT_MOST reach."""
        expression = compile_match(iq.and_([query, filter]) if filter is not None else query)
        if expression is None or not self.exists():
            return iq.Hits()
        conn = self.conn
        if expression is _EVERY:
            found = [(doc_id, 1.0) for doc_id, in conn.execute(
                "SELECT doc_id FROM search_docs ORDER BY id DESC LIMIT ?", (limit,))]
            total = conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]
            return iq.Hits(found, total, True, len(found) >= total)
        probe = [r[0] for r in conn.execute(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
            (expression, (RANK_AT_MOST + 1) if ranked else limit))]
        if not ranked:
            return iq.Hits(self._doc_ids([(rowid, 1.0) for rowid in probe]), len(probe), len(probe) < limit,
                           len(probe) < limit)
        if len(probe) > RANK_AT_MOST:
            newest = probe[:limit]
            low, high = conn.execute("SELECT min(id), max(id) FROM search_docs").fetchone()
            estimate = int(len(probe) * (high - low + 1) / max(1, high - probe[-1] + 1))
            return iq.Hits(self._doc_ids([(rowid, 1.0 - i / (2 * len(newest))) for i, rowid in enumerate(newest)]),
                           max(estimate, len(probe)), False, False)
        weights = ", ".join(str(w) for w in WEIGHTS)
        found = conn.execute(
            f"SELECT rowid, -bm25(search_fts, {weights}) AS score FROM search_fts WHERE search_fts MATCH ? "
            "ORDER BY score DESC, rowid LIMIT ?", (expression, limit)).fetchall()
        return iq.Hits(self._doc_ids(found), len(probe), True, len(probe) <= limit)

    def _doc_ids(self, found) -> list[tuple[str, float]]:
        if not found:
            return []
        ids = dict(self.conn.execute(
            f"SELECT id, doc_id FROM search_docs WHERE id IN ({','.join('?' * len(found))})",
            [r[0] for r in found]).fetchall())
        return [(ids[rowid], score) for rowid, score in found if rowid in ids]

    def close(self) -> None:
        self._vocab = False
