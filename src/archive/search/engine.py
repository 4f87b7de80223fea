"""Run a search: the index finds and ranks, the catalog supplies what is shown, results are
grouped by household, and every search is written to the audit log (inspectors' access to
personal data must be traceable)."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field

from archive.catalog import audit, transaction
from archive.errors import ArchiveError
from archive.home import Home
from archive.index import store
from archive.scans.identify import TYPE_TITLES as SCAN_TYPE_TITLES
from archive.search import query as queries

# the titles ingest recognises, plus the township's own XLSX records
TYPE_TITLES = {**SCAN_TYPE_TITLES, "roster": "花名册", "statistics": "人数资金统计表"}


def resolve_type(value: str | None) -> str | None:
    """Accept a type id (refusal) or its Chinese title (不予批准告知书)."""
    if not value:
        return None
    if value in TYPE_TITLES:
        return value
    for type_id, title in TYPE_TITLES.items():
        if value == title or value in title:
            return type_id
    return value  # ingested document types (身份证, 户口簿, ...) are their own ids


@dataclass
class Hit:
    household: str | None
    name: str | None
    village: str | None
    type: str
    title: str
    doc_id: str
    number: str | None
    archival_code: str | None
    box: int | None
    item: int | None
    location: str
    path: str | None
    date: str
    snippet: str
    score: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class HouseholdGroup:
    household: str | None
    name: str | None
    village: str | None
    hits: list[Hit] = field(default_factory=list)


@dataclass
class SearchResult:
    query: str
    total: int
    hits: list[Hit]
    seconds: float
    exact: bool = True

    def groups(self) -> list[HouseholdGroup]:
        """Hits grouped by household, groups in the order of their best hit."""
        grouped: dict[str | None, HouseholdGroup] = {}
        for hit in self.hits:
            group = grouped.setdefault(hit.household, HouseholdGroup(hit.household, hit.name, hit.village))
            group.hits.append(hit)
        return list(grouped.values())


def _literals(words: list[str], number: str | None) -> list[str]:
    """Words to mark in a snippet: a 文号 typed as [2025]第07号 is marked as printed, 〔2025〕7号."""
    from archive.index.schema import number_key

    if number and any(number_key(word) == number_key(number) for word in words if number_key(word)):
        return [number] + words
    return words


def location_label(row) -> str:
    if row["box_no"]:
        return f"{row['box_year']}年 {row['box_village']} 第{row['box_no']}盒 第{row['item_no']:04d}件"
    return "未归档"


def snippet(text: str, literals: list[str], width: int = 60) -> str:
    """A window of the text around the first query word found, with every match in 【】."""
    text = re.sub(r"\s+", " ", text or "").strip()
    # OCR line breaks inside Chinese text are not spaces
    text = re.sub(r"(?<=[\u4e00-\u9fff，。、；：）》」]) (?=[\u4e00-\u9fff（《「])", "", text)
    if not text:
        return ""
    found = [(text.find(word), word) for word in literals if word and text.find(word) >= 0]
    if not found:
        # an OCR-damaged match: centre on the first bigram that occurs
        from archive.index.analysis import bigrams

        for word in literals:
            for gram in bigrams(word):
                at = text.find(gram)
                if at >= 0:
                    found.append((at, gram))
                    break
            if found:
                break
    start = max(0, min(found)[0] - width // 3) if found else 0
    window = text[start:start + width]
    for _, word in sorted(found, key=lambda f: -len(f[1])):
        window = window.replace(word, f"【{word}】")
    window = re.sub(r"【【(.*?)】】", r"【\1】", window)
    return ("…" if start > 0 else "") + window + ("…" if start + width < len(text) else "")


# a generated notice filed with its signed scan is where that scan is
_ROWS_SQL = """
SELECT d.doc_id, d.type, d.title, d.household_id, d.village, d.doc_date, d.number,
       coalesce(d.archival_code, p.archival_code) AS archival_code, coalesce(d.item_no, p.item_no) AS item_no,
       coalesce(d.stamped_path, d.pdf_path) AS pdf_path, d.xlsx_path, d.body_text, h.head_name,
       b.box_no, b.year AS box_year, b.village AS box_village
FROM documents d LEFT JOIN households h ON h.id = d.household_id
LEFT JOIN documents p ON p.doc_id = d.attached_to
LEFT JOIN boxes b ON b.id = coalesce(d.box_id, p.box_id)
WHERE d.doc_id IN ({marks})
"""


def search(home: Home, text: str, *, village: str | None = None, doc_type: str | None = None,
           category: str | None = None, year: int | None = None, month: str | None = None,
           household: str | None = None, limit: int = 20) -> SearchResult:
    started = time.perf_counter()
    config = home.config  # an archive home that does not exist is said so first
    if not store.index_exists(home):
        store.sync(home)  # no index yet (a new home, or it was deleted): build it from the catalog
    if village:
        village = config.require_village(village)
    if month and not re.fullmatch(r"\d{4}-\d{2}", month):
        raise ArchiveError(f"月份「{month}」格式不对，应写成 YYYY-MM")
    filter_query = queries.filters(village=village, doc_type=resolve_type(doc_type), category=category,
                                   year=year, month=month, household=household)
    searcher = store.searcher(home)
    parsed = queries.parse(text, searcher.doc_frequency, filter_query)
    results = searcher.search(parsed.strict, limit=limit)
    ranked = [(hit["doc_id"], hit.score) for hit in results]
    # fewer than `limit` strict hits is an exact count
    exact = results.has_exact_length() or results.scored_length() < limit
    total = len(results) if exact else results.estimated_length()
    if len(ranked) < limit and parsed.tolerant is not None:
        seen = {doc_id for doc_id, _ in ranked}
        floor = min((score for _, score in ranked), default=1.0)
        more = searcher.search(parsed.tolerant, limit=limit)
        extra = [(hit["doc_id"], hit.score) for hit in more if hit["doc_id"] not in seen]
        if extra:
            # tolerant hits rank after every strict hit, in their own order
            top = max(score for _, score in extra)
            ranked += [(doc_id, floor * 0.5 * score / top) for doc_id, score in extra][: limit - len(ranked)]
        if more.scored_length() < limit:
            total += len(extra)
        else:
            total = max(total + len(extra), more.estimated_length())
            exact = False
    hits: list[Hit] = []
    if ranked:
        marks = ",".join("?" * len(ranked))
        rows = {row["doc_id"]: row for row in home.db.execute(_ROWS_SQL.format(marks=marks), [d for d, _ in ranked])}
        for doc_id, score in ranked:
            row = rows.get(doc_id)
            if row is None:
                continue  # in the index but gone from the catalog: check-index reports it
            path = row["pdf_path"] or row["xlsx_path"]
            hits.append(Hit(
                household=row["household_id"], name=row["head_name"], village=row["village"], type=row["type"],
                title=row["title"], doc_id=doc_id, number=row["number"], archival_code=row["archival_code"],
                box=row["box_no"], item=row["item_no"], location=location_label(row),
                path=str(home.root / path) if path else None, date=row["doc_date"],
                snippet=snippet(row["body_text"], _literals(parsed.literals, row["number"])), score=round(score, 3),
            ))
    elapsed = time.perf_counter() - started
    with transaction(home.db):
        audit(home.db, home.operator, "search", text, {
            "village": village, "type": doc_type, "category": category, "year": year, "month": month,
            "household": household, "hits": total})
    return SearchResult(query=text, total=total, hits=hits, seconds=elapsed, exact=exact)
