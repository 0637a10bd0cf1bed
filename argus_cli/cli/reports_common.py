"""Bits shared by the report commands: stderr notes and turning I/O errors into ArgusError."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from argus_cli.cli.common import ArgusError

if TYPE_CHECKING:
    from argus_cli.reports.scan import ScanResult


def warn_skipped(scan: ScanResult) -> None:
    """Malformed registry lines are never fatal, but the operator hears about them."""
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
