"""Bits shared by the report commands: stderr notes and turning I/O errors into ArgusError."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from argus_cli.cli.common import ArgusError

if TYPE_CHECKING:
    from argus_cli.config import Config
    from argus_cli.reports.incidents import IncidentHistory


class _Read(Protocol):
    def warning(self) -> str | None: ...


def warn_skipped(scan: _Read) -> None:
    """Malformed registry (or incident) lines are never fatal, but the operator hears about them."""
    message = scan.warning()
    if message:
        print(message, file=sys.stderr)


@contextlib.contextmanager
def io_errors(what: str) -> Iterator[None]:
    """An unreadable registry or unwritable output is a clear exit-1 message, not a traceback."""
    try:
        yield
    except OSError as exc:
        target = f" {exc.filename}" if exc.filename else ""
        raise ArgusError(f"{what} failed:{target}: {exc.strerror or exc}") from None


def wants_json(json_flag: bool) -> bool:
    """JSON when asked, or when stdout is not a terminal (a pipe, a file, cron)."""
    return json_flag or not sys.stdout.isatty()


def incident_history(config: Config, now: float, window_days: int) -> IncidentHistory:
    """``incidents.jsonl`` over the report's window, read like the registry (same errors, same notes)."""
    from argus_cli.reports.incidents import read_incidents
    from argus_cli.state.layout import INCIDENT_LOG

    path = config.state_dir / INCIDENT_LOG
    with io_errors(f"reading {path}"):
        history = read_incidents(path, now, window_days)
    warn_skipped(history)
    return history
