"""A county on one deployment (issue #15): the PostgreSQL index beside whoosh, and OCR ingest on
1, 2 and 4 Celery workers, in one run.

Run by hand:  .venv/bin/python bench/county.py [--documents 1000000] [--households 30000]
                  [--whoosh-documents N | --skip-whoosh] [--skip-postgresql] [--scans 12] [--workers 1,2,4]
                  [--skip-ingest] [--catalog postgresql|sqlite] [--fts5-documents N]
                  [--keep DIR | --reuse DIR]

- The PostgreSQL run's catalog is in the same PostgreSQL database (`--catalog postgresql`, the
  default: as in a county, the name table, the hit lookup and the search's audit entry are
  PostgreSQL statements too); `--catalog sqlite` keeps it in catalog.sqlite.
- `--keep DIR`: the server's data folder (DIR/pg-server), the homes and the query mixes are built
  under DIR and kept; `--reuse DIR` then runs the query phase only on them (no build, no rebuild:
  the server is started again on its data folder), which is what is timed under the bench lock
  at a million documents (building takes most of an hour on this machine).
- `--fts5-documents N`: the default embedded backend (SQLite FTS5, catalog.sqlite) on an archive
  of its own of that size, measured the same way (with --keep/--reuse too).

- Starts a throwaway PostgreSQL and Redis on 127.0.0.1 (tests/servers.py), PostgreSQL with the
  settings a county server would have (SERVER below: durable writes, memory), not the test ones.
- Builds the synthetic archive of bench/search.py (its `build`: documents rendered from our
  templates for `--households` households over ten years, no PDFs) and its query mix
  (`query_mix_classes`), then measures each index backend in a process of its own with
  bench/search.py's `measure`: full rebuild (seconds, documents per second, peak memory of the
  reindexing process), index size, search p50/p95 over the mix and per query class, an
  incremental update of 50 documents. The PostgreSQL server's own memory is bounded by its
  settings (shared_buffers, maintenance_work_mem for the GIN build), not counted in that peak.
- whoosh at the same size would take hours at a million documents (its 300,000 rebuild took 32
  minutes, issue #16): `--whoosh-documents` measures it on an archive of its own size (built
  the same way, same seed), `--skip-whoosh` leaves it out; the output says which.
- Ingest: real `archive worker` processes (the worker machinery of tests/test_queue_workers.py)
  with the real OCR engine on degraded scans of our own generated documents, `archive ingest`
  sending the pages through Redis; pages per minute from the start of ingest to its end (the
  workers are started and ready before; the first page of each worker process loads the OCR
  models, included). Each run ingests into a county home whose township is a copy of the home
  the documents were generated in (joined with `archive township join`), so the scans are of
  documents it holds and are linked to them, as at a township; the workers serve the county
  (`archive worker` on the county home). The figures say how many scans were linked.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from search import CLASSES, build, query_mix_classes  # noqa: E402  (bench/search.py)

from archive.home import DATABASE_URL_ENV  # noqa: E402
from archive.index import backend as index_backends  # noqa: E402
from archive.index.pg_backend import URL_ENV  # noqa: E402

# the bench server's settings (documented for a county server in docs/COUNTY.md)
SERVER = {
    "fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",  # durable, unlike the tests'
    "shared_buffers": "512MB",
    "effective_cache_size": "4GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "random_page_cost": "1.1",          # SSD
    "max_wal_size": "4GB",              # a full rebuild writes the whole table once
    "checkpoint_timeout": "15min",
    "jit": "off",
}


def load() -> str:
    """The load averages over 1, 5 and 15 minutes."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(home: Path, backend: str, mix: Path, procs: int, env: dict[str, str],
            queries_only: bool = False) -> dict[str, object]:
    """bench/search.py's measure() in a child process (its peak memory is its own);
    `queries_only`: the query mix on the index as it is, no rebuild."""
    how = ",queries" if queries_only else ""
    figures = None
    with subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "search.py"), "--procs", str(procs),
             "--measure", f"{home},{backend},{mix}{how}"],
            stdout=subprocess.PIPE, text=True, env={**os.environ, **env}) as child:
        for line in child.stdout:  # progress shown as it comes (a rebuild at 1,000,000 is long)
            if line.startswith("RESULT "):
                figures = json.loads(line[7:])
            else:
                print(line, end="", flush=True)
    if child.returncode:
        raise SystemExit(f"measuring {backend} failed (exit {child.returncode})")
    assert figures is not None, "the measuring process gave no result"
    return figures


def archive_of(work: Path, documents: int, households: int, catalog_url: str | None = None) -> tuple[Path, Path]:
    """A synthetic archive of that size and its query mix (a file); its catalog in PostgreSQL
    at `catalog_url` (as in a county), else in catalog.sqlite."""
    saved = os.environ.pop(DATABASE_URL_ENV, None)
    if catalog_url:
        os.environ[DATABASE_URL_ENV] = catalog_url
    try:
        home, people = build(work / "home", documents, households)
        mix = query_mix_classes(home, people, random.Random(9))
        home.close()
    finally:
        os.environ.pop(DATABASE_URL_ENV, None)
        if saved is not None:
            os.environ[DATABASE_URL_ENV] = saved
    mixfile = work / "mix.json"
    mixfile.write_text(json.dumps(mix, ensure_ascii=False))
    return work / "home", mixfile


def show(figures: dict) -> None:
    rebuild = (f"rebuild {figures['rebuild_s']} s ({figures['docs_per_s']} docs/s), "
               f"rebuild peak {figures['rebuild_peak_rss_mb']} MB, " if "rebuild_s" in figures else "queries only, ")
    print(f"{figures['backend']}: {figures['documents']} documents, {rebuild}index {figures['index_mb']} MB, "
          f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms", flush=True)
    for label in CLASSES:
        if label in figures["per_class"]:
            c = figures["per_class"][label]
            print(f"    {label}: p50 {c['p50_ms']} ms, p95 {c['p95_ms']} ms", flush=True)


def scans(work: Path, count: int) -> tuple[list[Path], Path]:
    """`count` one-page scans (JPEG, 200 dpi, slightly skewed) of documents generated for a
    small township, to be copied into each ingest run's inbox, and that township's home (which
    holds the roster and the generated originals)."""
    from archive import sample
    from archive.config import Config
    from archive.documents.generate import Generator
    from archive.home import init_home
    from archive.roster.importer import import_roster
    from archive.scans.synthetic import Degradation, save_scan, scan_of

    day = dt.date(2025, 7, 8)
    home = init_home(work / "source", Config(fonds="Z109", county="花溪区", township="青岩镇",
                                             villages=list(sample.VILLAGES)))
    township = sample.make_township(60, day.replace(day=1), seed=5)
    import_roster(home.db, sample.write_roster_xlsx(township, work / "roster.xlsx"), home.config, "bench")
    heads = [h.head.id_number for h in township if h.status == "在保"]
    kinds = [("refusal", {"reason": "家庭拥有机动车辆"}), ("suspension", {"reason": "务工收入增加"}),
             ("confirmation", {}), ("approval", {})]
    generator = Generator(home)
    rng = random.Random(5)
    out = []
    for index in range(count):
        kind, params = kinds[index % len(kinds)]
        pdf = Path(generator.household_document(kind, heads[index % len(heads)], day, params).pdf)
        spec = Degradation(dpi=200, skew=1.0, jpeg=80)
        out.append(save_scan(scan_of(pdf, spec, rng), work / "scans" / f"扫描{index:03d}.jpg", spec.dpi, spec.jpeg))
    home.close()
    return out, work / "source"


def ingest_run(work: Path, workers: int, files: list[Path], source: Path, redis_url: str) -> dict[str, object]:
    """A county home whose township is a copy of `source` (its roster and generated originals),
    with broker_url; `workers` archive worker processes on the county home, and `archive ingest`
    of the scans through them: pages per minute, and how many scans were linked."""
    from types import SimpleNamespace

    import redis

    from archive.county import init_county
    from archive.county_join import join_township
    from archive.home import Home
    from archive.scans import queue
    from tests.test_queue_workers import Workers, _configure, _env

    redis.Redis.from_url(redis_url).flushall()
    county = work / f"ingest-{workers}"
    init_county(county, "花溪区").close()
    shutil.copytree(source, work / f"青岩镇-{workers}", ignore=shutil.ignore_patterns("index", ".locks"))
    joined = join_township(county, work / f"青岩镇-{workers}")
    home = _configure(Home(Path(joined.home)), redis_url, visibility=3600)
    for path in files:
        shutil.copy(path, home.inbox_dir / path.name)
    logs = work / f"logs-{workers}"
    logs.mkdir()
    pool = Workers(SimpleNamespace(root=county), logs)
    for index in range(workers):
        pool.start(f"w{index + 1}", 0)
    try:
        pool.wait_ready(queue.Dispatcher(redis_url, county, queue=queue.storage_of(home).queue), timeout=300)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "archive", "--home", str(county), "--township", "青岩镇",
                               "ingest", "--json"],
                              capture_output=True, text=True, env=_env(), timeout=3600)
        seconds = time.perf_counter() - started
    finally:
        pool.stop()
    if done.returncode != 0:
        raise RuntimeError(f"ingest failed: {done.stderr[-2000:]}")
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    statuses: dict[str, int] = {}
    for record in records:
        statuses[record["status"]] = statuses.get(record["status"], 0) + 1
    pages = home.db.execute("SELECT coalesce(sum(pages), 0) FROM scans").fetchone()[0] or len(files)
    home.close()
    figures = {"workers": workers, "files": len(files), "pages": pages, "seconds": round(seconds, 1),
               "pages_per_minute": round(pages * 60 / seconds, 1), "linked": statuses.get("linked", 0),
               "statuses": statuses}
    print(f"ingest with {workers} worker(s): {pages} pages in {seconds:.1f} s, "
          f"{figures['pages_per_minute']} pages/min, {figures['linked']} of {len(files)} scans linked, {statuses}",
          flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--households", type=int, default=30_000)
    parser.add_argument("--whoosh-documents", type=int, help="whoosh on an archive of this size (default: --documents)")
    parser.add_argument("--whoosh-households", type=int, help="households of whoosh's archive (default: in proportion)")
    parser.add_argument("--skip-whoosh", action="store_true", help="leave whoosh out (hours at a million documents)")
    parser.add_argument("--skip-postgresql", action="store_true",
                        help="leave PostgreSQL out (whoosh and ingest measured on their own)")
    parser.add_argument("--procs", type=int, default=2, help="whoosh writer processes on a full rebuild")
    parser.add_argument("--scans", type=int, default=12, help="one-page scans per ingest run")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to ingest with")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--catalog", choices=("postgresql", "sqlite"), default="postgresql",
                        help="where the PostgreSQL run's catalog is (a county: in the same PostgreSQL database)")
    parser.add_argument("--fts5-documents", type=int, default=0,
                        help="also the default embedded backend fts5 on an archive of this size (SQLite catalog)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build into DIR and keep it (the server's data folder, the homes, the query mixes)")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="the query phase only, on what --keep DIR built (no build, no rebuild)")
    parser.add_argument("--warm", action="store_true",
                        help="with --reuse: the mix once first (the server was just started), reported apart")
    args = parser.parse_args()

    from tests.servers import running_postgres, running_redis

    kept = args.keep or args.reuse
    if kept:
        kept = kept.resolve()
        kept.mkdir(parents=True, exist_ok=True)
        work = kept / "work"
        work.mkdir(exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="bench-county-"))
    if args.warm:
        os.environ["BENCH_WARM"] = "1"
    if args.reuse:  # what was kept: whoosh only if it was built there
        args.skip_ingest = True
        args.skip_whoosh = args.skip_whoosh or not (work / "whoosh" / "mix.json").exists()
    result: dict[str, object] = {"documents": args.documents, "households": args.households, "load_start": load(),
                                 "catalog": args.catalog, "reuse": bool(args.reuse)}
    print(f"load average at start: {result['load_start']}", flush=True)
    try:
        if args.skip_postgresql:
            result["postgresql"] = {"skipped": "--skip-postgresql"}
        else:
            server_dir = kept / "pg-server" if kept else None
            with running_postgres(SERVER, data_dir=server_dir, keep=bool(kept)) as server:
                if args.reuse:
                    url = server.url("county")
                    home, mix = work / "pg" / "home", work / "pg" / "mix.json"
                else:
                    url = server.create_database("county")
                    home, mix = archive_of(work / "pg", args.documents, args.households,
                                           url if args.catalog == "postgresql" else None)
                env = {URL_ENV: url}
                if args.catalog == "postgresql":
                    env[DATABASE_URL_ENV] = url  # the port of this start (config.yaml keeps the first)
                figures = measure(home, "postgresql", mix, args.procs, env, queries_only=bool(args.reuse))
                figures["server"] = SERVER
                figures["catalog"] = args.catalog
                show(figures)
                result["postgresql"] = figures
            if not kept:
                shutil.rmtree(work / "pg", ignore_errors=True)

        def embedded(backend: str, size: int, households: int) -> None:
            """An embedded backend beside PostgreSQL: built (or reused) and measured, kept with --keep."""
            if args.reuse:
                home, mix = work / backend / "home", work / backend / "mix.json"
            else:
                home, mix = archive_of(work / backend, size, households)
            figures = measure(home, backend, mix, args.procs, {index_backends.BACKEND_ENV: backend},
                              queries_only=bool(args.reuse))
            show(figures)
            result[backend] = figures
            if not kept:
                shutil.rmtree(work / backend, ignore_errors=True)

        if args.fts5_documents:
            size = args.fts5_documents
            households = args.households if size == args.documents else max(100, round(args.households * size / args.documents))
            embedded("fts5", size, households)
        if args.skip_whoosh:
            result["whoosh"] = {"skipped": "--skip-whoosh"}
        else:
            size = args.whoosh_documents or args.documents
            households = args.whoosh_households or max(100, round(args.households * size / args.documents))
            if size == args.documents:
                households = args.households
            embedded("whoosh", size, households)
        if not args.skip_ingest:
            files, source = scans(work, args.scans)
            with running_redis() as redis_server:
                result["ingest"] = [ingest_run(work, int(n), files, source, redis_server.url())
                                    for n in args.workers.split(",")]
        result["load_end"] = load()
        print(f"load average at end: {result['load_end']}", flush=True)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    finally:
        if not kept:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
