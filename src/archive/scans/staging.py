"""A run's private copy of each input, inside the archive home.

The digest of a scan is computed from the very bytes copied into the home, and those bytes are
what gets processed and stored (a file renamed into place, never copied a second time): a scan
still being written can never be registered under one digest while other bytes are filed.

Each run works in its own folder `.ingest/run-PID-N/`, holding a lock on it; a later run removes
the folders of runs that are gone (killed), so no copy is left behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from archive import files
from archive.scans.inbox import Entry, look

_BLOCK = 1 << 20


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, files.PRIVATE_FILE)


class StillChanging(Exception):
    """The source moved while it was copied."""


class NotARegularFile(Exception):
    """The source is a link or a special file (checked again on the open file itself)."""


def _file_lock(name: str, path: Path):
    return files.try_lock(path)


class StagingArea:
    def __init__(self, root: Path, try_lock=_file_lock) -> None:
        """`try_lock(name, lock file)`: files.try_lock by default; archive.locks.Locker.try_lock
        beside a PostgreSQL catalog (another machine's live run is seen there, not in a lock file)."""
        self.base = root / ".ingest"
        files.ensure_dir(self.base)
        self._try_lock = try_lock
        self.removed = remove_stale(self.base, try_lock)
        # made under another name and renamed once locked: a run's folder is never taken for stale
        making = Path(tempfile.mkdtemp(prefix="making-", dir=self.base))
        self.folder = self.base / f"run-{making.name.removeprefix('making-')}"
        lock = try_lock(f"staging:{self.folder.name}", making / ".lock")  # a new folder: nobody else can hold it
        assert lock is not None, "a fresh staging folder's lock was taken"
        self._lock = lock
        os.replace(making, self.folder)
        self._count = 0

    def stage(self, entry: Entry) -> tuple[Path, str]:
        """Copy the source (never through a link) and return (staged file, SHA-256 of its bytes)."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(entry.path, flags)
        except OSError as exc:
            if exc.errno in (40, 6):  # ELOOP: a link appeared; ENXIO: a socket or pipe
                raise NotARegularFile() from None
            raise
        self._count += 1
        suffix = entry.path.suffix.lower() if entry.path.suffix.isascii() else ""
        target = self.folder / f"{self._count:05d}{suffix[:12]}"
        digest = hashlib.sha256()
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise NotARegularFile()
            with os.fdopen(fd, "rb", closefd=False) as source, open(target, "wb", opener=_private) as out:
                for block in iter(lambda: source.read(_BLOCK), b""):
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            after = os.fstat(fd)
        finally:
            os.close(fd)
        try:
            now = look(entry.path.lstat())
        except FileNotFoundError:
            now = None
        if look(st) != entry.look or look(after) != entry.look or now != entry.look:
            target.unlink(missing_ok=True)
            raise StillChanging()
        return target, digest.hexdigest()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self._lock.release()


def remove_stale(base: Path, try_lock=_file_lock) -> int:
    """Remove the folders of runs that are no longer running (their lock is free)."""
    removed = 0
    for folder in sorted(base.glob("run-*")):
        try:
            lock = try_lock(f"staging:{folder.name}", folder / ".lock")
        except OSError:
            continue
        if lock is None:
            continue  # a live run
        removed += sum(1 for p in folder.iterdir() if p.name != ".lock")
        shutil.rmtree(folder, ignore_errors=True)
        lock.release()
    return removed
