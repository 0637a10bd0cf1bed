"""Shared helpers for the integrations: redaction, one-line notes, bounded tool runs.

Integrations are best-effort: a missing, failing or hanging ``bd``/``relay`` must never fail a
cycle, so ``run_tool`` turns every way a child can misbehave into a ``ToolRun`` value.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from argus_cli.redaction import child_env, redact

_MAX_NOTE = 300
_MAX_OUTPUT = 1 << 20  # a tool printing megabytes is garbage; we keep the first MiB


def one_line(text: str, limit: int = _MAX_NOTE) -> str:
    """Collapse to a single line and cap it: notes and details must stay one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def note(message: str, secrets: Iterable[str] = ()) -> None:
    """One redacted line on stderr (under the timer, the journal keeps it; argus.log does not)."""
    print("argus: " + one_line(redact(message, secrets)), file=sys.stderr)


@dataclass(frozen=True)
class ToolRun:
    """Outcome of one external command. ``error`` is set when it did not run to completion."""

    returncode: int | None
    stdout: str
    stderr: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.returncode == 0

    def describe(self) -> str:
        if self.error:
            return self.error
        return f"exit {self.returncode}: {one_line(self.stderr or self.stdout, 200) or 'no output'}"


def run_tool(argv: Sequence[str], timeout: float, cwd: Path | None = None) -> ToolRun:
    """Run ``argv`` (no shell) in its own session; on timeout kill the whole process group.

    A new session matters: a wrapper script that spawned a ``sleep`` would otherwise leave the
    grandchild running and holding our pipes after the timeout.
    """
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=cwd, start_new_session=True, env=child_env())
    except FileNotFoundError as exc:
        missing = argv[0] if exc.filename in (None, argv[0]) else f"working directory {cwd}"
        return ToolRun(None, "", "", f"{missing} not found")
    except OSError as exc:
        return ToolRun(None, "", "", f"{argv[0]} could not start: {exc.strerror or exc}")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return ToolRun(None, "", "", f"{argv[0]} timed out after {timeout:g}s")
    return ToolRun(proc.returncode, _text(out), _text(err))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.communicate(timeout=2)


def _text(data: bytes) -> str:
    return data[:_MAX_OUTPUT].decode("utf-8", errors="replace")
