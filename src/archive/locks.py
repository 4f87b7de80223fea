"""Named locks of one archive home, taken without waiting, held until released or the process ends.

With the catalog in SQLite (one machine) they are lock files (files.try_lock). With the catalog in
PostgreSQL (a county deployment: several machines share the home's files) a lock file proves
nothing on another machine, so they are PostgreSQL session-level advisory locks in the catalog's
database instead, keyed by the catalog schema and the lock's name: two machines cannot run the
same job, and a lock is released when its holder disconnects (a killed process, a lost machine).

A `Locker` is one holder: one PostgreSQL connection (opened on first use) for all the locks it
takes. Locks are not re-entrant across lockers; one locker asked twice for the same name gets it
twice (callers keep their own set, as ingest does).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from archive import files

if TYPE_CHECKING:
    from archive.home import Home


class Lock(Protocol):
    def release(self) -> None: ...


def advisory_key(schema: str, name: str) -> int:
    """The advisory lock key (signed 64-bit) of lock `name` of the catalog in `schema`."""
    digest = hashlib.blake2b(f"archive-lock:{schema}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _AdvisoryLock:
    def __init__(self, locker: Locker, key: int) -> None:
        self._locker, self._key, self._held = locker, key, True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._locker._unlock(self._key)


class Locker:
    def __init__(self, home: Home) -> None:
        self.target = home.catalog_target
        self._conn: Any = None

    @property
    def shared(self) -> bool:
        """True when the locks are database locks (seen by every machine of the deployment)."""
        return self.target is not None

    def try_lock(self, name: str, path: Path) -> Lock | None:
        """Lock `name` (on SQLite: the lock file `path`); None when another holder has it."""
        if self.target is None:
            return files.try_lock(path)
        from archive.pgconn import open_psycopg

        if self._conn is None or self._conn.closed:
            self._conn = open_psycopg(self.target[0], autocommit=True)
        key = advisory_key(self.target[1], name)
        if not self._conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            return None
        return _AdvisoryLock(self, key)

    def _unlock(self, key: int) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def close(self) -> None:
        """Release every lock still held (PostgreSQL: by disconnecting)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
