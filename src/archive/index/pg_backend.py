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

import contextlib
import itertools
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from archive import pgconn
from archive.errors import ArchiveError, ConfigError, UnavailableError
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
CHECK = 200            # candidates a phrase is checked on first when they are many (see _many)
CANDIDATES_AT_MOST = 50_000  # candidates counted this far (beyond: the estimate is a lower bound)
DF_CAP = 10_000         # doc_frequency counts this far: it only orders terms by rarity
# Session settings of the index connection (see docs/COUNTY.md, "PostgreSQL 全文索引"):
# - enable_seqscan off: a tsvector is stored out of line (TOAST), so the planner's cost of a
#   sequential scan leaves out reading and decompressing every row's tsvector; with a LIMIT it
#   then prefers a sequential scan to the GIN index (停发 with two filters: 1.2 s instead of 36 ms
#   at 100,000 documents). Every query here is a tsquery the GIN index answers.
# - jit off: JIT compilation costs tens of milliseconds and never pays for these short queries.
# - statement_timeout: a search statement that runs longer is stopped (a hostile query — hundreds of
#   words, each a phrase — must not hold a county server's CPU); writing and building the index
#   lift it (_unbounded): a rebuild's GIN index takes minutes at a million documents.
SESSION = {"enable_seqscan": "off", "jit": "off", "statement_timeout": "20s"}
# A query the planner's statistics say more than COMMON_AT_LEAST documents match, so many that
# `limit` of them are expected within the newest SAMPLE / 2 documents, is first looked for among
# the newest SAMPLE documents (see search)
COMMON_AT_LEAST = 2 * 1000
SAMPLE = 5000
STATS_TTL = 600  # seconds a backend keeps the planner's statistics it read
BUILD_MEMORY = "256MB"  # maintenance_work_mem for building the GIN index after a full rebuild


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
        joiner = label + ","
        positions: dict[str, list[int]] = {}
        count = 0
        for count, (term, _start, _end) in enumerate(analysis.terms(str(value)), start=1):
            kept = positions.get(term)
            if kept is None:
                positions[term] = kept = []
            if count <= MAX_POSITION and len(kept) < MAX_POSITIONS_PER_LEXEME:
                kept.append(count)
        if count > MAX_POSITION:
            long_fields.append(field)
        for term, where in positions.items():
            lexeme = prefix + term
            # a term is a run of Han characters or an ASCII word: quoting is needed only in theory
            quoted = _quote(lexeme) if ("'" in term or "\\" in term) else "'" + lexeme + "'"
            size += len(lexeme.encode()) + 2 * len(where) + 8
            if size > MAX_TSVECTOR_BYTES:
                if field not in long_fields:
                    long_fields.append(field)
                break  # a hostile or giant text: the rest of this field is not indexed
            parts.append(quoted + ":" + joiner.join(map(str, where)) + label if where else quoted)
    parts += [_quote(keyword_lexeme("long", field)) + ":1" for field in long_fields]
    return " ".join(parts), long_fields


def _has_phrase(query: iq.Query) -> bool:
    """Whether the query checks positions (a phrase of more than one bigram), outside a Not."""
    if isinstance(query, iq.Phrase):
        return len(query.grams) > 1
    if isinstance(query, iq.And | iq.Or):
        return any(_has_phrase(part) for part in query.parts)
    return False


def psycopg_error() -> type[Exception]:
    import psycopg

    return psycopg.Error


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


class PostgresBackend:
    name = "postgresql"

    def __init__(self, home: Home) -> None:
        self.home = home
        self.url = database_url(home)
        self.schema = _schema_name(home)
        self._conn = None
        self._stats: tuple[dict[str, float], float, float] | None = None
        self._stats_read = 0.0

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
                raise UnavailableError(f"无法连接全文索引数据库 {pgconn.where(self.url)}",
                                      hint="请检查 PostgreSQL 是否在运行，以及 config.yaml 的 index.url") from exc
            for name, value in SESSION.items():
                self._conn.execute("SELECT set_config(%s, %s, false)", (name, value))
            self._check_not_another_catalog()
        return self._conn

    def _check_not_another_catalog(self) -> None:
        """Refuse a schema that holds another home's catalog. The default schema is archive_ +
        全宗号, the same as a PostgreSQL catalog's: an index beside a SQLite catalog (or in
        another database) would otherwise write its docs and meta tables into the catalog schema
        of another home with the same 全宗号, and each home's check-index reports the other's
        documents."""
        catalog = self.home.catalog_target
        if catalog is not None and catalog[1] == self.schema and pgconn.where(catalog[0]) == pgconn.where(self.url):
            return  # beside its own catalog
        found = self._conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".alembic_version',)).fetchone()[0]
        if found is not None:
            self._conn.close()
            raise ConfigError(
                f"全文索引的 PostgreSQL 模式 {self.schema}（{pgconn.where(self.url)}）中是另一个档案库的目录数据库，"
                "不能把本档案库的索引写进去",
                hint="模式名默认是 archive_ + 全宗号（小写）：请核对全宗号，或在 config.yaml 的 index: 下设 "
                     f"schema: 另一个模式名（如 {self.schema}_index）")

    def _table(self, name: str) -> str:
        return f'"{self.schema}".{name}'

    def _exists_tables(self) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".docs',)).fetchone()
        return row[0] is not None

    def _create(self, gin: bool = True) -> None:
        """The tables (and, unless a full rebuild is about to write, the GIN index). The tsvector
        is compressed with lz4 where the server has it: a phrase's position check and ts_rank
        decompress each candidate's tsvector, and lz4 decompresses faster than pglz (not measured here)."""
        docs, meta = self._table("docs"), self._table("meta")
        compression = " COMPRESSION lz4" if self._has_lz4() else ""
        with self.conn.transaction():
            self.conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {meta} (key text PRIMARY KEY, value text NOT NULL)")
            self.conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {docs} (
                    doc_id text PRIMARY KEY, rev integer NOT NULL, tv tsvector{compression} NOT NULL)""")
            if gin:
                self._create_gin()

    def _create_gin(self) -> None:
        """The GIN index without a pending list (fastupdate off): a search never scans a list of
        not yet merged entries (an incremental write updates the index itself instead)."""
        self.conn.execute(f"CREATE INDEX IF NOT EXISTS docs_tv ON {self._table('docs')} USING gin (tv) "
                          "WITH (fastupdate = off)")

    def _has_lz4(self) -> bool:
        """Whether the server was built with lz4 (PostgreSQL 14 and later, Debian's is)."""
        try:
            with self.conn.transaction():
                self.conn.execute("SET LOCAL default_toast_compression = 'lz4'")
            return True
        except psycopg_error():  # an older server, or one built without lz4
            return False

    def exists(self) -> bool:
        return self._exists_tables()

    def version(self) -> str | None:
        """One round trip (a search asks it on every call): the marker, None when there is none
        or no tables."""
        import psycopg

        try:
            row = self.conn.execute(f"SELECT value FROM {self._table('meta')} WHERE key='version'").fetchone()
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):  # autocommit: nothing to undo
            return None
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
        """Empty the table and drop the GIN index: a full rebuild writes the rows (COPY) and
        finish() builds the index once, sorting its entries in maintenance memory instead of
        inserting each row's hundreds of lexemes into the index as it is written."""
        self._create(gin=False)
        with self.conn.transaction():
            self.conn.execute(f'DROP INDEX IF EXISTS "{self.schema}".docs_tv')
            self.conn.execute(f"TRUNCATE {self._table('docs')}")

    def finish(self) -> None:
        """After a full rebuild (or its resumption): build the GIN index, then VACUUM ANALYZE —
        planner statistics for the new rows (also what _common reads), and the rows' hint bits set
        once rather than by the first searches."""
        if not self._exists_tables():
            return
        self.conn.execute("SELECT set_config('maintenance_work_mem', %s, false)", (BUILD_MEMORY,))
        try:
            with self._unbounded():
                self._create_gin()
                self.conn.execute(f"VACUUM ANALYZE {self._table('docs')}")
        finally:
            self.conn.execute("RESET maintenance_work_mem")
        self._stats = None

    @contextlib.contextmanager
    def _unbounded(self) -> Iterator[None]:
        """No statement timeout inside (writing, building): SESSION's again after."""
        self.conn.execute("SELECT set_config('statement_timeout', '0', false)")
        try:
            yield
        finally:
            if not self.conn.closed:
                self.conn.execute("SELECT set_config('statement_timeout', %s, false)", (SESSION["statement_timeout"],))

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
        docs = self._table("docs")
        with self._unbounded(), self.conn.transaction(), self.conn.cursor() as cur:
            if replace:
                cur.executemany(
                    f"""INSERT INTO {docs} (doc_id, rev, tv) VALUES (%s, %s, %s::tsvector)
                        ON CONFLICT (doc_id) DO UPDATE SET rev = excluded.rev, tv = excluded.tv""",
                    [(str(f["doc_id"]), int(f["rev"]), tsvector_literal(f)[0]) for f in documents])
            else:  # a full rebuild into an emptied table: COPY, one row at a time from the generator
                with cur.copy(f"COPY {docs} (doc_id, rev, tv) FROM STDIN") as copy:
                    for f in documents:
                        copy.write_row((str(f["doc_id"]), int(f["rev"]), tsvector_literal(f)[0]))
        from archive.catalog import transaction

        # after the index commit: a crash between the two writes the same documents again next time
        with transaction(self.home.db):
            mark()

    def delete(self, doc_ids: Sequence[str]) -> None:
        if not doc_ids or not self._exists_tables():
            return
        with self._unbounded():
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

    def compile(self, query: iq.Query, relaxed: bool = False) -> str:
        """The query as one tsquery (text form). `relaxed`: a phrase as its bigrams anywhere and a
        Not as every document — a query that matches every document the query matches and that
        the GIN index answers alone, without reading a row's tsvector (no positions to check)."""
        if relaxed and isinstance(query, iq.Phrase) and len(query.grams) > 1:
            return "(" + " & ".join(dict.fromkeys(_quote(TEXT_PREFIX[query.field] + g) for g in query.grams)) + ")"
        if relaxed and isinstance(query, iq.Not):
            return self.compile(iq.Every())
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
            if not query.parts:
                return self.compile(iq.Every())
            return "(" + " & ".join(self.compile(p, relaxed) for p in query.parts) + ")"
        if isinstance(query, iq.Or):
            parts = [self.compile(p, relaxed) for p in query.parts]
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
        """Up to RANK_AT_MOST matches are ranked by ts_rank, in the same statement that finds them
        (each match's tsvector is read once for the phrase check and once for the rank, in one
        pass; nothing is ranked when there are more). More than RANK_AT_MOST (a phrase every notice
        of a kind prints) are equally good answers: the first found are given, in the table's
        order, and the total is estimated (shown as 约) from how far into the table the first
        RANK_AT_MOST + 1 reach (their ctid), as the FTS5 backend does with its rowids.
        A query the statistics say is common is first looked for among the newest documents
        (_newest): finding all its matches in the GIN index grows with the archive, that does not.
        `ranked=False`: any `limit` matches, when only whether there are some matters.
        A statement past SESSION's statement_timeout is a Chinese error, not a hung search."""
        import psycopg

        try:
            return self._search(query, filter, limit, ranked)
        except psycopg.errors.QueryCanceled as exc:
            raise ArchiveError(f"检索用时超过 {SESSION['statement_timeout'].removesuffix('s')} 秒，已停止",
                               hint="请减少词语，或加筛选条件（村、年份、类型）缩小范围") from exc

    def _search(self, query: iq.Query, filter: iq.Query | None, limit: int, ranked: bool) -> iq.Hits:
        if not self._exists_tables():
            raise ArchiveError(f"档案库 {self.home.root} 还没有全文索引", hint="请运行 archive reindex")
        whole = iq.and_([query, filter]) if filter is not None else query
        tsquery = self.compile(whole)
        docs = self._table("docs")
        limit = max(1, limit)
        if self._common(whole, limit):
            newest = self._newest(tsquery, limit)
            if newest is not None:
                return newest
        if ranked and _has_phrase(whole):
            many = self._many(whole, tsquery, limit)
            if many is not None:
                return many
        if not ranked:
            probe = [row[0] for row in self.conn.execute(
                f"SELECT doc_id FROM {docs} WHERE tv @@ CAST(%s AS tsquery) LIMIT %s", (tsquery, limit))]
            return iq.Hits([(doc_id, 1.0) for doc_id in probe], len(probe), len(probe) < limit, len(probe) < limit)
        rows = self.conn.execute(
            f"""SELECT doc_id, CASE WHEN count(*) OVER () <= %(most)s
                                    THEN ts_rank(CAST(%(weights)s AS float4[]), tv, CAST(%(q)s AS tsquery)) END,
                       (ctid::text::point)[0]
                FROM (SELECT doc_id, tv, ctid FROM {docs} WHERE tv @@ CAST(%(q)s AS tsquery)
                      LIMIT %(most)s + 1) AS hit""",
            {"q": tsquery, "weights": RANK_WEIGHTS, "most": RANK_AT_MOST}).fetchall()
        if len(rows) > RANK_AT_MOST:
            first = [row[0] for row in rows[:limit]]
            pages = self.conn.execute("SELECT pg_relation_size(%s) / current_setting('block_size')::int",
                                      (f'"{self.schema}".docs',)).fetchone()[0]
            reached = max(row[2] for row in rows) + 1  # the table's pages the first matches span
            estimate = int(len(rows) * max(pages, reached) / reached)
            return iq.Hits([(doc_id, 1.0 - i / (2 * len(first))) for i, doc_id in enumerate(first)],
                           max(estimate, len(rows)), False, False)
        rows.sort(key=lambda r: (-r[1], r[0]))
        return iq.Hits([(doc_id, float(score)) for doc_id, score, _page in rows[:limit]], len(rows), True,
                       len(rows) < limit)

    # -- phrases with many candidates: a sample checked, not a thousand --
    def _many(self, query: iq.Query, tsquery: str, limit: int) -> iq.Hits | None:
        """A query with a phrase whose candidates (the documents with all its bigrams and the
        filters: the GIN index answers that alone, reading no tsvector) are more than RANK_AT_MOST:
        the phrase is checked on the first CHECK candidates only (each check reads and
        decompresses a row's tsvector, the time of a filtered phrase search), and when the share
        that passes says the matches are more than RANK_AT_MOST too — the first found would be
        given, unranked, anyway — the first `limit` that pass are the answer and the total is
        estimated (约). None otherwise: the full search ranks them."""
        docs = self._table("docs")
        relaxed = self.compile(query, relaxed=True)
        # no column is read: the heap is not visited for an all-visible page (a bitmap scan's
        # skip-fetch), the count costs the GIN index's work only
        counted = self.conn.execute(
            f"""SELECT count(*) FROM (SELECT 1 FROM {docs} WHERE tv @@ CAST(%s AS tsquery) LIMIT %s) AS candidate""",
            (relaxed, CANDIDATES_AT_MOST)).fetchone()[0]
        if counted <= RANK_AT_MOST:
            return None
        candidates = counted  # at CANDIDATES_AT_MOST: at least that many, the estimate a lower bound
        rows = self.conn.execute(
            f"""SELECT doc_id FROM (SELECT doc_id, tv FROM {docs} WHERE tv @@ CAST(%(r)s AS tsquery)
                LIMIT %(check)s) AS candidate WHERE tv @@ CAST(%(q)s AS tsquery)""",
            {"r": relaxed, "q": tsquery, "check": CHECK}).fetchall()
        estimate = int(candidates * len(rows) / min(CHECK, counted))
        if len(rows) < limit or estimate <= 2 * RANK_AT_MOST:
            return None  # few pass the phrase check: perhaps no more than can be ranked
        first = [row[0] for row in rows[:limit]]
        return iq.Hits([(doc_id, 1.0 - i / (2 * len(first))) for i, doc_id in enumerate(first)],
                       max(estimate, len(rows)), False, False)

    # -- common queries: the newest documents first --
    def _statistics(self) -> tuple[dict[str, float], float, float]:
        """The planner's statistics of the tsvector column: the share of documents each of its
        most common lexemes is in, the smallest such share and the number of documents. Read
        again after STATS_TTL seconds: autovacuum's ANALYZE follows an index that grows by
        incremental writes, and a web server's process lives long."""
        if self._stats is None or time.monotonic() - self._stats_read > STATS_TTL:
            self._stats_read = time.monotonic()
            row = self.conn.execute(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs, c.reltuples "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = 'tv' "
                "WHERE n.nspname = %s AND c.relname = 'docs'", (self.schema,)).fetchone()
            if row is None or not row[0] or not row[1]:
                self._stats = ({}, 1.0, float(row[2]) if row else 0.0)
            else:
                shares = dict(zip(row[0], row[1], strict=False))
                self._stats = (shares, min(row[1][:len(row[0])]), float(row[2]))
        return self._stats

    def _share(self, query: iq.Query) -> float:
        """An estimate of the share of documents the query matches: a lexeme's from the
        statistics, a phrase's its rarest bigram's (its bigrams go together), an And's the product
        of its parts' (filters and words are independent), an Or's the sum."""
        shares = self._statistics()[0]
        if isinstance(query, iq.Term | iq.Phrase):
            compiled = self.compile(query if isinstance(query, iq.Term) or len(query.grams) != 1
                                    else iq.Term(query.field, query.grams[0]))
            lexemes = [lexeme.replace("''", "'") for lexeme in re.findall(r"'((?:[^']|'')*)'", compiled)
                       if not lexeme.startswith("=long:")]
            # a lexeme not among the most common is taken as rare (below `floor`): such a query
            # is searched in full, as before
            return min((shares.get(lexeme, 0.0) for lexeme in lexemes), default=0.0)
        if isinstance(query, iq.And):
            share = 1.0
            for part in query.parts:
                share *= 1.0 if isinstance(part, iq.Not) else self._share(part)
            return share
        if isinstance(query, iq.Or):
            return min(1.0, sum(self._share(part) for part in query.parts))
        if isinstance(query, iq.Every):
            return 1.0
        return 0.0 if isinstance(query, iq.Nothing) else 1.0

    def _common(self, query: iq.Query, limit: int) -> bool:
        count = self._statistics()[2]
        if count < COMMON_AT_LEAST:
            return False
        share = self._share(query)
        return share * count > COMMON_AT_LEAST and limit <= share * SAMPLE / 2

    def _newest(self, tsquery: str, limit: int) -> iq.Hits | None:
        """The newest `limit` matches among the newest SAMPLE documents (by doc_id, walking the
        primary key backwards: a common phrase is found within a few hundred documents, however
        large the archive), the total estimated from how far back they reach, as the FTS5
        backend does. None when fewer are there: the statistics were wrong, search all."""
        docs = self._table("docs")
        rows = self.conn.execute(
            f"""SELECT doc_id, n FROM (
                    SELECT doc_id, tv, row_number() OVER (ORDER BY doc_id DESC) AS n
                    FROM (SELECT doc_id, tv FROM {docs} ORDER BY doc_id DESC LIMIT %(sample)s) AS recent
                ) AS numbered WHERE tv @@ CAST(%(q)s AS tsquery) LIMIT %(limit)s""",
            {"q": tsquery, "sample": SAMPLE, "limit": limit}).fetchall()
        if len(rows) < limit:
            return None
        count = self._statistics()[2]
        estimate = int(len(rows) * count / rows[-1][1])
        return iq.Hits([(doc_id, 1.0 - i / (2 * len(rows))) for i, (doc_id, _n) in enumerate(rows)],
                       max(estimate, len(rows)), False, False)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._stats = None
