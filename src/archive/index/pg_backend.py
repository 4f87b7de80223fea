"""The PostgreSQL backend: the full-text index of a home in a PostgreSQL database (a county
deployment), searched with a GIN index. The catalog stays where it is (SQLite for now).

PostgreSQL's `simple` text search configuration keeps a whole run of Chinese characters as one
token, and the Chinese parsers (zhparser, pg_jieba, pg_bigm, pgroonga) are not in Debian. So the
tsvector is built here, from the project's own analyser (index/analysis.py): each bigram of a
text field becomes a lexeme with its position, prefixed by the field (t: title, b: body,
p: people), written as a tsvector literal ('b生活':1 'b活困':2 …) — never through to_tsvector.

Everything a query asks is in that one tsvector, so a whole query is one tsquery, answered by
one GIN index scan and checked once per row (a tsvector is large and stored compressed: every
separate test of it would decompress it again):
- keyword fields (names, ID numbers and their tails, 文号 keys, village, type, year …) are whole
  lexemes `=field:value` ('=names:张三', '=ids:1234'): names and ID fragments match exactly;
- a Term of a text field is one lexeme; a Phrase is its bigrams at consecutive positions
  ('b最低' <-> 'b低生' <-> 'b生活'), matched exactly. tsvector positions stop at 16,383: a field
  with more terms is marked with the lexeme '=long:FIELD', and a phrase there matches its bigrams
  anywhere in the field (as whoosh always does);
- And, Or, Not are & | !; Or with `minmatch` k of n (the tolerant pass: most of a phrase's
  bigrams, for OCR damage) is the Or of every k-part And; Every is the lexeme '=all' that every
  document has. Names one character off are found above the backend (search/names.py).
- Scores: ts_rank with the lexemes' weight labels as field boosts (names, ids, 文号 A; title B;
  people C; body and the other keywords D), as whoosh's BM25F field boosts do.

Tables live in one PostgreSQL schema per home (`index.schema`, default archive_<全宗号>), so the
townships of a county share one database. The database is `index.url` in config.yaml or the
environment variable ARCHIVE_INDEX_URL.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from archive.errors import ArchiveError, ConfigError
from archive.index import analysis
from archive.index import queries as iq

if TYPE_CHECKING:
    from archive.home import Home

URL_ENV = "ARCHIVE_INDEX_URL"
MAX_POSITION = 16_383        # PostgreSQL's largest tsvector position
MAX_POSITIONS_PER_LEXEME = 255
MAX_TSVECTOR_BYTES = 900_000  # PostgreSQL refuses a tsvector of 1 MB; a little room is kept
TEXT_PREFIX = {"title": "t", "body": "b", "people": "p"}
LABEL = {"names": "A", "ids": "A", "number": "A", "title": "B", "people": "C"}  # others D
RANK_WEIGHTS = "{0.1, 0.3, 0.6, 1.0}"  # D, C, B, A
MAX_COMBINATIONS = 500  # Or(minmatch) expanded into at most this many Ands, else matched as Or
RANK_AT_MOST = 1000     # matches ranked by ts_rank; beyond, the first found (see search)
DF_CAP = 10_000         # doc_frequency counts this far: it only orders terms by rarity


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def keyword_lexeme(field: str, value: str) -> str:
    return f"={field}:{value}"


def _keyword_values(field: str, value: object) -> list[str]:
    if field == "names":
        return [str(v) for v in value]  # type: ignore[union-attr]
    if field in ("ids", "number"):
        return str(value).split()
    return [str(value)]


def tsvector_literal(fields: dict[str, object]) -> tuple[str, list[str]]:
    """The tsvector literal of a document (keyword lexemes, then each text field's bigrams with
    positions), and the text fields too long for positions."""
    parts: list[str] = [_quote(keyword_lexeme("all", "")) + ":1"]
    for field in iq.KEYWORD_FIELDS:
        value = fields.get(field)
        if value:
            label = LABEL.get(field, "")
            parts += [_quote(keyword_lexeme(field, v)) + f":1{label}"
                      for v in dict.fromkeys(_keyword_values(field, value))]
    long_fields: list[str] = []
    size = sum(len(p.encode()) for p in parts)
    for field, prefix in TEXT_PREFIX.items():
        value = fields.get(field)
        if not value:
            continue
        label = LABEL.get(field, "")
        positions: dict[str, list[int]] = {}
        count = 0
        for count, (term, _start, _end) in enumerate(analysis.terms(str(value)), start=1):
            kept = positions.setdefault(prefix + term, [])
            if count <= MAX_POSITION and len(kept) < MAX_POSITIONS_PER_LEXEME:
                kept.append(count)
        if count > MAX_POSITION:
            long_fields.append(field)
        for lexeme, where in positions.items():
            text = _quote(lexeme) + (":" + ",".join(f"{n}{label}" for n in where) if where else "")
            size += len(lexeme.encode()) + 2 * len(where) + 8
            if size > MAX_TSVECTOR_BYTES:
                if field not in long_fields:
                    long_fields.append(field)
                break  # a hostile or giant text: the rest of this field is not indexed
            parts.append(text)
    parts += [_quote(keyword_lexeme("long", field)) + ":1" for field in long_fields]
    return " ".join(parts), long_fields


def _schema_name(home: Home) -> str:
    given = str(home.config.index.get("schema") or "").strip()
    catalog = home.catalog_target
    if not given and catalog is not None:
        return catalog[1]  # beside a PostgreSQL catalog: in its schema
    name = given or "archive_" + re.sub(r"[^a-z0-9_]", "_", home.config.fonds.lower())
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ConfigError(f"config.yaml 中 index.schema「{name}」不能用作 PostgreSQL 模式名",
                          hint="只用小写字母、数字和下划线，以字母开头")
    return name


def database_url(home: Home) -> str:
    url = (os.environ.get(URL_ENV) or "").strip() or str(home.config.index.get("url") or "").strip()
    if not url and home.catalog_target is not None:
        url = home.catalog_target[0]  # beside a PostgreSQL catalog: in its database
    if not url:
        raise ConfigError("全文索引后端为 postgresql，但没有指定数据库",
                          hint=f"请在 config.yaml 的 index: 下设置 url: postgresql://用户@主机/数据库，或设置环境变量 {URL_ENV}")
    return url


def _where(url: str) -> str:
    """host:port/database of a URL, without user or password (for messages)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(url)
    except Exception:
        return "（地址格式不对）"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


class PostgresBackend:
    name = "postgresql"

    def __init__(self, home: Home) -> None:
        self.home = home
        self.url = database_url(home)
        self.schema = _schema_name(home)
        self._conn = None

    # -- connection and tables --
    @property
    def conn(self):
        if self._conn is None or self._conn.closed:
            try:
                import psycopg
            except ImportError as exc:  # pragma: no cover - the county extra is not installed
                raise ConfigError("全文索引后端为 postgresql，但未安装 psycopg",
                                  hint="请安装：pip install 'township-archive[county]'") from exc
            try:
                # prepare_threshold None: each query is planned with its own terms (a generic plan
                # cannot tell a rare name from a common bigram)
                self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10, prepare_threshold=None)
            except psycopg.OperationalError as exc:
                raise ArchiveError(f"无法连接全文索引数据库 {_where(self.url)}",
                                   hint="请检查 PostgreSQL 是否在运行，以及 config.yaml 的 index.url") from exc
        return self._conn

    def _table(self, name: str) -> str:
        return f'"{self.schema}".{name}'

    def _exists_tables(self) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".docs',)).fetchone()
        return row[0] is not None

    def _create(self) -> None:
        docs, meta = self._table("docs"), self._table("meta")
        with self.conn.transaction():
            self.conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {meta} (key text PRIMARY KEY, value text NOT NULL)")
            self.conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {docs} (
                    doc_id text PRIMARY KEY, rev integer NOT NULL, tv tsvector NOT NULL)""")
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS docs_tv ON {docs} USING gin (tv)")

    def exists(self) -> bool:
        return self._exists_tables()

    def version(self) -> str | None:
        if not self._exists_tables():
            return None
        row = self.conn.execute(f"SELECT value FROM {self._table('meta')} WHERE key='version'").fetchone()
        return row[0] if row else None

    def set_version(self, version: str | None) -> None:
        if not self._exists_tables():
            if version is None:
                return
            self._create()
        meta = self._table("meta")
        if version is None:
            self.conn.execute(f"DELETE FROM {meta} WHERE key='version'")
        else:
            self.conn.execute(f"INSERT INTO {meta} VALUES ('version', %s) ON CONFLICT (key) DO UPDATE "
                              "SET value = excluded.value", (version,))

    def reset(self) -> None:
        self._create()
        self.conn.execute(f"TRUNCATE {self._table('docs')}")

    def finish(self) -> None:
        """After a full rebuild: fresh planner statistics for the new rows."""
        if self._exists_tables():
            self.conn.execute(f"ANALYZE {self._table('docs')}")

    def size_bytes(self) -> int:
        if not self._exists_tables():
            return 0
        return int(self.conn.execute("SELECT pg_total_relation_size(%s)",
                                     (f'"{self.schema}".docs',)).fetchone()[0])

    # -- writing --
    def write(self, documents: Sequence[dict[str, object]], *, replace: bool, mark: Callable[[], None],
              procs: int = 1) -> None:
        if not self._exists_tables():
            self._create()
        rows = [(str(fields["doc_id"]), int(fields["rev"]), tsvector_literal(fields)[0]) for fields in documents]
        docs = self._table("docs")
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                f"""INSERT INTO {docs} (doc_id, rev, tv) VALUES (%s, %s, %s::tsvector)
                    ON CONFLICT (doc_id) DO UPDATE SET rev = excluded.rev, tv = excluded.tv""", rows)
        from archive.catalog import transaction

        # after the index commit: a crash between the two writes the same documents again next time
        with transaction(self.home.db):
            mark()

    def delete(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids or not self._exists_tables():
            return
        self.conn.execute(f"DELETE FROM {self._table('docs')} WHERE doc_id = ANY(%s)", (list(doc_ids),))

    def revisions(self) -> dict[str, int]:
        if not self._exists_tables():
            return {}
        return dict(self.conn.execute(f"SELECT doc_id, rev FROM {self._table('docs')}").fetchall())

    # -- searching --
    def doc_frequency(self, field: str, term: str) -> int:
        """Documents with the term, counted up to DF_CAP (the search only orders terms by rarity)."""
        if not self._exists_tables():
            return 0
        return int(self.conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {self._table('docs')} WHERE tv @@ %s::tsquery LIMIT %s) AS hit",
            (self.compile(iq.Term(field, term)), DF_CAP)).fetchone()[0])

    def compile(self, query: iq.Query) -> str:
        """The query as one tsquery (text form)."""
        if isinstance(query, iq.Term):
            if query.field in TEXT_PREFIX:
                return _quote(TEXT_PREFIX[query.field] + analysis.normalize(query.text).lower())
            return _quote(keyword_lexeme(query.field, query.text))
        if isinstance(query, iq.Phrase):
            if not query.grams:
                return self.compile(iq.Nothing())
            lexemes = [_quote(TEXT_PREFIX[query.field] + g) for g in query.grams]
            if len(lexemes) == 1:
                return lexemes[0]
            every = " & ".join([_quote(keyword_lexeme("long", query.field)), *dict.fromkeys(lexemes)])
            return f"(({' <-> '.join(lexemes)}) | ({every}))"
        if isinstance(query, iq.And):
            return "(" + " & ".join(self.compile(p) for p in query.parts) + ")" if query.parts else self.compile(iq.Every())
        if isinstance(query, iq.Or):
            parts = [self.compile(p) for p in query.parts]
            if not parts:
                return self.compile(iq.Nothing())
            need = query.minmatch
            if 1 < need <= len(parts):
                groups = list(itertools.islice(itertools.combinations(parts, need), MAX_COMBINATIONS + 1))
                if len(groups) <= MAX_COMBINATIONS:
                    return "(" + " | ".join("(" + " & ".join(g) + ")" for g in groups) + ")"
            elif need > len(parts):
                return self.compile(iq.Nothing())
            return "(" + " | ".join(parts) + ")"
        if isinstance(query, iq.Not):
            return f"!{self.compile(query.part)}"
        if isinstance(query, iq.Every):
            return _quote(keyword_lexeme("all", ""))
        if isinstance(query, iq.Nothing):
            return _quote(keyword_lexeme("nothing", ""))  # no document has it
        raise TypeError(f"unknown query node {query!r}")

    def search(self, query: iq.Query, filter: iq.Query | None, limit: int, ranked: bool = True) -> iq.Hits:
        """Up to RANK_AT_MOST matches are ranked (ts_rank reads each one's tsvector). More than that
        (a phrase every notice of a kind prints) are equally good answers: the first found are
        given without scoring every one, and the total is the planner's estimate (shown as 约).
        `ranked=False`: any `limit` matches, when only whether there are some matters."""
        if not self._exists_tables():
            raise ArchiveError(f"档案库 {self.home.root} 还没有全文索引", hint="请运行 archive reindex")
        tsquery = self.compile(iq.and_([query, filter]) if filter is not None else query)
        docs = self._table("docs")
        limit = max(1, limit)
        probe = [row[0] for row in self.conn.execute(
            f"SELECT doc_id FROM {docs} WHERE tv @@ CAST(%s AS tsquery) LIMIT %s",
            (tsquery, (RANK_AT_MOST + 1) if ranked else limit))]
        if not ranked:
            return iq.Hits([(doc_id, 1.0) for doc_id in probe], len(probe), len(probe) < limit, len(probe) < limit)
        if len(probe) > RANK_AT_MOST:
            plan = self.conn.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {docs} WHERE tv @@ CAST(%s AS tsquery)",
                                     (tsquery,)).fetchone()[0]
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            first = probe[:limit]
            return iq.Hits([(doc_id, 1.0 - i / (2 * len(first))) for i, doc_id in enumerate(first)],
                           max(estimate, len(probe)), False, False)
        rows = self.conn.execute(
            f"SELECT doc_id, ts_rank(CAST(%s AS float4[]), tv, CAST(%s AS tsquery)) AS score FROM {docs} "
            "WHERE doc_id = ANY(%s) ORDER BY score DESC, doc_id LIMIT %s",
            (RANK_WEIGHTS, tsquery, probe, limit)).fetchall()
        return iq.Hits([(doc_id, float(score)) for doc_id, score in rows], len(probe), True, len(probe) < limit)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
