"""The one-cycle-at-a-time lock: ``flock`` on a file, released by the kernel if we die.

The lock file is opened without following a symlink: acquiring truncates it and writes our pid,
and a link planted in its place must not make that truncate a file elsewhere. A symlink is
refused (NotRegularFile, an OSError); a directory or FIFO in its place is moved aside. A lock
that cannot be opened for want of permission (or on a read-only filesystem) raises that OSError
with the likely fix in its message, for the one line the caller prints.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from argus_cli.state.files import PRIVATE_DIR_MODE, create_state_file


class LockBusy(RuntimeError):
    """Another process holds the lock."""


class FileLock:
    """Non-blocking exclusive lock. Use as a context manager; raises LockBusy when held."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
            fd = create_state_file(self.path, os.O_RDWR, 0o644, refuse_symlink=True)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            from argus_cli.state.directory import fix_hint
            raise type(exc)(exc.errno, f"{exc.strerror}: {fix_hint(exc.errno)}", exc.filename) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockBusy(f"{self.path} is held by another argus process") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


@contextlib.contextmanager
def waiting(path: Path, seconds: float = 5.0, poll: float = 0.05) -> Iterator[FileLock]:
    """Hold the lock at ``path``, waiting up to ``seconds`` for it: for a file a cycle and an
    operator's command both edit, each for milliseconds. Still busy after that: LockBusy."""
    lock = FileLock(path)
    deadline = time.monotonic() + seconds
    while True:
        try:
            lock.acquire()
            break
        except LockBusy:
            if time.monotonic() >= deadline:
                raise LockBusy(f"{path} stayed held by another argus process for {seconds:g} s; try again") from None
            time.sleep(poll)
    try:
        yield lock
    finally:
        lock.release()
