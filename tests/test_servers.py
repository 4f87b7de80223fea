"""The throwaway servers the county tests run against are real, private and go away again."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
import redis

from tests.servers import port_open, running_redis


def test_postgres_runs_unprivileged_on_loopback(postgres_server, postgres_url):
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT 1 + 1").fetchone()[0] == 2
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]
        # postgresql-contrib is installed (setup.sh): pg_trgm works on Chinese text. The search does not
        # use it (index/pg_backend.py writes its own bigram lexemes; names one character off: search/names.py)
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        assert conn.execute("SELECT similarity('张三丰', '张三峰') > 0").fetchone()[0] is True
    assert Path(data_dir).is_relative_to(postgres_server.data_dir)
    assert os.stat(data_dir).st_uid != 0  # PostgreSQL refuses to run as root; it does not


def test_postgres_databases_are_separate(postgres_server, postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int)")
    other = postgres_server.create_database("another_one")
    try:
        with psycopg.connect(other) as conn:
            assert conn.execute("SELECT to_regclass('t')").fetchone()[0] is None
    finally:
        postgres_server.drop_database("another_one")


def test_redis_keeps_nothing_and_stops(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.set("k", "v")
    assert client.get("k") == b"v"
    assert client.config_get("save")["save"] == ""
    assert client.config_get("appendonly")["appendonly"] == "no"
    client.close()
    with running_redis() as other:
        assert port_open(other.port)
        port = other.port
    assert not port_open(port)


def test_missing_server_fails_in_ci_and_skips_elsewhere(monkeypatch):
    from tests.servers import unavailable

    monkeypatch.setenv("CI", "true")
    try:
        unavailable("redis-server")
    except pytest.fail.Exception as exc:
        assert "redis-server" in str(exc)
    else:
        raise AssertionError("a missing server must fail the run in CI")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="redis-server"):
        unavailable("redis-server")
