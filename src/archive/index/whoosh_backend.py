"""The whoosh backend: a pure-Python index in the home's index/ folder. The only module that
imports whoosh.

The text fields are indexed without positions (smaller and faster to write); a Phrase is matched
by its rarest few bigrams anywhere in the field, which alone are selective: whoosh's posting
intersection is pure Python, and a phrase's common bigrams (家庭, 生活) would dominate its cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as q
from whoosh import scoring
from whoosh.analysis import Analyzer, LowercaseFilter, Token, Tokenizer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from archive import files
from archive.errors import ArchiveError
from archive.home import Home
from archive.index import analysis
from archive.index import queries as iq

INDEX_NAME = "main"
RAREST = 3  # bigrams of a phrase that select documents
VERSION_FILE = "schema-version"


class CJKBigramTokenizer(Tokenizer):
    """analysis.terms as a whoosh tokenizer."""

    def __init__(self, unigrams: bool = False) -> None:
        self.unigrams = unigrams

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CJKBigramTokenizer) and other.unigrams == self.unigrams

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "", **kwargs) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        position = start_pos
        for term, start, end in analysis.terms(value, self.unigrams):
            token.text = term
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = term
            if positions:
                token.pos = position
                position += 1
            if chars:
                token.startchar = start_char + start
                token.endchar = start_char + end
            yield token


def chinese_analyzer(unigrams: bool = False) -> Analyzer:
    return CJKBigramTokenizer(unigrams) | LowercaseFilter()


def build_schema() -> Schema:
    text = chinese_analyzer()
    return Schema(
        doc_id=ID(stored=True, unique=True),
        rev=STORED(),
        household=ID(stored=True),
        # every member's name as its own term (comma-separated), and as bigrams (people)
        names=KEYWORD(lowercase=False, commas=True, scorable=True, field_boost=3.0),
        people=TEXT(analyzer=text, phrase=False),
        ids=KEYWORD(lowercase=False, field_boost=3.0),
        village=ID(),
        type=ID(),
        category=ID(),
        year=ID(),
        month=ID(),
        status=ID(),
        linked=ID(),  # "yes" when the document belongs to a household
        number=KEYWORD(lowercase=False, field_boost=3.0),
        archival_code=ID(),
        title=TEXT(analyzer=text, phrase=False, field_boost=2.0),
        body=TEXT(analyzer=text, phrase=False),
    )


def _whoosh_fields(fields: dict[str, object]) -> dict[str, object]:
    """store.fields -> whoosh's: names one term each (comma-separated), the others as they are."""
    out = dict(fields)
    if "names" in out:
        # a comma inside a (garbled) name must not split it
        out["names"] = ",".join(str(n).replace(",", "，") for n in out["names"])  # type: ignore[union-attr]
    return out


class WhooshBackend:
    name = "whoosh"

    def __init__(self, home: Home) -> None:
        self.home = home
        self.folder: Path = home.root / "index"
        self._searcher = None

    # -- on disk --
    def exists(self) -> bool:
        return whoosh_index.exists_in(str(self.folder), INDEX_NAME)

    def version(self) -> str | None:
        try:
            return (self.folder / VERSION_FILE).read_text().strip() or None
        except FileNotFoundError:
            return None

    def set_version(self, version: str | None) -> None:
        path = self.folder / VERSION_FILE
        if version is None:
            path.unlink(missing_ok=True)
        else:
            with files.private_umask():
                self.folder.mkdir(parents=True, exist_ok=True)
                path.write_text(f"{version}\n")

    def _open(self):
        if not self.exists():
            raise ArchiveError(f"档案库 {self.home.root} 还没有全文索引", hint="请运行 archive reindex")
        return whoosh_index.open_dir(str(self.folder), indexname=INDEX_NAME)

    def reset(self) -> None:
        self.close()
        with files.private_umask():
            self.folder.mkdir(parents=True, exist_ok=True)
            whoosh_index.create_in(str(self.folder), build_schema(), indexname=INDEX_NAME)

    def finish(self) -> None:
        """Nothing to do: each batch's commit merged its segments by whoosh's merge policy."""

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file()) if self.folder.exists() else 0

    # -- writing --
    def write(self, documents: Sequence[dict[str, object]], *, replace: bool, mark: Callable[[], None],
              procs: int = 1) -> None:
        if not self.exists():
            self.reset()
        ix = self._open()
        if not replace and procs > 1:
            writer = ix.writer(procs=procs, limitmb=128, multisegment=True)
        else:
            writer = ix.writer(limitmb=128)
        try:
            for fields in documents:
                if replace:
                    writer.update_document(**_whoosh_fields(fields))
                else:
                    writer.add_document(**_whoosh_fields(fields))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        from archive.catalog import transaction

        with transaction(self.home.db):
            mark()

    def delete(self, doc_ids: Sequence[str]) -> None:
        if not self.exists() or not doc_ids:
            return
        writer = self._open().writer()
        try:
            for doc_id in doc_ids:
                writer.delete_by_term("doc_id", doc_id)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise

    def revisions(self) -> dict[str, int]:
        if not self.exists():
            return {}
        with self._open().searcher() as searcher:
            return {stored["doc_id"]: stored["rev"] for stored in searcher.all_stored_fields()}

    # -- searching --
    def searcher(self):
        """A searcher kept open for repeated searches in one process, refreshed when another writer
        has committed since (opening a segment's files is most of a query's cost)."""
        if self._searcher is not None:
            if not self._searcher.up_to_date():
                self._searcher = self._searcher.refresh()
            return self._searcher
        self._searcher = self._open().searcher(weighting=scoring.BM25F())
        return self._searcher

    def doc_frequency(self, field: str, term: str) -> int:
        return self.searcher().doc_frequency(field, term)

    def compile(self, query: iq.Query) -> q.Query:
        if isinstance(query, iq.Term):
            return q.Term(query.field, query.text, boost=query.boost)
        if isinstance(query, iq.Phrase):
            unique = list(dict.fromkeys(query.grams))
            chosen = sorted(unique, key=lambda g: self.doc_frequency(query.field, g))[:RAREST]
            return q.And([q.Term(query.field, g) for g in chosen], boost=query.boost)
        if isinstance(query, iq.And):
            return q.And([self.compile(p) for p in query.parts], boost=query.boost)
        if isinstance(query, iq.Or):
            return q.Or([self.compile(p) for p in query.parts], boost=query.boost,
                        minmatch=query.minmatch if query.minmatch > 1 else 0)
        if isinstance(query, iq.Not):
            return q.Not(self.compile(query.part))
        if isinstance(query, iq.Every):
            return q.Every()
        if isinstance(query, iq.Nothing):
            return q.NullQuery
        raise TypeError(f"unknown query node {query!r}")

    def search(self, query: iq.Query, filter: iq.Query | None, limit: int, ranked: bool = True) -> iq.Hits:
        compiled = self.compile(iq.and_([query, filter]) if filter is not None else query)
        results = self.searcher().search(compiled, limit=max(1, limit), scored=ranked)
        ranked = [(hit["doc_id"], hit.score) for hit in results][:limit]
        complete = results.scored_length() < limit
        exact = results.has_exact_length() or complete
        return iq.Hits(ranked, len(results) if exact else results.estimated_length(), exact, complete)

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
