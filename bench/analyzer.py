"""Which Chinese analyser finds more of the right files: word segmentation (jieba) or character
n-grams? Measured on our own documents and our own kind of queries.

Run by hand:  .venv/bin/python bench/analyzer.py [--households 300]

Corpus: the text of generated documents (every household type) for a synthetic township; in a
quarter of the documents one character of the head's name is replaced, as OCR does. Queries:
heads' names, other members' names, two-character names, phrases from the reasons, and the
correct name of a household whose documents carry an OCR-damaged name. A document is relevant
when it belongs to the household (names) or contains the phrase. For each analyser the same query
strategy is used: all query terms must match, else at least two thirds of them (ranked lower).

Prints recall@10, precision@10 and MRR per query kind and analyser, plus index time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from whoosh import query as q
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage

from archive import sample
from archive.config import Config
from archive.documents import templates
from archive.documents.context import derived_dates, field_values, household_context, office_context
from archive.home import init_home
from archive.index.whoosh_backend import chinese_analyzer
from archive.roster.households import list_households
from archive.roster.importer import import_roster

DAY = dt.date(2025, 7, 8)
TYPES = ["application", "declaration", "home-visit", "approval", "refusal", "suspension"]
REASONS = ["家庭拥有机动车辆", "务工收入增加", "家庭存款超过规定标准", "共同生活家庭成员名下有经营性公司"]


def build_corpus(households: int, seed: int = 5):
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="bench-analyzer-"))
    home = init_home(work / "h", Config(fonds="Z109", county="花溪区", township="青岩镇",
                                        villages=list(sample.VILLAGES)))
    township = sample.make_township(households, DAY.replace(day=1), seed=seed, applicants=0)
    import_roster(home.db, sample.write_roster_xlsx(township, work / "r.xlsx"), home.config, "bench")
    docs = []  # (doc_id, household_id, text, damaged)
    loaded = {t: templates.load_template(t) for t in TYPES}
    for household in list_households(home.db):
        for doc_type in rng.sample(TYPES, 3):
            template = loaded[doc_type]
            reason = rng.choice(REASONS)
            context = office_context(home.config, template, DAY)
            context.update(household_context(household, DAY))
            context.update(derived_dates(DAY))
            context.update(field_values(template, {"reason": reason} if "reason" in template.fields else {}, context))
            context.update(doc_id="x", number="")
            text = templates.render(template, context).plain_text()
            damaged = rng.random() < 0.25
            if damaged:
                name = household.head_name
                wrong = name[:-1] + rng.choice("丁王目日田甲申由")
                text = text.replace(name, wrong)
            docs.append((f"d{len(docs)}", household.id, text, damaged))
    return home, list_households(home.db), docs


def make_queries(households, docs, rng):
    by_household = defaultdict(set)
    damaged_households = set()
    for doc_id, hid, _, damaged in docs:
        by_household[hid].add(doc_id)
        if damaged:
            damaged_households.add(hid)
    queries = []
    for household in rng.sample(households, 60):
        kind = "damaged name" if household.id in damaged_households else "head name"
        queries.append((kind, household.head_name, by_household[household.id]))
        if len(household.members) > 1:
            queries.append(("member name", household.members[1].name, by_household[household.id]))
    for household in [h for h in households if len(h.head_name) == 2][:30]:
        queries.append(("2-char name", household.head_name, by_household[household.id]))
    for reason in REASONS:
        queries.append(("phrase", reason, {d for d, _, text, _ in docs if reason in text}))
    # a name shared by several households is relevant for all of them
    names = defaultdict(set)
    for household in households:
        for member in household.members:
            names[member.name] |= by_household[household.id]
    return [(kind, text, relevant | names.get(text, set())) for kind, text, relevant in queries]


def evaluate(name, analyzer, docs, queries):
    storage = RamStorage()
    ix = storage.create_index(Schema(doc_id=ID(stored=True), body=TEXT(analyzer=analyzer, phrase=False)))
    started = time.perf_counter()
    writer = ix.writer()
    for doc_id, _, text, _ in docs:
        writer.add_document(doc_id=doc_id, body=text)
    writer.commit()
    index_s = time.perf_counter() - started
    scores = defaultdict(lambda: defaultdict(list))
    latencies = []
    with ix.searcher() as searcher:
        for kind, text, relevant in queries:
            terms = [t.text for t in analyzer(text, mode="query")]
            if not terms:
                hits = []
            else:
                all_terms = q.And([q.Term("body", t) for t in terms], boost=2.0)
                need = max(1, len(terms) - max(1, len(terms) // 3))
                some = q.Or([q.Term("body", t) for t in terms], minmatch=need, boost=0.5)
                t0 = time.perf_counter()
                hits = [h["doc_id"] for h in searcher.search(q.Or([all_terms, some]), limit=10)]
                latencies.append(time.perf_counter() - t0)
            found = [h for h in hits if h in relevant]
            scores[kind]["recall@10"].append(len(found) / min(10, len(relevant)) if relevant else 1.0)
            scores[kind]["precision@10"].append(len(found) / len(hits) if hits else 0.0)
            rank = next((i for i, h in enumerate(hits, 1) if h in relevant), None)
            scores[kind]["mrr"].append(1 / rank if rank else 0.0)
    return name, index_s, scores, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(11)
    _, households, docs = build_corpus(args.households)
    queries = make_queries(households, docs, rng)
    analyzers = [("bigram", chinese_analyzer()), ("unigram+bigram", chinese_analyzer(unigrams=True))]
    try:
        from jieba.analyse import ChineseAnalyzer

        analyzers.append(("jieba", ChineseAnalyzer()))
    except ImportError:
        print("jieba not installed: pip install -e '.[jieba]'")
    print(f"{len(docs)} documents, {len(queries)} queries")
    kinds = sorted({kind for kind, _, _ in queries})
    print(f"{'analyser':<16}{'index s':>8}  " + "  ".join(f"{k:>22}" for k in kinds) + "   overall R/P/MRR")
    for analyzer_name, analyzer in analyzers:
        name, index_s, scores, latencies = evaluate(analyzer_name, analyzer, docs, queries)
        cells = []
        overall = defaultdict(list)
        for kind in kinds:
            r, p, m = (statistics.mean(scores[kind][x]) for x in ("recall@10", "precision@10", "mrr"))
            cells.append(f"{r:.2f}/{p:.2f}/{m:.2f}".rjust(22))
            for x in ("recall@10", "precision@10", "mrr"):
                overall[x] += scores[kind][x]
        total = "/".join(f"{statistics.mean(overall[x]):.3f}" for x in ("recall@10", "precision@10", "mrr"))
        print(f"{name:<16}{index_s:>8.1f}  " + "  ".join(cells) + f"   {total}"
              f"   (p50 {statistics.median(latencies) * 1000:.1f} ms)")
    print("cells: recall@10 / precision@10 / MRR")


if __name__ == "__main__":
    main()
