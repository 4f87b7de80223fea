"""One archive-home object per worker thread: SQLite connections belong to the thread that
opened them, and each Home keeps its own connection, configuration and index searcher.

A county home (archive.county) is served by one application: the accounts are in the county's
catalog (`accounts`), and each township's home is opened in a thread when a request needs it
(`get(township)`)."""

from __future__ import annotations

import threading
from pathlib import Path

from archive.county import CountyHome, is_county_root
from archive.home import Home


class HomePool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.county = is_county_root(root)
        self._local = threading.local()
        self._all: list[Home] = []
        self._lock = threading.Lock()

    def _homes(self) -> dict[str | None, Home]:
        homes = getattr(self._local, "homes", None)
        if homes is None:
            homes = self._local.homes = {}
        return homes

    def _open(self, key: str | None, make) -> Home:
        homes = self._homes()
        home = homes.get(key)
        if home is None:
            home = homes[key] = make()
            with self._lock:
                self._all.append(home)
        return home

    def accounts(self) -> Home:
        """Where the accounts are: the county's own catalog, or the one township home."""
        return self._open(None, lambda: CountyHome(self.root) if self.county else Home(self.root))

    def townships(self) -> list[str]:
        """A county's townships in its order; [] otherwise."""
        if not self.county:
            return []
        county = self.accounts()
        assert isinstance(county, CountyHome)
        return county.townships

    def get(self, township: str | None = None) -> Home:
        """The home of this thread: the township home, or for a county the named township's."""
        if not self.county:
            return self.accounts()
        if township is None:
            raise ValueError("a county home needs a township")
        county = self.accounts()
        assert isinstance(county, CountyHome)
        name = county.find_township(township) if township in county.townships else self._reload(township)
        return self._open(name, lambda: Home(county.township_root(name)))

    def _reload(self, township: str) -> str:
        county = self.accounts()
        county.__dict__.pop("config", None)  # a township added since: read config.yaml again
        assert isinstance(county, CountyHome)
        return county.find_township(township)

    def close(self) -> None:
        with self._lock:
            homes, self._all = self._all, []
        for home in homes:
            try:
                home.close()
            except Exception:  # a connection of another thread: the process is ending anyway
                pass
