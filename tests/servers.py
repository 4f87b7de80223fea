"""Real PostgreSQL and Redis servers for the tests: throwaway instances on the loopback address.

Each server is started once per test session (the `postgres_server` and `redis_server`
fixtures, made available in conftest.py) with its data in a fresh temporary folder, listening on
127.0.0.1 on a free port, and stopped and removed after the session. Nothing is mocked.

- PostgreSQL runs as an unprivileged OS user (it refuses root): when the tests run as root (CI
  does), as the `postgres` user the Debian package creates (or `nobody`), via runuser. The
  binaries are found under /usr/lib/postgresql/*/bin (Debian's layout) or on PATH.
- Redis keeps nothing on disk (no RDB snapshots, no AOF).

When a server's binaries are missing the tests that need it are skipped with the reason, except
in CI (environment CI=true), where a missing server fails: scripts/setup.sh installs them when
ARCHIVE_SETUP_TESTS=1.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT = 60.0


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def unavailable(what: str) -> None:
    """Skip (on a developer's machine) or fail (in CI) for a missing server."""
    message = (f"{what} is not installed; run ARCHIVE_SETUP_TESTS=1 bash scripts/setup.sh "
               "(installs postgresql, postgresql-contrib and redis-server from Debian)")
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- PostgreSQL ------------------------------------------------------------------------------

def postgres_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: the newest /usr/lib/postgresql/N/bin,
    else wherever initdb is on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _server_user() -> str | None:
    """The OS user to run PostgreSQL as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and there is no unprivileged user (postgres or nobody) to run PostgreSQL as")


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str      # the database superuser (trust authentication on loopback only)
    data_dir: Path

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def running_postgres(settings: dict[str, str] | None = None, data_dir: Path | None = None,
                     keep: bool = False) -> Iterator[PostgresServer]:
    """initdb into a temporary folder, start on 127.0.0.1:<free port>, yield, stop and remove.
    `settings`: server settings (-c name=value) after the test defaults, which they override
    (bench/county.py: durable writes and larger memory, as a county server has).
    `data_dir`: that folder instead of a temporary one; a server already initialised there (its
    data/PG_VERSION) is started as it is. `keep`: stop cleanly and leave the folder (bench/county.py
    --keep/--reuse: a 1,000,000-document index is built once and queried many times)."""
    bindir = postgres_bin()
    if bindir is None:
        unavailable("PostgreSQL (initdb, pg_ctl)")
    os_user = _server_user()
    # not under pytest's tmp_path: that is private to root, and the server user must reach it
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="archive-pg-"))
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
    prefix: list[str] = []
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
        prefix = ["runuser", "-u", os_user, "--"]
    pgdata = data_dir / "data"
    db_user = "archive"

    def run(*args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess:
        # cwd: runuser keeps ours, which the server user may not be allowed to enter
        return subprocess.run([*prefix, *args], cwd=data_dir, capture_output=True, text=True, timeout=timeout)

    try:
        if not (pgdata / "PG_VERSION").exists():
            done = run(str(bindir / "initdb"), "-D", str(pgdata), "-U", db_user, "--auth=trust",
                       "--encoding=UTF8", "--lc-collate=C", "--lc-ctype=C.UTF-8", "--lc-messages=C",
                       "--no-sync")
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        port = 0
        for _ in range(5):  # a free port may be taken between choosing and binding it
            port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={data_dir} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
            options += "".join(f" -c {name}={value}" for name, value in (settings or {}).items())
            done = run(str(bindir / "pg_ctl"), "-D", str(pgdata), "-o", options, "-l", str(data_dir / "server.log"),
                       "-w", "-t", str(int(START_TIMEOUT)), "start")
            if done.returncode == 0:
                break
        else:
            log = (data_dir / "server.log").read_text(errors="replace") if (data_dir / "server.log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr or done.stdout}\n{log[-2000:]}")
        try:
            yield PostgresServer("127.0.0.1", port, db_user, data_dir)
        finally:
            if keep:  # a clean shutdown (its checkpoint may take a while after a large build)
                run(str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", "900", "stop", timeout=960)
            else:
                run(str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "-w", "stop")
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


# --- Redis -----------------------------------------------------------------------------------

@dataclass
class RedisServer:
    host: str
    port: int
    process: subprocess.Popen

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def running_redis() -> Iterator[RedisServer]:
    """redis-server on 127.0.0.1:<free port>, nothing persisted; stopped after."""
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if binary is None:
        unavailable("redis-server")
    work = Path(tempfile.mkdtemp(prefix="archive-redis-"))
    try:
        for _ in range(5):
            port = free_port()
            process = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                 "--dir", str(work), "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and process.poll() is None and not _redis_ping(port):
                time.sleep(0.05)
            if process.poll() is None and _redis_ping(port):
                break
            process.kill()
            process.wait()
        else:
            raise RuntimeError(f"redis-server did not start: {process.stderr.read().decode(errors='replace')}")
        try:
            yield RedisServer("127.0.0.1", port, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stderr.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- fixtures (imported by conftest.py) ------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request) -> Iterator[str]:
    """A fresh empty database on the session's server, dropped after the test."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40] + f"_{os.getpid()}"
    postgres_server.drop_database(name)
    yield postgres_server.create_database(name)
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server.url())
    client.flushall()
    client.close()
    return redis_server.url()
