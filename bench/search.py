"""Index and search at the scale of a township's ten years: 100,000 to 300,000 documents.

Run by hand:  .venv/bin/python bench/search.py [--documents 100000] [--households 3000]
                  [--backend whoosh --backend fts5] [--procs 2] [--trigram]

Builds a synthetic archive (documents rendered from our own templates for a synthetic township,
spread over ten years, inserted into the catalog without PDFs), then reports per index backend (each measured in a process of its own):
  - the full rebuild: seconds, documents per second, index size, peak memory;
  - query latency p50/p95 over a fixed query mix and per class (names, member names, ID digits,
    文号, common phrases, filtered queries), through archive.search (the catalog lookup included);
  - an incremental update of 50 changed documents;
  - with --trigram, the peer: SQLite FTS5 with the trigram tokenizer on the same documents
    (index time, size, latency for the same texts as MATCH / LIKE queries).
Without --backend it measures the default backend; the last line is one JSON object per backend.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
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
from archive.index import backend as index_backends
from archive.index import store
from archive.roster.households import list_households
from archive.roster.importer import import_roster
from archive.search.engine import search

TYPES = ["application", "declaration", "authorization", "home-visit", "approval", "confirmation",
         "refusal", "suspension", "adjustment"]
REASONS = ["家庭拥有机动车辆", "务工收入增加", "家庭存款超过规定标准", "共同生活家庭成员名下有经营性公司"]
CHUNK = 20_000  # rows inserted at a time by build
PARAMS = {"refusal": {"reason": ""}, "suspension": {"reason": ""}, "adjustment": {"reason": "", "new_amount": "300"}}


def _cache_compiled_templates() -> None:
    """Compile each Jinja text once for the whole build (the library compiles it per document,
    which is most of a build's time at 300,000 documents; the rendered text is the same)."""
    env = templates._ENV
    from_string, compile_expression = env.from_string, env.compile_expression
    strings: dict = {}
    expressions: dict = {}

    def cached_string(text, *args, **kwargs):
        if text not in strings:
            strings[text] = from_string(text, *args, **kwargs)
        return strings[text]

    def cached_expression(expr, undefined_to_none=True):
        key = (expr, undefined_to_none)
        if key not in expressions:
            expressions[key] = compile_expression(expr, undefined_to_none=undefined_to_none)
        return expressions[key]

    env.from_string = cached_string
    env.compile_expression = cached_expression


def _personal(household, doc_id: str, number: str | None) -> list[str]:
    """What a rendered document says of its own household and itself, in a fixed order."""
    values = [doc_id, number or "", household.village, household.address or "", household.phone or ""]
    for member in household.members:
        values += [member.id_number, member.name]
    return values


def build(root: Path, documents: int, households: int, seed: int = 3) -> tuple[Home, list]:
    _cache_compiled_templates()
    rng = random.Random(seed)
    begun = time.perf_counter()
    home = init_home(root, Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES)))
    township = sample.make_township(households, dt.date(2025, 7, 1), seed=seed, applicants=0)
    import_roster(home.db, sample.write_roster_xlsx(township, root / "roster.xlsx"), home.config, "bench")
    people = list_households(home.db)
    print(f"roster of {len(people)} households made and imported in {time.perf_counter() - begun:.0f} s", flush=True)
    loaded = {t: templates.load_template(t) for t in TYPES}
    numbers: dict[tuple[str, int], int] = {}
    rows: list[tuple] = []
    started = time.perf_counter()

    def insert(chunk: list[tuple]) -> None:
        """One chunk of rows, in the one transaction of the build (memory stays bounded at a
        million documents; the catalog is SQLite or PostgreSQL, ARCHIVE_DATABASE_URL)."""
        home.db.executemany(
            "INSERT INTO documents(doc_id, type, title, household_id, village, doc_date, number, request_key,"
            " params, context, body_text) VALUES (?,?,?,?,?,?,?,?,?,?,?)", chunk)
        if (index + 1) % 100_000 < CHUNK:
            print(f"  {index + 1} documents inserted, {time.perf_counter() - started:.0f} s", flush=True)

    with transaction(home.db):
        # the catalog lookup of a hit finds its signed copy by source_doc; without an index on it
        # every hit scans the documents table (see bench/RESULTS.md: to be a catalog migration)
        home.db.execute("CREATE INDEX IF NOT EXISTS documents_source_doc ON documents(source_doc)")
        rendered: dict[tuple, tuple[str, list[str], re.Pattern]] = {}
        for index in range(documents):
            household = people[index % len(people)]
            doc_type = rng.choice(TYPES)
            template = loaded[doc_type]
            day = dt.date(2016 + rng.randrange(10), rng.randint(1, 12), rng.randint(1, 28))
            params = {k: (rng.choice(REASONS) if k == "reason" else v) for k, v in PARAMS.get(doc_type, {}).items()}
            number = None
            if template.number_code:
                key = (template.number_code, day.year)
                numbers[key] = numbers.get(key, 0) + 1
                number = format_number("青岩", template.number_code, day.year, numbers[key])
            doc_id = f"Z109-{index:07d}"
            # each (type, reason, household size, category) rendered once through the templates; the
            # household's own names, ID numbers, village, address, 文号 and document ID put in per document
            shape = (doc_type, tuple(sorted(params.items())), len(household.members), household.category)
            if shape not in rendered:
                context = office_context(home.config, template, day)
                context.update(household_context(household, day))
                context.update(category_wording(home.config, template.id, household.category))
                context.update(derived_dates(day))
                context.update(field_values(template, params, context))
                context.update(doc_id=doc_id, number=number or "")
                text = templates.render(template, context).plain_text()
                olds = _personal(household, doc_id, number)
                pattern = re.compile("|".join(re.escape(o) for o in sorted(set(olds), key=len, reverse=True) if o))
                rendered[shape] = (text, olds, pattern)
            text, olds, pattern = rendered[shape]
            mapping = dict(zip(olds, _personal(household, doc_id, number), strict=True))
            text = pattern.sub(lambda m, mapping=mapping: mapping[m.group(0)], text)
            rows.append((doc_id, doc_type, template.title, household.id, household.village,
                         day.isoformat(), number, f"k{index}", "{}", "{}", text))
            if len(rows) >= CHUNK or index == documents - 1:
                insert(rows)
                rows.clear()
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


CLASSES = ("names", "member names", "ID digits", "文号", "common phrases", "filtered queries")


def query_mix_classes(home: Home, people, rng: random.Random) -> list[tuple[str, str, dict]]:
    """The query mix with each query's class: (class, text, filters)."""
    mix = query_mix(home, people, rng)
    classes = (["names"] * 10 + ["member names"] * 10 + ["ID digits"] * 15)
    out = []
    for index, (text, filters) in enumerate(mix):
        if filters:
            label = "filtered queries"
        elif index < len(classes):
            label = classes[index]
        elif text in REASONS:
            label = "common phrases"
        else:
            label = "文号"
        out.append((label, text, filters))
    return out


slowest_last: list[list] = []  # the slowest queries of the last run_queries: [text and filters, ms]
cpu: list[float] = []  # the CPU time of each query of the last run_queries (the machine's load aside)


def run_queries(home: Home, mix, repeat: int = 3) -> tuple[list[float], dict[str, list[float]]]:
    search(home, mix[0][1], **mix[0][2])  # open the index once
    latencies = []
    per_class: dict[str, list[float]] = {}
    slowest: dict[str, float] = {}
    cpu.clear()
    for label, text, filters in mix * repeat:
        started, started_cpu = time.perf_counter(), time.process_time()
        search(home, text, **filters)
        elapsed = time.perf_counter() - started
        cpu.append(time.process_time() - started_cpu)
        latencies.append(elapsed)
        per_class.setdefault(label, []).append(elapsed)
        key = f"{text} {filters or ''}".strip()
        slowest[key] = max(slowest.get(key, 0.0), elapsed)
    slowest_last.clear()
    for key, elapsed in sorted(slowest.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  slowest: {elapsed * 1000:6.1f} ms  {key}", flush=True)
        slowest_last.append([key, round(elapsed * 1000, 1)])
    return latencies, per_class


def run_fts5_trigram(home: Home, mix, workdir: Path) -> tuple[float, int, list[float]]:
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
    for _label, text, filters in mix * 3:
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


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: ru_maxrss would include the parent's, inherited
    across exec), and that of the writer processes it started."""
    status = Path("/proc/self/status").read_text()
    own = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def measure(root: Path, backend: str, mix, procs: int, rebuild: bool = True) -> dict[str, object]:
    """Rebuild the index of the home with one backend and run the query mix (in a process of its
    own, so that its peak memory is its own). `rebuild=False`: the query mix only, on the index
    as it is (bench/county.py --reuse: the timed query phase of an index built before)."""
    os.environ[index_backends.BACKEND_ENV] = backend
    home = Home(root)
    documents = home.db.execute("SELECT count(*) FROM documents").fetchone()[0]
    if not rebuild:
        cold = None
        if os.environ.get("BENCH_WARM"):  # the mix once first, timed apart: a server just started is cold
            first, _classes = run_queries(home, mix[:], repeat=1)
            cold = {"p50_ms": round(pct(first, 50), 1), "p95_ms": round(pct(first, 95), 1), "max_ms": round(max(first) * 1000, 1)}
            print(f"  first pass (cold server): p50 {cold['p50_ms']} ms, p95 {cold['p95_ms']} ms, max {cold['max_ms']} ms",
                  flush=True)
        latencies, per_class = run_queries(home, mix)
        figures = {
            "first_pass_cold": cold,
            "backend": backend, "documents": documents, "queries": len(latencies),
            "index_mb": round(store.backend(home).size_bytes() / 2**20, 1),
            "p50_ms": round(pct(latencies, 50), 1), "p95_ms": round(pct(latencies, 95), 1),
            "cpu_p50_ms": round(pct(cpu, 50), 1), "cpu_p95_ms": round(pct(cpu, 95), 1),
            "peak_rss_mb": round(peak_rss_mb(), 0), "load_average": os.getloadavg()[0],
            "per_class": {label: {"p50_ms": round(pct(values, 50), 1), "p95_ms": round(pct(values, 95), 1)}
                          for label, values in per_class.items()},
            "slowest": slowest_last,
        }
        home.close()
        return figures
    before = peak_rss_mb()

    def progress(done: int, todo: int) -> None:
        print(f"  {backend}: {done}/{todo} written, {time.perf_counter() - started:.0f} s", flush=True)

    started, started_cpu = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = store.sync(home, full=True, procs=procs, on_progress=progress)
    rebuild_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of this process and of the writer processes it started (on a loaded machine the
    # wall time is a multiple of this)
    rebuild_cpu_s = time.process_time() - started_cpu + (after.ru_utime + after.ru_stime) - (
        children.ru_utime + children.ru_stime)
    rebuild_peak = peak_rss_mb()
    latencies, per_class = run_queries(home, mix)
    # an incremental update: 50 documents changed (as after generate, ingest or filing)
    with transaction(home.db):
        home.db.execute("UPDATE documents SET rev = rev + 1 WHERE doc_id IN "
                        "(SELECT doc_id FROM documents ORDER BY doc_id DESC LIMIT 50)")
    started = time.perf_counter()
    store.sync(home)
    incremental_ms = (time.perf_counter() - started) * 1000
    search(home, mix[0][1])  # the searcher reopened after the update
    peak = peak_rss_mb()
    figures = {
        "backend": backend,
        "documents": documents,
        "written": result.written,
        "rebuild_s": round(rebuild_s, 1),
        "docs_per_s": round(result.written / rebuild_s, 1),
        "index_mb": round(store.backend(home).size_bytes() / 2**20, 1),
        "rebuild_peak_rss_mb": round(rebuild_peak, 0),
        "peak_rss_mb": round(peak, 0),
        "rss_before_rebuild_mb": round(before, 0),
        "queries": len(latencies),
        "p50_ms": round(pct(latencies, 50), 1),
        "p95_ms": round(pct(latencies, 95), 1),
        "rebuild_cpu_s": round(rebuild_cpu_s, 1),
        "cpu_p50_ms": round(pct(cpu, 50), 1),
        "cpu_p95_ms": round(pct(cpu, 95), 1),
        "load_average": os.getloadavg()[0],
        "per_class": {label: {"p50_ms": round(pct(values, 50), 1), "p95_ms": round(pct(values, 95), 1)}
                      for label, values in per_class.items()},
        "incremental_50_docs_ms": round(incremental_ms, 1),
        "slowest": slowest_last,
    }
    home.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--procs", type=int, default=2, help="whoosh writer processes on a full rebuild")
    parser.add_argument("--backend", action="append", choices=index_backends.names(),
                        help="index backend to measure (repeat for several); default: the default backend")
    parser.add_argument("--trigram", action="store_true", help="also the SQLite FTS5 trigram peer (not a backend)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: HOME,BACKEND,MIXFILE in a child
    args = parser.parse_args()
    if args.measure:
        root, backend, mixfile, *how = args.measure.split(",")
        mix = json.loads(Path(mixfile).read_text())
        figures = measure(Path(root), backend, mix, args.procs, rebuild=how != ["queries"])
        print("RESULT " + json.dumps(figures, ensure_ascii=False), flush=True)
        return
    chosen = args.backend or [index_backends.DEFAULT]
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        home, people = build(work / "home", args.documents, args.households)
        mix = query_mix_classes(home, people, random.Random(9))
        home.close()
        mixfile = work / "mix.json"
        mixfile.write_text(json.dumps(mix, ensure_ascii=False))
        results = []
        for backend in chosen:
            # the child's progress is shown as it comes (a rebuild at 1,000,000 documents is long)
            with subprocess.Popen(
                    [sys.executable, __file__, "--procs", str(args.procs), "--measure",
                     f"{work / 'home'},{backend},{mixfile}"], stdout=subprocess.PIPE, text=True) as child:
                for line in child.stdout:
                    if line.startswith("RESULT "):
                        results.append(json.loads(line[7:]))
                    else:
                        print(line, end="", flush=True)
            if child.returncode:
                raise SystemExit(f"measuring {backend} failed (exit {child.returncode})")
        for figures in results:
            per_class = figures["per_class"]
            print(f"{figures['backend']}: {figures['documents']} documents, rebuild {figures['rebuild_s']} s "
                  f"({figures['docs_per_s']} docs/s), index {figures['index_mb']} MB, peak {figures['peak_rss_mb']} MB, "
                  f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, "
                  f"incremental (50 docs) {figures['incremental_50_docs_ms']} ms; CPU: rebuild {figures['rebuild_cpu_s']} s, "
                  f"query p50 {figures['cpu_p50_ms']} ms, p95 {figures['cpu_p95_ms']} ms (load average {figures['load_average']})")
            for label in CLASSES:
                if label in per_class:
                    print(f"    {label}: p50 {per_class[label]['p50_ms']} ms, p95 {per_class[label]['p95_ms']} ms")
        if args.trigram:
            home = Home(work / "home")
            index_s, size, latencies = run_fts5_trigram(home, mix, work)
            home.close()
            print(json.dumps({"peer": "fts5-trigram", "index_s": round(index_s, 1), "index_mb": round(size / 2**20, 1),
                              "p50_ms": round(pct(latencies, 50), 1), "p95_ms": round(pct(latencies, 95), 1)},
                             ensure_ascii=False))
        for figures in results:
            print(json.dumps(figures, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
