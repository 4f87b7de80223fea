"""Writing files inside the archive home: atomically (temporary name, fsync, rename) and private.

The home holds personal data (names, ID numbers, incomes), so its folders are 0700 and its files
0600 whatever the process umask is; `private_umask` covers what third-party code writes (SQLite's
journal, the whoosh index) and the CLI runs every command under it."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from filelock import BaseFileLock, FileLock, Timeout

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def ensure_dir(path: Path) -> Path:
    """Create `path` and any missing parents as private folders (existing ones are left alone)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # another process made it first
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is filtered by the umask; make it exact
    return path


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _open_private(tmp: Path) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # a left-over temporary file of a killed run keeps its old mode otherwise
    return fd


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class OutputExists(FileExistsError):
    """The target of a write that must not overwrite exists already."""


@contextlib.contextmanager
def atomic_output(path: Path, *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """A binary handle whose content becomes `path` (mode 0600) when the block ends without error.
    With overwrite=False an existing `path` is never replaced (checked before and, race-free, at
    the end by a hard link) and OutputExists is raised."""
    if not overwrite and os.path.lexists(path):
        raise OutputExists(str(path))
    ensure_dir(path.parent)
    tmp = _tmp_path(path)
    fd = _open_private(tmp)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExists(str(path)) from None
            tmp.unlink()
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Write `data` to `path` (mode 0600): a crash leaves the old file or the new one, never half."""
    with atomic_output(path, overwrite=overwrite) as handle:
        handle.write(data)


def refuse_existing(path: Path) -> None:
    """Raise the Chinese refusal for an output file that exists and may not be overwritten."""
    from archive.errors import ConflictError

    raise ConflictError(f"输出文件已存在：{path}，不会覆盖", hint="请换一个文件名，或加 --force 覆盖原文件")


def check_output(path: Path, force: bool, suffix: str | None = None) -> None:
    """Refuse early (before any work) to overwrite `path` unless `force`, or to give a file of
    type `suffix` (e.g. ".pdf") another extension, which makes other software call it corrupt."""
    if suffix and Path(path).suffix.lower() != suffix:
        from archive.errors import ArchiveError

        raise ArchiveError(f"输出文件 {path} 的扩展名应为 {suffix}（写出的是 {suffix[1:].upper()} 文件）",
                           hint=f"请换一个以 {suffix} 结尾的文件名")
    if not force and os.path.lexists(path):
        refuse_existing(path)


def write_new(path: Path, data: bytes, *, force: bool = False) -> None:
    """write_atomic for a user-named output: refuses an existing file unless `force`."""
    try:
        write_atomic(path, data, overwrite=force)
    except OutputExists:
        refuse_existing(path)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))


def copy_atomic(source: Path, target: Path) -> None:
    """Copy `source` to `target` (mode 0600) the same way; the source is only read."""
    ensure_dir(target.parent)
    tmp = _tmp_path(target)
    fd = _open_private(tmp)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)


def move_into(source: Path, target: Path) -> None:
    """Rename `source` to `target` within one file system and make it private (a scan dropped in
    the inbox keeps the scanner's mode otherwise)."""
    ensure_dir(target.parent)
    os.replace(source, target)
    os.chmod(target, PRIVATE_FILE)
    fsync_dir(target.parent)


def make_private(path: Path) -> None:
    """Folders 0700, files 0600, for `path` and everything under it (symlinks are not followed)."""
    if path.is_symlink():
        return
    if path.is_dir():
        os.chmod(path, PRIVATE_DIR)
        for folder, dirs, names in os.walk(path):
            for name in dirs:
                child = Path(folder) / name
                if not child.is_symlink():
                    os.chmod(child, PRIVATE_DIR)
            for name in names:
                child = Path(folder) / name
                if not child.is_symlink():
                    os.chmod(child, PRIVATE_FILE)
    elif path.exists():
        os.chmod(path, PRIVATE_FILE)


def create_private_file(path: Path) -> None:
    """Create an empty 0600 file if it does not exist (before SQLite opens it: its journal and
    WAL files take the database file's mode)."""
    ensure_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(fd)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Run a block with umask 077, so files third-party code creates are private too."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def try_lock(path: Path) -> BaseFileLock | None:
    """Take the lock file `path` for this process without waiting (the `filelock` package: flock
    on POSIX, msvcrt on Windows); None when another process holds it. `release()` frees it, as
    does the process ending."""
    lock = FileLock(str(path), mode=PRIVATE_FILE, thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    return lock
