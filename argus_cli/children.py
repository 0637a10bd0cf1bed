"""The one way Argus runs a child process: systemctl, tmux, bd and relay all go through ``run_tool``.

A leaf (stdlib, ``redaction`` and ``text`` only), so collectors, actions, notify and the doctor can share it
without importing one another. Every way a child can misbehave (missing, unstartable, hanging,
flooding its pipes) becomes a ``ToolRun`` value, never an exception: a cycle must go on.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from argus_cli.redaction import child_env
from argus_cli.text import one_line

MAX_OUTPUT = 1 << 20  # a tool printing megabytes is garbage; we keep the first MiB of each stream
_REAP_SECONDS = 2  # after SIGKILL to the group; only a stuck kernel wait could take longer
_CHUNK = 64 * 1024

# Why a child did not run to completion; None in ``ToolRun.failure`` means it exited on its own.
NOT_FOUND = "not found"
NOT_STARTED = "could not start"
TIMED_OUT = "timed out"


@dataclass(frozen=True)
class ToolRun:
    """Outcome of one external command. ``error`` says in words why it did not run to completion,
    ``failure`` says it as one of NOT_FOUND, NOT_STARTED, TIMED_OUT for callers that branch on it."""

    returncode: int | None
    stdout: str
    stderr: str
    error: str | None = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.returncode == 0

    @property
    def not_found(self) -> bool:
        return self.failure == NOT_FOUND

    @property
    def timed_out(self) -> bool:
        return self.failure == TIMED_OUT

    def describe(self) -> str:
        if self.error:
            return self.error
        return f"exit {self.returncode}: {one_line(self.stderr or self.stdout, 200) or 'no output'}"


def run_tool(argv: Sequence[str], timeout: float, cwd: Path | None = None) -> ToolRun:
    """Run ``argv`` (no shell, stdin /dev/null, ``child_env()``) in its own session; on timeout
    kill the whole process group.

    A new session matters: a wrapper script that spawned a ``sleep`` would otherwise leave the
    grandchild running and holding our pipes after the timeout.
    """
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=cwd, start_new_session=True, env=child_env())
    except FileNotFoundError as exc:
        missing = argv[0] if exc.filename in (None, argv[0]) else f"working directory {cwd}"
        return _failed(NOT_FOUND, f"{missing} not found")
    except OSError as exc:
        return _failed(NOT_STARTED, f"{argv[0]} could not start: {exc.strerror or exc}")
    try:
        streams = _read_capped(proc, time.monotonic() + timeout)
        if streams is None:
            _kill_group(proc)
            return _failed(TIMED_OUT, f"{argv[0]} timed out after {timeout:g}s")
    finally:
        _close_pipes(proc)
    out, err = streams
    return ToolRun(proc.returncode, _text(out), _text(err))


def _failed(failure: str, error: str) -> ToolRun:
    return ToolRun(None, "", "", error, failure)


def _read_capped(proc: subprocess.Popen[bytes], deadline: float) -> tuple[bytes, bytes] | None:
    """(stdout, stderr) once both pipes close and the child exits, None if that misses ``deadline``.

    Each stream keeps its first MAX_OUTPUT bytes and the rest is read and dropped: memory stays
    bounded however much a child prints, and a child blocked on a full pipe cannot hang us.
    """
    out_fd, err_fd = _pipe_fds(proc)
    kept = {out_fd: bytearray(), err_fd: bytearray()}
    with selectors.DefaultSelector() as selector:
        for fd in kept:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:  # EOF: this stream is done
                    selector.unregister(key.fd)
                kept[key.fd] += chunk[: max(0, MAX_OUTPUT - len(kept[key.fd]))]
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # closed its pipes but lives on: still a hang
        return None
    return bytes(kept[out_fd]), bytes(kept[err_fd])


def _pipe_fds(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    if proc.stdout is None or proc.stderr is None:  # cannot happen: run_tool asks for both pipes
        raise RuntimeError("child started without its output pipes")
    return proc.stdout.fileno(), proc.stderr.fileno()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # The group id is the child's pid (start_new_session): this reaches its grandchildren too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_REAP_SECONDS)  # reap it: no zombie left for the rest of the cycle


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _text(data: bytes) -> str:
    return data[:MAX_OUTPUT].decode("utf-8", errors="replace")
