"""Setting up a county deployment by following docs/COUNTY.md (issue #15, a new user's walk
through it): a refused PostgreSQL schema leaves nothing behind, an index never writes into another
home's catalog schema, an inspector who opens another township's household works in it, and the
user list shows which accounts are county-wide."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
import pytest
from conftest import run_cli
from starlette.testclient import TestClient
from webfixtures import PASSWORD, login

from archive import sample
from archive.errors import ExitCode

MONTH = dt.date(2025, 7, 1)


def _cli(root: Path, *args: str, township: str | None = None, input: str | None = None):
    prefix = ["--home", str(root)] + (["--township", township] if township else [])
    return run_cli(*prefix, *args, input=input)


def _add(root: Path, name: str, fonds: str) -> object:
    return _cli(root, "township", "add", name, "--county", "花溪区", "--fonds", fonds,
                "--villages", ",".join(sample.VILLAGES), "--operator", "王敏")


# --- PostgreSQL ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_township_refused_for_its_schema_can_be_added_again(tmp_path, postgres_url, monkeypatch):
    """`township add` on a database where the schema archive_z109 is taken is refused and leaves no
    half-made township folder, so that once the schema is free the same command works."""
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    other = _cli(tmp_path / "另一个档案库", "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                 "--villages", "龙井村", "--operator", "王敏", input="\n\n\n")
    assert other.exit_code == 0, other.output
    root = tmp_path / "花溪区"
    refused = _add(root, "青岩镇", "Z109")
    assert refused.exit_code == ExitCode.BAD_INPUT and "已经有" in refused.stderr, refused.output
    assert not (root / "townships" / "青岩镇").exists()
    assert "全宗号" in refused.stderr  # the hint says why the schema is taken
    with psycopg.connect(postgres_url) as conn:
        conn.execute("DROP SCHEMA archive_z109 CASCADE")
    again = _add(root, "青岩镇", "Z109")
    assert again.exit_code == 0, again.output
    assert (root / "townships" / "青岩镇" / "config.yaml").exists()


@pytest.mark.slow
def test_an_index_does_not_write_into_another_homes_catalog_schema(tmp_path, postgres_url, monkeypatch):
    """A SQLite home whose index is in PostgreSQL defaults to the schema archive_ + 全宗号: when
    that schema holds another home's catalog (the same 全宗号), reindex is refused and nothing is
    written there; with its own index.schema it works."""
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", postgres_url)
    county_home = tmp_path / "pg"
    made = _cli(county_home, "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                "--villages", "龙井村", "--operator", "王敏", input="\n\n\n")
    assert made.exit_code == 0, made.output
    monkeypatch.delenv("ARCHIVE_DATABASE_URL")
    local = tmp_path / "sqlite"
    made = _cli(local, "init", "--township", "青岩镇", "--county", "花溪区", "--fonds", "Z109",
                "--villages", "龙井村", "--operator", "王敏", input="\n\n\n")
    assert made.exit_code == 0, made.output
    monkeypatch.setenv("ARCHIVE_INDEX_BACKEND", "postgresql")
    monkeypatch.setenv("ARCHIVE_INDEX_URL", postgres_url)
    refused = _cli(local, "reindex")
    assert refused.exit_code == ExitCode.BAD_INPUT, refused.output
    assert "另一个档案库的目录数据库" in refused.stderr and "index:" in refused.stderr
    with psycopg.connect(postgres_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='archive_z109'")}
    assert "documents" in tables and "docs" not in tables  # the other home's schema is untouched
    # the PostgreSQL catalog's own index still goes beside it
    monkeypatch.delenv("ARCHIVE_INDEX_URL")
    assert _cli(county_home, "reindex").exit_code == 0
    monkeypatch.setenv("ARCHIVE_INDEX_URL", postgres_url)
    config = local / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "index:\n  schema: archive_z109_local\n", encoding="utf-8")
    done = _cli(local, "reindex", "--json")
    assert done.exit_code == 0, done.output


# --- the web application ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def county(tmp_path_factory):
    folder = tmp_path_factory.mktemp("county")
    root = folder / "花溪区"
    heads = {}
    for name, fonds, seed in (("青岩镇", "Z109", 3), ("黔陶乡", "Z110", 5)):
        assert _add(root, name, fonds).exit_code == 0
        households = sample.make_township(6, MONTH, seed=seed)
        path = sample.write_roster_csv(households, folder / f"{name}.csv")
        path.write_text(path.read_text(encoding="utf-8-sig").replace(sample.TOWNSHIP, name), encoding="utf-8")
        imported = _cli(root, "roster", "import", str(path), township=name)
        assert imported.exit_code == 0, imported.output
        heads[name] = households[0].head
    for args in (("督查甲", "--role", "inspector"), ("经办人青岩", "--role", "caseworker", "--township", "青岩镇")):
        added = _cli(root, "user", "add", *args, "--password-stdin", input=PASSWORD + "\n")
        assert added.exit_code == 0, added.output
    return root, heads


def test_an_inspector_who_opens_another_townships_household_works_in_that_township(county):
    from archive.web import create_app

    root, heads = county
    inspector = TestClient(create_app(root))
    assert login(inspector, "督查甲").status_code == 303
    assert heads["青岩镇"].name in inspector.get("/households").text  # the first township until one is picked
    found = inspector.get("/api/search", params={"q": heads["黔陶乡"].name}).json()
    key = next(h["household_key"] for h in found["households"] if h["household"] == heads["黔陶乡"].id_number)
    page = inspector.get(f"/households/{key}")
    assert page.status_code == 200 and heads["黔陶乡"].name in page.text
    listed = inspector.get("/households").text
    assert heads["黔陶乡"].name in listed and heads["青岩镇"].name not in listed


def test_the_user_list_of_a_county_says_which_accounts_are_county_wide(county):
    root, _ = county
    listed = _cli(root, "user", "list")
    assert listed.exit_code == 0
    lines = {line.split()[0]: line.split() for line in listed.stdout.splitlines()}
    assert lines["督查甲"][:3] == ["督查甲", "督查", "全县"]
    assert lines["经办人青岩"][:3] == ["经办人青岩", "经办人", "青岩镇"]


# --- the sample deployment files ----------------------------------------------------------------

def test_the_sample_redis_settings_start_redis(tmp_path):
    """deploy/redis-archive.conf is appended to /etc/redis/redis.conf as docs/COUNTY.md says:
    Redis must accept every line of it (a comment after a setting stops the server)."""
    import shutil
    import socket
    import subprocess
    import time

    from servers import free_port, unavailable

    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server")
    sample_conf = (Path(__file__).parent.parent / "deploy" / "redis-archive.conf").read_text(encoding="utf-8")
    port = free_port()
    conf = tmp_path / "redis.conf"
    # the county's private address is not on this machine; everything else as written
    conf.write_text(sample_conf.replace("bind 127.0.0.1 10.0.0.1", "bind 127.0.0.1")
                    + f"\nport {port}\ndir {tmp_path}\ndaemonize no\n", encoding="utf-8")
    process = subprocess.Popen([binary, str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        answer = b""
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"AUTH CHANGE-ME\r\nCONFIG GET maxmemory-policy\r\n")
                    time.sleep(0.2)
                    answer = sock.recv(1024)
                    break
            except OSError:
                time.sleep(0.1)
        assert process.poll() is None, process.stdout.read().decode(errors="replace")
        assert answer.startswith(b"+OK") and b"noeviction" in answer, answer
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_missing_office_setting_names_the_townships_own_config_file(county):
    """`township add` asks for no office phone: the error names the township's config.yaml (a
    county home has one per township besides its own)."""
    root, _ = county
    made = _cli(root, "generate", "standing-publicity", "--village", sample.VILLAGES[0], township="黔陶乡")
    assert made.exit_code == ExitCode.BAD_INPUT, made.output
    assert "complaint_phone" in made.stderr
    assert str(root / "townships" / "黔陶乡" / "config.yaml") in made.stderr
