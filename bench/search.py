"""Index and search at the scale of a township's ten years: 100,000 documents.

Run by hand:  .venv/bin/python bench/search.py [--documents 100000] [--procs 2]

Builds a synthetic archive (documents rendered from our own templates for a synthetic township,
spread over ten years, inserted into the catalog without PDFs), then reports
  - indexing: documents per second, seconds, peak memory of the indexing process, index size;
  - query latency p50/p95 over a fixed query mix (names, member names, ID suffixes, 文号,
    phrases, filtered queries);
  - the peer: SQLite FTS5 with the trigram tokenizer on the same documents in the same run
    (index time, size, latency for the same texts as MATCH / LIKE queries).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from archive import sample
from archive.casework.rules import category_wording
from archive.catalog import transaction
from archive.config import Config
from archive.documents import templates
from archive.documents.context import derived_dates, field_values, household_context, office_context
from archive.documents.generate import format_number
from archive.home import Home, init_home
from archive.index import store
from archive.roster.households import list_households
from archive.roster.importer import import_roster
from archive.search.engine import search

TYPES = ["application", "declaration", "authorization", "home-visit", "approval", "confirmation",
         "refusal", "suspension", "adjustment"]
REASONS = ["家庭拥有机动车辆", "务工收入增加", "家庭存款超过规定标准", "共同生活家庭成员名下有经营性公司"]
PARAMS = {"refusal": {"reason": ""}, "suspension": {"reason": ""}, "adjustment": {"reason": "", "new_amount": "300"}}


def build(root: Path, documents: int, households: int, seed: int = 3) -> tuple[Home, list]:
    rng = random.Random(seed)
    home = init_home(root, Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES)))
    township = sample.make_township(households, dt.date(2025, 7, 1), seed=seed, applicants=0)
    import_roster(home.db, sample.write_roster_xlsx(township, root / "roster.xlsx"), home.config, "bench")
    people = list_households(home.db)
    loaded = {t: templates.load_template(t) for t in TYPES}
    numbers: dict[tuple[str, int], int] = {}
    rows = []
    started = time.perf_counter()
    for index in range(documents):
        household = people[index % len(people)]
        doc_type = rng.choice(TYPES)
        template = loaded[doc_type]
        day = dt.date(2016 + rng.randrange(10), rng.randint(1, 12), rng.randint(1, 28))
        params = {k: (rng.choice(REASONS) if k == "reason" else v) for k, v in PARAMS.get(doc_type, {}).items()}
        context = office_context(home.config, template, day)
        context.update(household_context(household, day))
        context.update(category_wording(home.config, template.id, household.category))
        context.update(derived_dates(day))
        context.update(field_values(template, params, context))
        number = None
        if template.number_code:
            key = (template.number_code, day.year)
            numbers[key] = numbers.get(key, 0) + 1
            number = format_number("青岩", template.number_code, day.year, numbers[key])
        context.update(doc_id=f"Z109-{index:07d}", number=number or "")
        text = templates.render(template, context).plain_text()
        rows.append((f"Z109-{index:07d}", doc_type, template.title, household.id, household.village,
                     day.isoformat(), number, f"k{index}", "{}", "{}", text))
    with transaction(home.db):
        home.db.executemany(
            "INSERT INTO documents(doc_id, type, title, household_id, village, doc_date, number, request_key,"
            " params, context, body_text) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    print(f"built {documents} documents for {len(people)} households in {time.perf_counter() - started:.0f} s",
          flush=True)
    return home, people


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def query_mix(home: Home, people, rng: random.Random) -> list[tuple[str, dict]]:
    mix: list[tuple[str, dict]] = []
    sampled = rng.sample(people, 40)
    for household in sampled[:10]:
        mix.append((household.head_name, {}))
    for household in [h for h in sampled if len(h.members) > 1][:10]:
        mix.append((household.members[1].name, {}))
    for household in sampled[10:20]:
        mix.append((household.id[-6:], {}))
    for household in sampled[20:25]:
        mix.append((household.members[-1].id_number, {}))
    numbers = [r[0] for r in home.db.execute("SELECT number FROM documents WHERE number IS NOT NULL ORDER BY random() LIMIT 10")]
    mix += [(n, {}) for n in numbers]
    mix += [(reason, {}) for reason in REASONS]
    mix += [(REASONS[0], {"village": sample.VILLAGES[1]}), (REASONS[1], {"year": 2021}),
            ("审核确认", {"month": "2023-05"}), (sampled[0].head_name, {"doc_type": "refusal"}),
            ("停发", {"category": "低保", "year": 2024})]
    return mix


def run_whoosh(home: Home, mix) -> list[float]:
    search(home, mix[0][0], **mix[0][1])  # open the index once
    latencies = []
    slowest: dict[str, float] = {}
    for text, filters in mix * 3:
        started = time.perf_counter()
        search(home, text, **filters)
        elapsed = time.perf_counter() - started
        latencies.append(elapsed)
        label = f"{text} {filters or ''}".strip()
        slowest[label] = max(slowest.get(label, 0.0), elapsed)
    for label, elapsed in sorted(slowest.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  slowest: {elapsed * 1000:6.1f} ms  {label}")
    return latencies


def run_fts5(home: Home, mix, workdir: Path) -> tuple[float, int, list[float]]:
    path = workdir / "fts.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(doc_id UNINDEXED, village UNINDEXED, year UNINDEXED,"
                 " names, ids, number, body, tokenize='trigram')")
    started = time.perf_counter()
    rows = home.db.execute(
        "SELECT d.doc_id, d.village, substr(d.doc_date,1,4), h.head_name || ' ' || "
        "(SELECT group_concat(name,' ') FROM members m WHERE m.household_id=d.household_id), "
        "(SELECT group_concat(id_number,' ') FROM members m WHERE m.household_id=d.household_id), "
        "coalesce(d.number,''), d.body_text FROM documents d LEFT JOIN households h ON h.id=d.household_id")
    conn.executemany("INSERT INTO docs VALUES (?,?,?,?,?,?,?)", rows)
    conn.commit()
    index_s = time.perf_counter() - started
    size = path.stat().st_size
    latencies = []
    for text, filters in mix * 3:
        # trigram needs 3+ characters; shorter words fall back to LIKE (a full scan), as FTS5 documents
        phrase = '"' + text.replace('"', '""') + '"'
        where, args = ("docs MATCH ?", [phrase]) if len(text) >= 3 else ("body LIKE ?", [f"%{text}%"])
        if filters.get("village"):
            where += " AND village = ?"
            args.append(filters["village"])
        if filters.get("year"):
            where += " AND year = ?"
            args.append(str(filters["year"]))
        started = time.perf_counter()
        conn.execute(f"SELECT doc_id, bm25(docs) FROM docs WHERE {where} ORDER BY bm25(docs) LIMIT 20", args).fetchall()
        latencies.append(time.perf_counter() - started)
    conn.close()
    return index_s, size, latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        home, people = build(work / "home", args.documents, args.households)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = store.sync(home, full=True, procs=args.procs)
        index_s = time.perf_counter() - started
        peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        mix = query_mix(home, people, random.Random(9))
        latencies = run_whoosh(home, mix)
        fts_index_s, fts_size, fts_latencies = run_fts5(home, mix, work)
        print(json.dumps({
            "documents": result.written,
            "whoosh_index_s": round(index_s, 1),
            "whoosh_docs_per_s": round(result.written / index_s, 1),
            "whoosh_index_mb": round(folder_size(store.index_dir(home)) / 2**20, 1),
            "indexing_peak_rss_mb": round(peak_mb, 0),
            "rss_before_indexing_mb": round(before / 1024, 0),
            "queries": len(latencies),
            "whoosh_p50_ms": round(pct(latencies, 50), 1),
            "whoosh_p95_ms": round(pct(latencies, 95), 1),
            "fts5_trigram_index_s": round(fts_index_s, 1),
            "fts5_docs_per_s": round(result.written / fts_index_s, 1),
            "fts5_index_mb": round(fts_size / 2**20, 1),
            "fts5_p50_ms": round(pct(fts_latencies, 50), 1),
            "fts5_p95_ms": round(pct(fts_latencies, 95), 1),
        }, ensure_ascii=False, indent=2))
        home.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
