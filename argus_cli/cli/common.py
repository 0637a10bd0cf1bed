"""Shared bits of the CLI layer: config loading, JSON output, the error type, and the one line an
OSError becomes at the CLI's error boundary."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from argus_cli.config import Config, load
from argus_cli.state.files import atomic_write_bytes, dumps

if TYPE_CHECKING:  # state.layout (msgspec) loads with the commands that read state files
    from msgspec import Struct

    from argus_cli.state.layout import JsonFile

    S = TypeVar("S", bound=Struct)


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


def require_readable_state_dir(state_dir: Path) -> None:
    """Stop a command that only reads state (one line, exit 1) when this user cannot read the
    state dir at all (a root-owned 0700 one for a non-root user); a missing one is fine."""
    from argus_cli.state.directory import StateDirError, check_state_readable
    try:
        check_state_readable(state_dir)
    except StateDirError as exc:
        raise ArgusError(str(exc), exc.exit_code) from None


# What an operator sets to move a path Argus could not open; the state dir first, since the
# other paths default inside it and follow it.
_PATH_VARIABLES = (("state_dir", "ARGUS_STATE_DIR"), ("problems_file", "ARGUS_PROBLEMS_FILE"),
                   ("log_dir", "ARGUS_LOG_DIR"), ("relay_fallback_file", "ARGUS_RELAY_FALLBACK_FILE"),
                   ("relay_summary_fallback_file", "ARGUS_RELAY_SUMMARY_FALLBACK_FILE"),
                   ("prompt_file", "ARGUS_PROMPT_FILE"))
_ACCESS_ERRORS = (errno.EACCES, errno.EPERM, errno.EROFS)


def os_error_line(exc: OSError) -> str:
    """One line for an OSError no command caught: the path it could not open, why, and the
    likely fix (``run as root or set ARGUS_STATE_DIR``)."""
    if exc.filename is None:
        return str(exc)
    target = f"{exc.filename} -> {exc.filename2}" if exc.filename2 is not None else f"{exc.filename}"
    return with_access_hint(f"cannot open {target}: {exc.strerror or exc}", exc)


def access_hint(exc: BaseException | None) -> str | None:
    """The likely fix for a permission or read-only error on a path, or None for anything else."""
    if not isinstance(exc, OSError) or exc.errno not in _ACCESS_ERRORS or exc.filename is None:
        return None
    from argus_cli.state.directory import fix_hint
    return fix_hint(exc.errno, _variable_for(os.fsdecode(exc.filename)))


def with_access_hint(message: str, cause: BaseException | None) -> str:
    """``message`` of an ArgusError raised for an OSError (``cause``), with the likely fix added
    when it is a permission problem and the message does not say one already."""
    hint = access_hint(cause)
    if hint is None or "run as root" in message or "set ARGUS_" in message:
        return message
    return f"{message}: {hint}"


def _variable_for(path: str) -> str | None:
    """The setting that chooses ``path`` (the state dir for anything inside it, or for a missing
    parent of it that could not be created), or None."""
    try:
        config = load()
    except Exception:  # noqa: BLE001 - only a hint: a config that no longer loads names no variable
        return None
    target = Path(os.path.abspath(path))
    for attribute, variable in _PATH_VARIABLES:
        configured = Path(os.path.abspath(getattr(config, attribute)))
        if target == configured or configured in target.parents or target in configured.parents:
            return variable
    return None


def read_or_fail(file: JsonFile[S], state_dir: Path) -> S | None:
    """A state file for a command that reports on it: None when there is none; one that is there
    but cannot be used is one line and exit 1, never read as "nothing" (no silence, nothing
    pending) when Argus cannot know."""
    from argus_cli.state.layout import Unusable
    try:
        return file.read_strict(state_dir)
    except Unusable as exc:
        raise ArgusError(str(exc)) from None


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


def check_since(value: str) -> str:
    """A ``--since`` duration (90s, 15m, 1h, 7d or seconds), checked as Typer parses it."""
    import typer

    from argus_cli.config import parse_duration
    from argus_cli.text import truncate

    seconds = parse_duration(value)
    if seconds is None or seconds <= 0 or seconds > MAX_SINCE:
        raise typer.BadParameter(f"{truncate(value, 40)!r} is not a duration: use e.g. 90s, 15m, 1h, 7d "
                                 "or plain seconds, at most 3650d")
    return value


MAX_SINCE = 3650 * 86400  # ten years: further back is a typo, and past datetime's range a crash


def read_prompt(path: Path, config: Config, flag: str = "--prompt") -> str:
    """A system prompt to try: bounded, UTF-8, not empty, and holding none of the configured
    secrets (``--prompt /etc/argus/argus.env`` would send them to the API). One line, exit 2."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ArgusError(f"{flag} {path} is not a regular file", 2)
            data = os.read(fd, MAX_PROMPT_BYTES + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ArgusError(f"cannot read {flag} {path}: {exc.strerror or exc}", 2) from None
    if len(data) > MAX_PROMPT_BYTES:
        raise ArgusError(f"{flag} {path} is over {MAX_PROMPT_BYTES // 1024} KiB: not a system prompt", 2)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArgusError(f"cannot read {flag} {path}: not UTF-8 text", 2) from None
    if not text.strip():
        raise ArgusError(f"{flag} {path} is empty: it must hold the system prompt to try", 2)
    if any(secret and secret in text for secret in config.secrets()):
        raise ArgusError(f"{flag} {path} holds a configured secret (an env file?): it would be sent to the API", 2)
    return text


MAX_PROMPT_BYTES = 256 * 1024
