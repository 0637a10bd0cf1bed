"""``argus.log``: rotated at 10 MB with 3 backups, secrets redacted from every line.

Rotation happens once at the start of a cycle (ARCHITECTURE.md §1), not per record, so one cycle's
lines stay together in one file. Other modules log through ``logging.getLogger("argus.<x>")``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from argus_cli.config import Config
from argus_cli.redaction import redact
from argus_cli.state.files import PRIVATE_DIR_MODE, create_state_file, set_aside
from argus_cli.state.layout import LOG

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3
LOGGER = "argus"


def rotate(path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> bool:
    """argus.log -> argus.log.1 -> ... -> argus.log.N (the oldest dropped) once it is over ``max_bytes``."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
    except FileNotFoundError:
        return False
    for n in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{n + 1}"))
    os.replace(path, path.with_name(f"{path.name}.1"))
    return True


class _OwnedStream(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that closes its stream (argus.log, opened safely above) when it closes."""

    def close(self) -> None:
        try:
            self.stream.close()
        finally:
            super().close()


class Redact(logging.Filter):
    """Replace every secret value in a formatted record, whatever put it there."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        text = record.getMessage()
        if record.exc_info:  # a traceback can quote a URL or a header: redact it as text too
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact(text, self.secrets), None
        return True


@contextlib.contextmanager
def cycle_log(config: Config, *, may_rotate: bool = True) -> Iterator[tuple[logging.Logger, bool]]:
    """The ``argus`` logger writing to argus.log for one run; yields (logger, rotated).

    Only the lock holder may rotate (``may_rotate``): two processes renaming files would race.
    """
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    path = config.log_dir / LOG
    handler: logging.Handler | None = None
    rotated = False
    try:
        if path.parent == config.state_dir / "logs" and path.parent.is_symlink():
            set_aside(path.parent, "a symlink")  # the default log dir is the state dir's own: no link out
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
        rotated = rotate(path) if may_rotate else False
        # never appended through a planted symlink (it would write wherever the link points)
        fd = create_state_file(path, os.O_WRONLY | os.O_APPEND, 0o600)
        handler = _OwnedStream(os.fdopen(fd, "a", encoding="utf-8"))
    except OSError as exc:  # an unwritable log dir must not stop the watchdog
        print(f"argus: cannot write {path}: {exc.strerror}; logging to stderr only", file=sys.stderr)
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"))
    handler.addFilter(Redact(config.secrets()))
    logger.addHandler(handler)
    try:
        yield logger, rotated
    finally:
        logger.removeHandler(handler)
        handler.close()
