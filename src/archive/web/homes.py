"""One archive-home object per worker thread: SQLite connections belong to the thread that
opened them, and each Home keeps its own connection, configuration and index searcher."""

from __future__ import annotations

import threading
from pathlib import Path

from archive.home import Home


class HomePool:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()
        self._all: list[Home] = []
        self._lock = threading.Lock()

    def get(self) -> Home:
        home = getattr(self._local, "home", None)
        if home is None:
            home = Home(self.root)
            self._local.home = home
            with self._lock:
                self._all.append(home)
        return home

    def close(self) -> None:
        with self._lock:
            homes, self._all = self._all, []
        for home in homes:
            try:
                home.close()
            except Exception:  # a connection of another thread: the process is ending anyway
                pass
