from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import sample
from archive.cli import cli
from archive.config import Config
from archive.home import Home, init_home
from archive.index import backend as index_backends
from archive.roster.importer import import_roster
from tests.servers import postgres_server, postgres_url, redis_server, redis_url  # noqa: F401 (fixtures)

MONTH = dt.date(2025, 7, 1)


# the catalog backends a test marked pg_catalog (or a module with PG_CATALOG = True) runs on;
# the PostgreSQL run is slow (a throwaway server and a database per test)
CATALOG_BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)]


def pytest_generate_tests(metafunc) -> None:
    wanted = getattr(metafunc.module, "PG_CATALOG", False) or metafunc.definition.get_closest_marker("pg_catalog")
    if wanted and "catalog_backend" in metafunc.fixturenames:
        metafunc.parametrize("catalog_backend", CATALOG_BACKENDS, indirect=True)


@pytest.fixture
def catalog_backend(request, monkeypatch) -> str:
    """'sqlite' (the default), or 'postgresql': ARCHIVE_DATABASE_URL names a fresh database on the
    session's throwaway server, so init puts the catalog (and the index, by default) there."""
    name = getattr(request, "param", os.environ.get("ARCHIVE_TEST_CATALOG") or "sqlite")  # by hand: any module on PG
    monkeypatch.delenv("ARCHIVE_DATABASE_URL", raising=False)
    if name == "postgresql":
        monkeypatch.setenv("ARCHIVE_DATABASE_URL", request.getfixturevalue("postgres_url"))
    return name


@pytest.fixture(params=index_backends.names())
def index_backend(request, monkeypatch) -> str:
    """Run a test once per registered index backend (tests/test_search*.py use it for all tests)."""
    monkeypatch.setenv(index_backends.BACKEND_ENV, request.param)
    if request.param == "postgresql":  # a fresh database on the session's throwaway server
        monkeypatch.setenv("ARCHIVE_INDEX_URL", request.getfixturevalue("postgres_url"))
    return request.param


def run_cli(*args: str, input: str | None = None):
    """Invoke the CLI in-process; returns the click Result (exit_code, output, stderr)."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def township():
    """A small synthetic township (40 assisted households, 4 applicants)."""
    return sample.make_township(40, MONTH, seed=3)


@pytest.fixture
def home(tmp_path: Path, township, catalog_backend) -> Home:
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES),
                    complaint_phone="0851-83200000", office_phone="0851-83200001")
    home = init_home(tmp_path / "home", config)
    roster = sample.write_roster_xlsx(township, tmp_path / "roster.xlsx")
    import_roster(home.db, roster, home.config, "tester")
    assert (home.catalog_target is not None) == (catalog_backend == "postgresql")
    yield home
    home.close()


@pytest.fixture
def head_id(township) -> str:
    """The 户主 ID of an assisted 低保 household with at least two members."""
    for household in township:
        if household.status == "在保" and household.category == "低保" and len(household.members) >= 2:
            return household.head.id_number
    raise AssertionError("sample has no suitable household")


@pytest.fixture(scope="module")
def web(tmp_path_factory, request):
    """The web tests' small home (tests/webfixtures.py), one per test module."""
    from webfixtures import make_web_home

    return make_web_home(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))


@pytest.fixture(scope="module")
def app(web):
    """The web application over the module's home."""
    from archive.web import create_app

    return create_app(web.root)
