"""Run a search: the index finds and ranks, the catalog supplies what is shown, results are
grouped by household, and every search is written to the audit log (inspectors' access to
personal data must be traceable).

Order: exact matches, then approximate ones (「近似」: a name one character off, most of a
phrase), then voided documents (【已作废】). Households in the roster that match and have no
document yet are reported as households (「花名册中有此户……暂无文书」)."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field

from archive.catalog import audit, transaction
from archive.errors import ArchiveError, UsageError
from archive.filing.location import COLUMNS as LOCATION_COLUMNS
from archive.filing.location import JOINS as LOCATION_JOINS
from archive.filing.location import copy_kind, location_label, open_path
from archive.home import Home
from archive.index import queries as q
from archive.index import store
from archive.index.analysis import bigrams
from archive.search import names as name_table
from archive.search import query as queries


def __getattr__(name: str) -> object:
    """TYPE_TITLES (id -> Chinese title of every built-in document type), built on first use from
    the document types (documents/types.py) so that importing the search costs no template loading."""
    if name == "TYPE_TITLES":
        from archive.documents.types import registry

        return registry().titles()
    raise AttributeError(name)


def resolve_type(value: str | None, home: Home | None = None) -> str | None:
    """Accept a type id (refusal), its Chinese title (不予批准告知书), an alias or part of a title,
    from the home's document types (documents/types.py); other values are ingested type ids."""
    if not value:
        return None
    from archive.documents.types import registry

    return registry(home).find(value)


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
    approximate: bool = False
    voided: bool = False
    copy: str = "原文书"          # 签收件 / 原文书 / 扫描件 / 报表
    matched: str | None = None    # for an approximate name: the name it matched
    kind: str = "document"
    township: str | None = None   # set by a search across a county's townships (archive.county)

    def to_json(self) -> dict[str, object]:
        return _without_township(asdict(self))


@dataclass
class HouseholdHit:
    """A household of the roster that matches and has no document yet."""
    household: str
    name: str
    village: str
    category: str
    status: str
    approximate: bool = False
    matched: str | None = None
    documents: int = 0
    kind: str = "household"
    township: str | None = None

    @property
    def message(self) -> str:
        return f"花名册中有此户（{self.village}，{self.category}），暂无文书"

    def to_json(self) -> dict[str, object]:
        return {**_without_township(asdict(self)), "message": self.message}


def _without_township(data: dict[str, object]) -> dict[str, object]:
    """A township home's results keep their shape; a county's name each hit's township."""
    if data.get("township") is None:
        data.pop("township", None)
    return data


@dataclass
class HouseholdGroup:
    household: str | None
    name: str | None
    village: str | None
    hits: list[Hit] = field(default_factory=list)
    township: str | None = None


@dataclass(frozen=True)
class NearName:
    """A roster name one character off a typed name that is no one's, and whose household it is."""
    typed: str
    name: str
    household: str
    head_name: str
    village: str


@dataclass
class SearchResult:
    query: str
    total: int
    hits: list[Hit]
    seconds: float
    exact: bool = True
    households: list[HouseholdHit] = field(default_factory=list)
    # a typed name that is no one's and is one character off the names of several households:
    # nothing in the query tells which was meant, so every one is shown and the user is told
    ambiguous: list[NearName] = field(default_factory=list)

    @property
    def ambiguity(self) -> str:
        """「…」 is no one's name and is one character off the names of N households: which ones."""
        if not self.ambiguous:
            return ""
        by_typed: dict[str, list[NearName]] = {}
        for near in self.ambiguous:
            by_typed.setdefault(near.typed, []).append(near)
        parts = []
        for typed, options in by_typed.items():
            listed = "、".join(f"{o.name}（{o.village}，户主{o.head_name}）" for o in options)
            parts.append(f"花名册中没有「{typed}」，与 {len({o.household for o in options})} 户成员的姓名只差一个字："
                         f"{listed}")
        return "；".join(parts) + "。结果里这几户都列出（标「近似」），请核对姓名，或加村名、身份证号后几位缩小范围"

    def groups(self) -> list[HouseholdGroup]:
        """Hits grouped by household, groups in the order of their best hit."""
        grouped: dict[object, HouseholdGroup] = {}
        for hit in self.hits:
            group = grouped.setdefault((hit.township, hit.household) if hit.township else hit.household,
                                       HouseholdGroup(hit.household, hit.name, hit.village, township=hit.township))
            group.hits.append(hit)
        return list(grouped.values())


def _literals(words: list[str], number: str | None) -> list[str]:
    """Words to mark in a snippet: a 文号 typed as [2025]第07号 is marked as printed, 〔2025〕7号."""
    from archive.index.schema import number_key

    if number and number_key(number) and any(
            (key := number_key(word)) and number_key(number).endswith(key) for word in words):
        return [number] + words
    return words


# the caption under the QR code (Z109-0000012 第1页) and its payload (SA1:…), however OCR read them
_CAPTION = re.compile(r"SA1\s*[:：]\s*[\w-]*(?:\s*[:：]\s*\d+)?|[A-Za-z0-9]{2,8}\s*[-—－_]\s*\d{4,9}\s*第?\s*\d{0,3}\s*页?")
_BREAK = "，。、；：！？）》」 \n"


def snippet(text: str, literals: list[str], width: int = 60) -> str:
    """A window of the text around the first query word found, with every match in 【】. It
    starts at a word (after a punctuation mark when one is near), never inside the QR caption."""
    text = _CAPTION.sub(" ", text or "")
    text = re.sub(r"\s+", " ", text).strip()
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
    if start > 0:
        first = min(found)[0] if found else start
        # back to just after a break near the window's start, else forward out of a Latin word
        cut = max((i for i in range(max(0, start - 10), first) if text[i] in _BREAK), default=-1)
        if cut >= 0:
            start = cut + 1
        while start < first and text[start].isascii() and text[start - 1].isascii() and text[start - 1].isalnum():
            start += 1
        while start < len(text) and text[start] in _BREAK:
            start += 1
    window = text[start:start + width]
    for _, word in sorted(found, key=lambda f: -len(f[1])):
        window = window.replace(word, f"【{word}】")
    window = re.sub(r"【【(.*?)】】", r"【\1】", window)
    return ("…" if start > 0 else "") + window + ("…" if start + width < len(text) else "")


_ROWS_SQL = f"""
SELECT d.*, h.head_name, {LOCATION_COLUMNS}
FROM documents d LEFT JOIN households h ON h.id = d.household_id
{LOCATION_JOINS}
WHERE d.doc_id IN ({{marks}})
"""


@dataclass
class _Ranked:
    doc_id: str
    score: float
    approximate: bool = False
    matched: str | None = None


def _run(index, query: q.Query, filter_query: q.Query | None, limit: int,
         seen: set[str]) -> tuple[list[tuple[str, float]], q.Hits]:
    results = index.search(query, filter_query, limit + len(seen))
    return [(doc_id, score) for doc_id, score in results.ranked if doc_id not in seen][:limit], results


def _below(ranked: list[_Ranked], extra: list[tuple[str, float]], **marks) -> list[_Ranked]:
    """Hits of a later pass, scored under every hit so far, in their own order."""
    if not extra:
        return []
    floor = min((r.score for r in ranked), default=1.0)
    top = max(score for _, score in extra) or 1.0
    return [_Ranked(doc_id, floor * 0.5 * score / top, **marks) for doc_id, score in extra]


def search(home: Home, text: str, *, village: str | None = None, doc_type: str | None = None,
           category: str | None = None, year: int | None = None, month: str | None = None,
           household: str | None = None, limit: int = 20) -> SearchResult:
    """Search the archive. An empty (or blank) `text` lists the documents of a filter (village,
    type, category, year, month or household) and is refused without one: listing the whole
    archive is never what a blank search box meant."""
    started = time.perf_counter()
    if not text.strip() and not any((village, doc_type, category, year, month, household)):
        raise UsageError("请输入检索内容（姓名、身份证号、文号或正文词语）",
                         hint="只想列出文书时，请加筛选条件，如 --village 村名 或 --household 身份证号")
    config = home.config  # an archive home that does not exist is said so first
    if not store.index_exists(home):
        store.sync(home)  # no index yet (a new home, or it was deleted): build it from the catalog
    store.require_current(home)
    if village:
        village = config.require_village(village)
    if month and not re.fullmatch(r"\d{4}-\d{2}", month):
        raise ArchiveError(f"月份「{month}」格式不对，应写成 YYYY-MM")
    filter_query = queries.filters(village=village, doc_type=resolve_type(doc_type, home), category=category,
                                   year=year, month=month, household=household)
    index = store.backend(home)
    parsed = queries.parse(text, index.doc_frequency, filter_query)
    scope = {"village": village, "category": category, "household": household}
    # a two-character name one character off is told apart only in a narrow search
    narrow = bool(village or household or len(parsed.words) > 1)
    # a word the documents print (不存在, 生活困难) is a word, not a misspelt name: no names one
    # character off for it
    # (asked only when the name is no one's: near names are looked for only then)
    matches = {i: name_table.match(home.db, w.text, allow_near=lambda w=w: (len(w.text) > 2 or narrow)
                                   and not _printed(home, index, w.text), **scope)
               for i, w in enumerate(parsed.words) if w.kind == "name"}
    for i, found in matches.items():
        if found.exact:
            # someone's name: their households' documents carry it in `names`; the text of another
            # household's document that contains it (inside a longer name) is not a match
            parsed.words[i].strict = queries.name_query(parsed.words[i].text, index.doc_frequency)

    # pass 1: every word exactly
    extra, results = _run(index, parsed.strict, parsed.filter, limit, set())
    ranked = [_Ranked(doc_id, score) for doc_id, score in extra]
    exact, total = results.exact, results.total
    # pass 2: a name that is no one's, replaced by the names one character off (closest-sounding
    # first, tier by tier when one word is misspelt), or a word inside a member's name
    near_words: list[str] = []
    passes: list[tuple[q.Query | None, dict]] = []
    misspelt = {i: found for i, found in matches.items() if not found.exact}
    for found in misspelt.values():
        near_words += found.near_names
    if len(misspelt) == 1:
        (i, found), = misspelt.items()
        word = parsed.words[i].text
        for tier in found.tiers():
            options = [queries.text_query(name, index.doc_frequency) for name in tier]
            passes.append((parsed.combine({i: q.or_(options)}), {"matched": "、".join(tier)}))
        passes.append((parsed.combine({i: queries.part_of_name(word)}), {}))
    elif misspelt:
        alternatives = {i: q.or_([queries.text_query(name, index.doc_frequency) for name in found.near_names]
                                 + [queries.part_of_name(parsed.words[i].text)]) for i, found in misspelt.items()}
        passes.append((parsed.combine(alternatives), {"matched": "、".join(near_words) or None}))
    # pass 3: most of a phrase, close together; a name OCR-damaged on a document not yet linked
    # to a household
    passes.append((None, {"tolerant": True}))
    for query, marks in passes:
        if len(ranked) >= limit:
            continue
        if marks.get("tolerant"):
            query = parsed.tolerant  # built only when needed: it asks the index for term frequencies
        if query is None:
            continue
        seen = {r.doc_id for r in ranked}
        wanted = limit - len(ranked)
        tolerant = marks.pop("tolerant", False)
        phrases = [(w.text, w.kind == "name") for w in parsed.words if w.tolerant is not None] if tolerant else []
        extra, more = _run(index, query, parsed.filter, wanted * (4 if phrases else 1), seen)
        if phrases:
            fetched = len(extra)
            extra = _close_together(home, extra, phrases)[:wanted]
            if fetched >= wanted * 4:
                exact = False  # more may lie beyond what was checked
            total += len(extra)
            ranked += _below(ranked, extra, approximate=True, **marks)
            continue
        ranked += _below(ranked, extra, approximate=True, **marks)
        if more.complete:
            total += len(extra)
        else:
            total, exact = max(total + len(extra), more.total), False
    hits = _hits(home, ranked, parsed.literals + near_words)
    # voided documents last, whatever their score
    hits.sort(key=lambda h: h.voided)
    households = _household_hits(home, parsed, matches, scope)
    ambiguous = [NearName(found.typed, p.name, p.household, p.head_name, p.village)
                 for found in misspelt.values() if len({p.household for p in found.near}) > 1
                 for p in found.near]
    elapsed = time.perf_counter() - started
    with transaction(home.db):
        audit(home.db, home.operator, "search", text, {
            "village": village, "type": doc_type, "category": category, "year": year, "month": month,
            "household": household, "hits": total, "households": len(households)})
    return SearchResult(query=text, total=total, hits=hits, seconds=elapsed, exact=exact, households=households,
                        ambiguous=list(dict.fromkeys(ambiguous)))


def _printed(home: Home, index, word: str) -> bool:
    """Whether some document's title or text has the word as typed (white space aside)."""
    grams = bigrams(word)
    if not grams:
        return False
    candidates = q.Or(tuple(q.Phrase(field, tuple(grams)) for field in ("title", "body")))
    ids = [doc_id for doc_id, _score in index.search(candidates, None, 50, ranked=False).ranked]
    if not ids:
        return False
    marks = ",".join("?" * len(ids))
    for title, body in home.db.execute(f"SELECT title, body_text FROM documents WHERE doc_id IN ({marks})", ids):
        if any(word in re.sub(r"\s+", "", text or "") for text in (title, body)):
            return True
    return False


def _close_together(home: Home, found: list[tuple[str, float]],
                    phrases: list[tuple[str, bool]]) -> list[tuple[str, float]]:
    """The tolerant pass's documents whose title or text has each phrase's bigrams close together.
    A name is relaxed only on a document of no household (a linked one matched it by its roster
    names), so there alone it is checked."""
    if not found:
        return []
    marks = ",".join("?" * len(found))
    rows = {row[0]: (f"{row[1] or ''}\n{row[2] or ''}", row[3] is None) for row in home.db.execute(
        f"SELECT doc_id, title, body_text, household_id FROM documents WHERE doc_id IN ({marks})",
        [d for d, _ in found])}
    kept = []
    for doc_id, score in found:
        text, unlinked = rows.get(doc_id, ("", True))
        if all(queries.close_together(phrase, text) for phrase, is_name in phrases if unlinked or not is_name):
            kept.append((doc_id, score))
    return kept


def _hits(home: Home, ranked: list[_Ranked], literals: list[str]) -> list[Hit]:
    if not ranked:
        return []
    marks = ",".join("?" * len(ranked))
    rows = {row["doc_id"]: row for row in home.db.execute(_ROWS_SQL.format(marks=marks), [r.doc_id for r in ranked])}
    hits = []
    for r in ranked:
        row = rows.get(r.doc_id)
        if row is None:
            continue  # in the index but gone from the catalog: check-index reports it
        hits.append(Hit(
            household=row["household_id"], name=row["head_name"], village=row["village"], type=row["type"],
            title=row["title"], doc_id=r.doc_id, number=row["number"], archival_code=row["filed_code"],
            box=row["box_no"], item=row["filed_item"], location=location_label(row),
            path=open_path(home.root, row), date=row["doc_date"],
            snippet=snippet(row["body_text"], _literals(literals, row["number"])), score=round(r.score, 3),
            approximate=r.approximate, voided=row["status"] == "voided", copy=copy_kind(row),
            matched=_matched(home, r.matched, row["household_id"], row["body_text"]) if r.approximate else None,
        ))
    return hits


def _matched(home: Home, names: str | None, household: str | None, text: str | None) -> str | None:
    """Of the names a misspelling was taken for, the ones this document is about."""
    if not names:
        return None
    candidates = names.split("、")
    members = {row[0] for row in home.db.execute("SELECT name FROM members WHERE household_id = ?", (household,))}
    own = [name for name in candidates if name in members or name in (text or "")]
    return "、".join(own or candidates)


def _id_households(home: Home, digits: str) -> set[str]:
    """The households with a member whose ID number is `digits` or ends with them. An 18-character
    ID number's tail is compared from a constant position, as the indexes of migration 0014 are
    written (a county's roster is not scanned for every ID searched); ID numbers of another length
    (none from a roster import, which makes every one 18) through their own partial index."""
    if len(digits) >= 18:
        return {row[0] for row in home.db.execute("SELECT household_id FROM members WHERE id_number = ?", (digits,))}
    n = len(digits)
    return {row[0] for row in home.db.execute(
        f"SELECT household_id FROM members WHERE (id_number = ? OR substr(id_number, {19 - n}) = ?) "
        "AND length(id_number) = 18 "
        "UNION SELECT household_id FROM members WHERE length(id_number) <> 18 "
        f"AND (id_number = ? OR substr(id_number, length(id_number) - {n - 1}) = ?)",
        (digits, digits, digits, digits))}


def _household_hits(home: Home, parsed: queries.ParsedQuery, matches: dict[int, name_table.NameMatch],
                    scope: dict[str, str | None]) -> list[HouseholdHit]:
    """Roster households that every word names (a member's name, exactly or one character off,
    or an ID number or its last digits) and that have no document yet."""
    if not parsed.words or any(w.kind not in ("name", "id") for w in parsed.words):
        return []
    chosen: set[str] | None = None
    approximate = False
    matched: dict[str, list[str]] = {}
    for i, word in enumerate(parsed.words):
        if word.kind == "name":
            found = matches[i]
            people = found.exact or found.near
            approximate = approximate or not found.exact
            for p in found.near:
                matched.setdefault(p.household, []).append(p.name)
            ids = {p.household for p in people}
        else:
            ids = _id_households(home, word.text.upper())
        chosen = ids if chosen is None else chosen & ids
    out = []
    for household_id in sorted(chosen or ()):
        row = home.db.execute(
            "SELECT h.*, (SELECT count(*) FROM documents d WHERE d.household_id = h.id) AS n "
            "FROM households h WHERE h.id = ?", (household_id,)).fetchone()
        if row is None or row["n"]:
            continue
        if any(value and row[column] != (value.upper() if column == "id" else value)
               for column, value in (("village", scope["village"]), ("category", scope["category"]),
                                     ("id", scope["household"]))):
            continue
        out.append(HouseholdHit(row["id"], row["head_name"], row["village"], row["category"], row["status"],
                                approximate=approximate,
                                matched="、".join(dict.fromkeys(matched.get(row["id"], []))) or None))
    return out
