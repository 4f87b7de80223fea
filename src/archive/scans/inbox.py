"""What is in the inbox: every entry, looked at without following links or opening anything.

Every entry is reported: regular files are ingested; hidden files (names starting with `.`,
often a scanner's or an editor's temporary file) are listed as ignored; symbolic links are
refused (a link to /etc/passwd or to someone's scan elsewhere is never read); other kinds
(pipes, devices, sockets) are refused too, since opening one could block forever.
A file still being written (its size or modification time moves while we look) waits for the
next run.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Entry:
    path: Path
    kind: str                    # file / hidden / symlink / special
    look: tuple[int, int, int] = (0, 0, 0)   # (size, mtime_ns, inode) at the first look

    @property
    def mtime(self) -> float:
        return self.look[1] / 1e9


def look(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _entry(path: Path, st: os.stat_result) -> Entry:
    if stat.S_ISLNK(st.st_mode):
        return Entry(path, "symlink")
    if path.name.startswith("."):
        return Entry(path, "hidden", look(st))
    if not stat.S_ISREG(st.st_mode):
        return Entry(path, "special")
    return Entry(path, "file", look(st))


def collect_entries(paths: Iterable[Path]) -> list[Entry]:
    """Every entry under the given folders (sorted, links not followed) and the given files."""
    found: list[Entry] = []
    for path in paths:
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode) or (stat.S_ISLNK(st.st_mode) and path.is_dir()):
            found += _walk(path)  # the folder given (the inbox may be a link to a share); links inside are not followed
        else:
            found.append(_entry(path, st))
    return found


def _walk(folder: Path) -> list[Entry]:
    found: list[Entry] = []
    try:
        with os.scandir(folder) as scan:
            items = sorted(scan, key=lambda item: os.fsencode(item.name))
    except OSError:
        return found
    for item in items:
        path = folder / item.name
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode):
            if item.name.startswith("."):
                found.append(Entry(path, "hidden", look(st)))
            else:
                found += _walk(path)
            continue
        found.append(_entry(path, st))
    return found


def still_changing(entries: list[Entry], settle_seconds: float) -> set[Path]:
    """Files modified within the last `settle_seconds`: look again once that time has passed;
    those whose size, modification time or inode moved are still being written."""
    if settle_seconds <= 0:
        return set()
    now = time.time()
    recent = [e for e in entries if e.kind == "file" and now - e.mtime < settle_seconds]
    if not recent:
        return set()
    youngest = max(e.mtime for e in recent)
    time.sleep(max(0.0, min(settle_seconds, youngest + settle_seconds - time.time())))
    changing: set[Path] = set()
    for entry in recent:
        try:
            if look(entry.path.lstat()) != entry.look:
                changing.add(entry.path)
        except FileNotFoundError:
            changing.add(entry.path)
    return changing
