"""Signal processes safely: identity checked and signal sent through the same pidfd.

A PID is only a number; between checking "this is the node process from the snapshot" and
sending the signal, that process could exit and the number be reused. ``os.pidfd_open`` pins
the process itself: the identity is checked after the pidfd is open, and a signal sent through
it can only reach that process (or fail with ESRCH once it is gone). Without pidfd support the
identity is re-checked immediately before each ``os.kill``.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import psutil

from argus_cli.processes import process_names
from argus_cli.text import truncate

CREATE_TIME_TOLERANCE = 1.0  # seconds: /proc/stat btime may differ by one between readers
_HAS_PIDFD = hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


@dataclass
class Handle:
    pid: int
    name: str
    create_time: float
    pidfd: int | None


class Refused(Exception):
    """The process may not be signalled; the message says why."""


def acquire(pid: int, *, expected_create_time: float | None, allowed_names: Iterable[str] | None,
            protected: Collection[int]) -> Handle:
    """Open and identify ``pid``; raise Refused unless it is the process we mean to signal."""
    if pid in protected:
        raise Refused(f"PID {pid} is Argus itself or one of its ancestors")
    pidfd = _open_pidfd(pid)
    try:
        handle = _identify(pid, pidfd, expected_create_time, allowed_names)
        if not _alive(handle):  # the process checked above is the one the pidfd holds
            raise Refused(f"PID {pid} exited while it was being checked")
        return handle
    except BaseException:
        if pidfd is not None:
            os.close(pidfd)
        raise


def _open_pidfd(pid: int) -> int | None:
    if not _HAS_PIDFD:
        return None
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        raise Refused(f"PID {pid} does not exist") from None
    except OSError:  # ENOSYS on old kernels: fall back to checked os.kill
        return None


def _identify(pid: int, pidfd: int | None, expected: float | None, allowed: Iterable[str] | None) -> Handle:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            comm, created, status = proc.name(), proc.create_time(), proc.status()
            try:
                cmdline = proc.cmdline()
            except psutil.AccessDenied:
                cmdline = []
    except psutil.NoSuchProcess:
        raise Refused(f"PID {pid} does not exist") from None
    if status == psutil.STATUS_ZOMBIE:
        raise Refused(f"PID {pid} ({truncate(comm)}) has already exited (zombie)")
    if (leader := _thread_group(pid)) not in (pid, None):  # kill() on a thread id hits its whole process
        raise Refused(f"PID {pid} is a thread of process {leader}, not a process")
    if allowed is not None and not (names := process_names(comm, cmdline)) & set(allowed):
        raise Refused(f"PID {pid} is {truncate('/'.join(sorted(names)))}, not in ARGUS_KILL_ALLOWLIST")
    if expected is not None and abs(created - expected) > CREATE_TIME_TOLERANCE:
        raise Refused(f"PID {pid} was reused: started at {created:.2f}, the snapshot saw {expected:.6g}")
    return Handle(pid, comm, created, pidfd)


def _thread_group(pid: int) -> int | None:
    """The process (Tgid) that ``pid`` belongs to; /proc answers for thread ids too."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"Tgid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _alive(handle: Handle) -> bool:
    """Is the very process we identified still running (not exited)?"""
    if handle.pidfd is not None:
        return not _pidfd_exited(handle.pidfd, 0)
    try:
        proc = psutil.Process(handle.pid)
        same = abs(proc.create_time() - handle.create_time) <= CREATE_TIME_TOLERANCE
        return same and bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _pidfd_exited(pidfd: int, timeout_ms: int) -> bool:
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(timeout_ms))


def send(handle: Handle, sig: int) -> bool:
    """Signal exactly this process; False when it is already gone."""
    try:
        if handle.pidfd is not None:
            signal.pidfd_send_signal(handle.pidfd, sig)
        elif _alive(handle):  # no pidfd: re-check identity right before the signal
            os.kill(handle.pid, sig)
        else:
            return False
    except ProcessLookupError:
        return False
    return True


def release(handle: Handle) -> None:
    if handle.pidfd is not None:
        with contextlib.suppress(OSError):
            os.close(handle.pidfd)
        handle.pidfd = None


def wait_gone(handles: list[Handle], timeout: float, sleep: Callable[[float], None] = time.sleep,
              interval: float = 0.05) -> list[Handle]:
    """Wait up to ``timeout`` s for the processes to exit; return those still running."""
    deadline = time.monotonic() + timeout
    alive = [h for h in handles if _alive(h)]
    while alive and time.monotonic() < deadline:
        sleep(interval)
        alive = [h for h in alive if _alive(h)]
    return alive


def terminate(handles: list[Handle], grace: float, sleep: Callable[[float], None] = time.sleep) -> dict[int, str]:
    """SIGTERM, then SIGKILL after ``grace`` s for those still running. pid -> how it ended."""
    ended = {h.pid: "SIGTERM" if send(h, signal.SIGTERM) else "gone" for h in handles}
    for handle in wait_gone(handles, grace, sleep):
        ended[handle.pid] = "SIGKILL" if send(handle, signal.SIGKILL) else ended[handle.pid]
    for handle in wait_gone(handles, 2.0, sleep):
        ended[handle.pid] = "survived"
    return ended
