"""The PostgreSQL index backend on a real (throwaway) server: what it stores, phrases by position,
limits of tsvector, several homes in one database. The search suite itself runs on it too
(tests/test_search*.py, through the `index_backend` fixture)."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from archive.config import Config
from archive.documents.generate import Generator
from archive.home import init_home
from archive.index import backend as backends
from archive.index import queries as iq
from archive.index import store
from archive.index.analysis import bigrams
from archive.index.pg_backend import MAX_POSITION, PostgresBackend, tsvector_literal
from archive.search.engine import search

DAY = dt.date(2025, 7, 8)


@pytest.fixture
def pg_home(home, postgres_url, monkeypatch):
    monkeypatch.setenv(backends.BACKEND_ENV, "postgresql")
    monkeypatch.setenv("ARCHIVE_INDEX_URL", postgres_url)
    return home


def _doc(doc_id: str, body: str, **extra) -> dict[str, object]:
    return {"doc_id": doc_id, "rev": 1, "type": "scan", "linked": "no", "body": body, **extra}


def _ids(index: PostgresBackend, query: iq.Query) -> list[str]:
    return sorted(doc_id for doc_id, _ in index.search(query, None, 50).ranked)


def test_index_lives_in_postgresql_as_bigram_lexemes_with_positions(pg_home, township, postgres_url):
    head = next(h for h in township if h.status == "在保").head
    Generator(pg_home).household_document("refusal", head.id_number, DAY, {"reason": "家庭拥有机动车辆"})
    store.sync(pg_home)
    assert isinstance(store.backend(pg_home), PostgresBackend)
    folder = pg_home.root / "index"
    assert not list(folder.glob("*.toc")) and not list(folder.glob("*.seg"))  # no whoosh index written
    with psycopg.connect(postgres_url) as conn:
        schema = "archive_z109"
        count = conn.execute(f"SELECT count(*) FROM {schema}.docs").fetchone()[0]
        assert count == pg_home.db.execute("SELECT count(*) FROM documents").fetchone()[0] == 1
        tv = conn.execute(f"SELECT tv::text FROM {schema}.docs").fetchone()[0]
        # PostgreSQL's own 'simple' parser keeps a Chinese run whole: why the tsvector is built here
        whole = conn.execute("SELECT to_tsvector('simple', '家庭拥有机动车辆')::text").fetchone()[0]
        assert whole == "'家庭拥有机动车辆':1"
        indexes = {row[0] for row in conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname=%s", (schema,))}
    assert "'b机动':" in tv and "'b动车':" in tv and "'b车辆':" in tv and "'b机动车辆'" not in tv
    # names and ID tails as whole keyword lexemes, weighted A (the field boost)
    assert f"'=names:{head.name}':1A" in tv and f"'=ids:{head.id_number[-4:]}':1A" in tv
    assert any("USING gin (tv)" in d for d in indexes)
    assert store.check(pg_home).ok
    result = search(pg_home, "机动车辆")
    assert [hit.household for hit in result.hits] == [head.id_number]


def test_a_phrase_needs_its_bigrams_next_to_each_other(pg_home):
    index = store.backend(pg_home)
    index.reset()
    index.write([_doc("A", "家庭生活困难，申请救助"), _doc("B", "生活尚可。家庭困难另述"),
                 _doc("C", "困难生活家庭")], replace=False, mark=lambda: None)
    assert _ids(index, iq.Phrase("body", tuple(bigrams("生活困难")))) == ["A"]
    assert _ids(index, iq.And((iq.Term("body", "生活"), iq.Term("body", "困难")))) == ["A", "B", "C"]
    # most of a phrase (the tolerant pass): at least 2 of 3 bigrams
    assert _ids(index, iq.Or(tuple(iq.Term("body", g) for g in bigrams("生活困难")), minmatch=2)) == ["A", "B", "C"]
    assert _ids(index, iq.Or(tuple(iq.Term("body", g) for g in bigrams("生活困难")), minmatch=3)) == ["A"]
    assert index.doc_frequency("body", "困难") == 3 and index.doc_frequency("body", "生活困难") == 0


def test_names_and_id_fragments_are_exact_terms(pg_home):
    index = store.backend(pg_home)
    index.reset()
    index.write([_doc("A", "", names=["张三丰"], ids="520111199001011234 1234 011234 11234", linked="yes"),
                 _doc("B", "张三丰来过", names=["张三"], ids="520111199001015678 5678 015678 15678", linked="yes")],
                replace=False, mark=lambda: None)
    assert _ids(index, iq.Term("names", "张三")) == ["B"]       # not inside 张三丰
    assert _ids(index, iq.Term("names", "张三丰")) == ["A"]     # not a body mention
    assert _ids(index, iq.Term("ids", "1234")) == ["A"] and _ids(index, iq.Term("ids", "123")) == []


def test_a_field_past_the_last_tsvector_position_still_matches_phrases(pg_home):
    index = store.backend(pg_home)
    index.reset()
    filler = "甲乙" * (MAX_POSITION // 2 + 10)
    index.write([_doc("LONG", filler + "最低生活保障")], replace=False, mark=lambda: None)
    literal, long_fields = tsvector_literal(_doc("LONG", filler + "最低生活保障"))
    assert long_fields == ["body"] and "'=long:body'" in literal
    assert _ids(index, iq.Phrase("body", tuple(bigrams("最低生活保障")))) == ["LONG"]


def test_a_giant_hostile_text_is_indexed_in_part_without_failing_the_batch(pg_home):
    index = store.backend(pg_home)
    index.reset()
    # 300,000 distinct characters' worth of bigrams would make a tsvector over PostgreSQL's 1 MB
    giant = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(300_000))
    index.write([_doc("BIG", giant), _doc("OK", "申请救助")], replace=False, mark=lambda: None)
    assert set(index.revisions()) == {"BIG", "OK"}
    assert _ids(index, iq.Term("body", "救助")) == ["OK"]


def test_two_homes_share_one_database_in_their_own_schemas(pg_home, tmp_path, postgres_url):
    other = init_home(tmp_path / "other", Config(fonds="Z110", county="花溪区", township="石板镇", villages=["摆门村"]))
    for home, text in ((pg_home, "青岩的救助申请"), (other, "石板的救助申请")):
        index = store.backend(home)
        index.reset()
        index.write([_doc("SAME-ID", text)], replace=False, mark=lambda: None)
    assert _ids(store.backend(pg_home), iq.Term("body", "青岩")) == ["SAME-ID"]
    assert _ids(store.backend(other), iq.Term("body", "青岩")) == []
    with psycopg.connect(postgres_url) as conn:
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'archive_%'")}
    assert schemas == {"archive_z109", "archive_z110"}
    other.close()


def test_without_a_database_url_the_error_says_how_to_set_it(home, monkeypatch):
    from archive.errors import ConfigError

    monkeypatch.setenv(backends.BACKEND_ENV, "postgresql")
    monkeypatch.delenv("ARCHIVE_INDEX_URL", raising=False)
    with pytest.raises(ConfigError, match="没有指定数据库"):
        store.backend(home)


def test_a_database_that_does_not_answer_is_a_chinese_error(home, monkeypatch):
    from archive.errors import UnavailableError
    from tests.servers import free_port

    monkeypatch.setenv(backends.BACKEND_ENV, "postgresql")
    monkeypatch.setenv("ARCHIVE_INDEX_URL", f"postgresql://archive:secret@127.0.0.1:{free_port()}/county")
    with pytest.raises(UnavailableError, match="无法连接全文索引数据库 127.0.0.1:") as caught:
        store.backend(home).exists()
    assert "secret" not in str(caught.value)


# --- at scale: the GIN index is what answers, common phrases are bounded --------------------------

def _filled(index: PostgresBackend, count: int, phrase_every: int) -> set[str]:
    """`count` documents after a full rebuild (reset, write, finish); every `phrase_every`-th one
    prints 务工收入增加. Returns the IDs of those that do."""
    index.reset()
    with_phrase = set()
    docs = []
    for n in range(count):
        doc_id = f"D{n:06d}"
        text = f"第{n}号 申请人家庭情况说明，生活困难。"
        if n % phrase_every == 0:
            text += "家庭成员务工收入增加，停发。"
            with_phrase.add(doc_id)
        docs.append(_doc(doc_id, text, year=str(2016 + n % 10)))
    index.write(docs, replace=False, mark=lambda: None)
    index.finish()
    return with_phrase


def _plan(index: PostgresBackend, tsquery: str) -> str:
    rows = index.conn.execute(f"EXPLAIN SELECT doc_id FROM {index._table('docs')} "
                              "WHERE tv @@ CAST(%s AS tsquery) LIMIT 1001", (tsquery,)).fetchall()
    return "\n".join(r[0] for r in rows)


def test_a_full_rebuild_builds_the_gin_index_once_and_searches_use_it(pg_home, postgres_url):
    index = store.backend(pg_home)
    index.reset()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('archive_z109.docs_tv')").fetchone()[0] is None  # while writing
    _filled(index, 300, 3)
    with psycopg.connect(postgres_url) as conn:
        definition = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'docs_tv'").fetchone()[0]
        compression = conn.execute("SELECT attcompression FROM pg_attribute "
                                   "WHERE attrelid = 'archive_z109.docs'::regclass AND attname = 'tv'").fetchone()[0]
        # a fresh connection with the server's defaults: with a LIMIT the planner reads every row's
        # tsvector in a sequential scan (the cost it does not count)
        default_plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT doc_id FROM archive_z109.docs WHERE tv @@ CAST(%s AS tsquery) LIMIT 1001",
            (index.compile(iq.Term("body", "生活")),)).fetchall())
    assert "gin (tv)" in definition and "fastupdate=off" in definition
    assert compression == "l"  # lz4: a phrase check decompresses each candidate's tsvector
    assert "Seq Scan" in default_plan
    # the index's own connection never scans the table for a tsquery
    for query in (iq.Term("body", "生活"), iq.Phrase("body", tuple(bigrams("务工收入增加"))),
                  iq.And((iq.Term("body", "停发"), iq.Term("year", "2020")))):
        plan = _plan(index, index.compile(query))
        assert "Bitmap Index Scan on docs_tv" in plan and "Seq Scan" not in plan, plan


def test_more_matches_than_are_ranked_give_the_first_found_and_an_estimated_total(pg_home, monkeypatch):
    from archive.index import pg_backend

    index = store.backend(pg_home)
    with_phrase = _filled(index, 3000, 2)  # 1,500 documents print the phrase
    monkeypatch.setattr(pg_backend, "RANK_AT_MOST", 400)
    monkeypatch.setattr(PostgresBackend, "_common", lambda self, query, limit: False)  # the full search
    hits = index.search(iq.Phrase("body", tuple(bigrams("务工收入增加"))), None, 20)
    assert not hits.exact and not hits.complete and len(hits.ranked) == 20
    assert {doc_id for doc_id, _ in hits.ranked} <= with_phrase
    assert 1200 <= hits.total <= 1800  # the first 401 found reach about a quarter of the table
    # at most RANK_AT_MOST matches: every one ranked, the total exact
    few = index.search(iq.And((iq.Phrase("body", tuple(bigrams("务工收入增加"))), iq.Term("year", "2016"))), None, 20)
    assert few.exact and few.total == len([d for d in with_phrase if int(d[1:]) % 10 == 0]) == 300


def test_a_common_phrase_is_found_among_the_newest_documents_without_searching_them_all(pg_home, monkeypatch):
    from archive.index import pg_backend

    monkeypatch.setattr(pg_backend, "COMMON_AT_LEAST", 1000)  # 2,000 at county scale
    index = store.backend(pg_home)
    with_phrase = _filled(index, 3000, 2)
    phrase = iq.Phrase("body", tuple(bigrams("务工收入增加")))
    assert index._common(phrase, 20)  # the planner's statistics: half the documents
    read = []
    real = index._newest
    monkeypatch.setattr(index, "_newest", lambda tsquery, limit: read.append(limit) or real(tsquery, limit))
    hits = index.search(phrase, None, 20)
    assert read == [20]
    newest = sorted(with_phrase, reverse=True)[:20]
    assert [doc_id for doc_id, _ in hits.ranked] == newest  # the newest first
    assert not hits.exact and 1200 <= hits.total <= 1800  # estimated from how far back they reach
    # a word the statistics do not know as common is searched in full and ranked
    rare = index.search(iq.Term("body", "第1"), None, 20)
    assert rare.exact and read == [20]


def test_statistics_that_say_common_for_a_rare_query_fall_back_to_the_full_search(pg_home, monkeypatch):
    index = store.backend(pg_home)
    with_phrase = _filled(index, 3000, 500)  # 6 documents: fewer than the 20 asked for in those read
    monkeypatch.setattr(PostgresBackend, "_share", lambda self, query: 0.9)  # wrong statistics
    hits = index.search(iq.Phrase("body", tuple(bigrams("务工收入增加"))), None, 20)
    assert sorted(doc_id for doc_id, _ in hits.ranked) == sorted(with_phrase)
    assert hits.exact and hits.total == 6


def _scattered(index: PostgresBackend, count: int, phrase_every: int) -> set[str]:
    """`count` documents that each have every bigram of 务工收入增加, never next to each other
    (务工收 … 收入增 … 增加: candidates the GIN index cannot tell apart), every `phrase_every`-th
    printing the phrase itself. Returns the IDs of those."""
    index.reset()
    with_phrase, docs = set(), []
    for n in range(count):
        doc_id = f"D{n:06d}"
        text = f"第{n}号 务工收，由村里核，收入增，经审查，增加。"
        if n % phrase_every == 0:
            text += "家庭成员务工收入增加。"
            with_phrase.add(doc_id)
        docs.append(_doc(doc_id, text, year=str(2016 + n % 10)))
    index.write(docs, replace=False, mark=lambda: None)
    index.finish()
    return with_phrase


def test_many_candidates_few_of_which_print_the_phrase_are_still_ranked_exactly(pg_home, monkeypatch):
    from archive.index import pg_backend

    index = store.backend(pg_home)
    with_phrase = _scattered(index, 3000, 100)  # 3,000 candidates, 30 print the phrase
    monkeypatch.setattr(pg_backend, "RANK_AT_MOST", 400)
    monkeypatch.setattr(PostgresBackend, "_common", lambda self, query, limit: False)
    phrase = iq.Phrase("body", tuple(bigrams("务工收入增加")))
    assert "<->" not in index.compile(phrase, relaxed=True)  # the candidates: the GIN index alone
    hits = index.search(phrase, None, 20)
    assert hits.exact and hits.total == 30  # the sample said few: the full search ranked them all
    assert {doc_id for doc_id, _ in hits.ranked} <= with_phrase and len(hits.ranked) == 20


def test_many_candidates_many_matches_are_answered_from_a_sample_with_filters_kept(pg_home, monkeypatch):
    from archive.index import pg_backend

    index = store.backend(pg_home)
    with_phrase = _scattered(index, 4000, 3)  # 1,334 print the phrase, 134 of them in 2016
    monkeypatch.setattr(pg_backend, "RANK_AT_MOST", 50)
    monkeypatch.setattr(PostgresBackend, "_common", lambda self, query, limit: False)
    sampled = []
    real = index._many
    monkeypatch.setattr(index, "_many", lambda *a: sampled.append(real(*a)) or sampled[-1])
    query = iq.And((iq.Phrase("body", tuple(bigrams("务工收入增加"))), iq.Term("year", "2016")))
    hits = index.search(query, None, 20)
    assert sampled and sampled[0] is hits  # answered by the sample, not by checking every candidate
    found = {doc_id for doc_id, _ in hits.ranked}
    assert len(found) == 20 and found <= {d for d in with_phrase if int(d[1:]) % 10 == 0}
    assert not hits.exact and not hits.complete and 80 <= hits.total <= 200  # about 134
    # a phrase under Not is no phrase to check: the relaxed form keeps every document for it
    assert index.compile(iq.And((iq.Term("year", "2016"), iq.Not(query))), relaxed=True).count("=all") == 1


def test_a_search_past_the_statement_timeout_is_a_chinese_error_and_rebuilds_are_not_bounded(pg_home, monkeypatch):
    from archive.errors import ArchiveError
    from archive.index import pg_backend

    index = store.backend(pg_home)
    _filled(index, 3000, 2)
    assert index.conn.execute("SHOW statement_timeout").fetchone()[0] == "20s"  # after a rebuild, again
    monkeypatch.setitem(pg_backend.SESSION, "statement_timeout", "1ms")
    index.conn.execute("SET statement_timeout = '1ms'")
    # 3,000 tsvectors read for a phrase in every other document, ranked: far over a millisecond
    words = [iq.Phrase("body", tuple(bigrams(w))) for w in ("务工收入增加", "申请人家庭", "生活困难")]
    with pytest.raises(ArchiveError, match="检索用时超过"):
        index.search(iq.Or(tuple(words)), None, 20)
    with index._unbounded():  # what writing and building run under
        assert index.conn.execute("SHOW statement_timeout").fetchone()[0] == "0"
    assert index.conn.execute("SHOW statement_timeout").fetchone()[0] == "1ms"
