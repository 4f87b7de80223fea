"""The web application under load: 10 simulated users on a home of 100,000 documents.

Run by hand:  PYTHONPATH=src .venv/bin/python bench/web.py [--documents 100000] [--users 10] [--seconds 30]

Builds the synthetic archive of bench/search.py (documents in the catalog and the full-text
index, without PDFs), starts `archive serve` in its own process, logs in one session per
simulated user and has each user alternate, for a fixed time, between a household page
(GET /households/{key}) and a search page (POST /search, a query from the search benchmark's mix).
Reports p50/p95 per page and pages rendered per second.

The peer: the same library calls (open_household_file, search) made directly from the same
number of threads in one process, without HTTP, templates or sessions: what the library alone
costs, so the difference is the web layer's share.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import build, pct, query_mix  # noqa: E402  (bench/search.py)

from archive.filing.household_file import open_household_file  # noqa: E402
from archive.home import Home  # noqa: E402
from archive.household_keys import keys_for  # noqa: E402
from archive.index import store  # noqa: E402
from archive.roster.households import list_households  # noqa: E402
from archive.search.engine import search  # noqa: E402
from archive.users import add_user  # noqa: E402

PASSWORD = "bench-口令-123456"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(root: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    process = subprocess.Popen([sys.executable, "-m", "archive", "--home", str(root), "serve", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("archive serve did not start")


def _in_threads(user, users: int) -> None:
    """Run `user(n)` for n in 0..users-1, each in its own thread, and wait for all."""
    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_users(base: str, users: int, seconds: float, keys: list[str], queries: list[str]) -> dict[str, list[float]]:
    import httpx

    timings: dict[str, list[float]] = {"household": [], "search": []}
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(users)

    def user(number: int) -> None:
        rng = random.Random(number)
        with httpx.Client(base_url=base, timeout=60) as client:
            client.get("/login")
            answer = client.post("/login", data={"username": f"bench{number}", "password": PASSWORD,
                                                 "csrftoken": client.cookies.get("csrftoken", "")})
            start.wait()  # every user waits here, logged in or not, so that none waits forever
            if answer.status_code not in (200, 303) or not client.cookies.get("archive_session"):
                errors.append(f"login {answer.status_code}: {answer.text[:200]}")
                return
            stop = time.monotonic() + seconds
            mine: dict[str, list[float]] = {"household": [], "search": []}
            while time.monotonic() < stop:
                kind = rng.choice(("household", "search"))
                began = time.perf_counter()
                if kind == "household":
                    response = client.get(f"/households/{rng.choice(keys)}")
                else:
                    response = client.post("/search", data={"q": rng.choice(queries),
                                                            "csrftoken": client.cookies.get("csrftoken", "")})
                elapsed = time.perf_counter() - began
                if response.status_code != 200:
                    errors.append(f"{kind} {response.status_code}")
                    continue
                mine[kind].append(elapsed)
        with lock:
            for kind, values in mine.items():
                timings[kind].extend(values)

    _in_threads(user, users)
    if errors:
        print(f"errors: {len(errors)} (first: {errors[0]})", flush=True)
    return timings


def run_peer(root: Path, users: int, seconds: float, households: list[str], queries: list[str]) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"household": [], "search": []}
    lock = threading.Lock()
    start = threading.Barrier(users)

    def user(number: int) -> None:
        rng = random.Random(number)
        home = Home(root)
        mine: dict[str, list[float]] = {"household": [], "search": []}
        try:
            start.wait()
            stop = time.monotonic() + seconds
            while time.monotonic() < stop:
                kind = rng.choice(("household", "search"))
                began = time.perf_counter()
                if kind == "household":
                    open_household_file(home, rng.choice(households))
                else:
                    search(home, rng.choice(queries))
                mine[kind].append(time.perf_counter() - began)
        finally:
            home.close()
        with lock:
            for kind, values in mine.items():
                timings[kind].extend(values)

    _in_threads(user, users)
    return timings


def summary(timings: dict[str, list[float]], seconds: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for kind, values in timings.items():
        out[f"{kind}_pages"] = len(values)
        out[f"{kind}_p50_ms"] = round(pct(values, 50), 1) if values else 0  # pct gives ms
        out[f"{kind}_p95_ms"] = round(pct(values, 95), 1) if values else 0
    out["pages_per_s"] = round(sum(len(v) for v in timings.values()) / seconds, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--home", type=Path, default=None,
                        help="keep the built archive in this folder and reuse it on the next run "
                             "(build it once outside the bench lock with --build-only, then time)")
    parser.add_argument("--build-only", action="store_true", help="build the archive in --home and stop")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    server = None
    try:
        root = args.home.resolve() if args.home else work / "home"
        if args.home and (root / "catalog.sqlite").exists():
            home = Home(root)
            people = list_households(home.db)
        else:
            home, people = build(root, args.documents, args.households)
            store.sync(home, full=True)
            for number in range(args.users):
                add_user(home, f"bench{number}", "inspector", PASSWORD)
        if args.build_only:
            home.close()
            return
        sampled = random.Random(5).sample(people, min(200, len(people)))
        households = [h.id for h in sampled]
        keys = list(keys_for(home.db, households).values())
        queries = [text for text, filters in query_mix(home, people, random.Random(9)) if not filters]
        home.close()
        port = free_port()
        server = start_server(root, port)
        web = summary(run_users(f"http://127.0.0.1:{port}", args.users, args.seconds, keys, queries), args.seconds)
        server.terminate()
        server.wait(timeout=30)
        server = None
        peer = summary(run_peer(root, args.users, args.seconds, households, queries), args.seconds)
        print(json.dumps({"documents": args.documents, "users": args.users, "seconds": args.seconds,
                          "web": web, "peer_library_only": peer}, ensure_ascii=False, indent=2))
    finally:
        if server is not None:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
