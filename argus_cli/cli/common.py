"""Shared bits of the CLI layer: config loading, JSON output, the error type."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from argus_cli.config import Config, load
from argus_cli.state.files import atomic_write_bytes, dumps


class ArgusError(Exception):
    """A command failed in a way the operator can act on; the message says how."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def load_config() -> Config:
    return load()


def require_state_dir(state_dir: Path, *, write: bool = True) -> None:
    """Stop the command (one line, exit 2 when the dir is unsafe, 1 when read-only) before it
    reads or writes state in a directory it cannot trust or use."""
    from argus_cli.state.directory import StateDirError, check_state_dir
    try:
        check_state_dir(state_dir, write=write)
    except StateDirError as exc:
        raise ArgusError(str(exc), exc.exit_code) from None


def emit_json(value: Any, out: Path | None = None) -> None:
    """JSON to ``out`` (atomically) or to stdout; nothing else ever goes to stdout with --json."""
    data = dumps(value) + b"\n"
    if out is not None:
        atomic_write_bytes(out, data)
        return
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def console() -> Any:
    """A rich Console for human output (imported here so --json paths never load rich)."""
    from rich.console import Console
    # Piped or in the journal there is no terminal width: rich would hard-wrap at 80 columns and
    # split one result over several lines; keep each printed line whole there.
    return Console(no_color="NO_COLOR" in os.environ, highlight=False, soft_wrap=not sys.stdout.isatty())
