"""Atomic JSON state files and append-only JSONL files (SPEC §5).

JSON state is written to a temp file, fsynced and renamed over the target, so a crash leaves
either the old or the new file. A file that does not parse is moved aside as
``NAME.corrupt-<epoch>`` (kept, never deleted), reported once, and read as empty state.
JSONL files get one whole line per ``write`` on an ``O_APPEND`` descriptor under ``flock``, so
concurrent writers never interleave inside a line; readers skip a torn or garbage line and count it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from argus_cli.model import scrub_surrogates

Reporter = Callable[[str], None]
# Directories Argus creates hold the registry, the outbox and logs, which describe the host and
# its alerts: they are not for other users to read.
PRIVATE_DIR_MODE = 0o700


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def dumps(value: Any, option: int = 0) -> bytes:
    """JSON bytes; non-JSON values (paths, sets) become strings rather than crash.

    Text from outside (an LLM answer, a process name) can hold lone UTF-16 surrogates, which no
    UTF-8 file can carry; they become "?" so the record is still written and still readable.
    """
    try:
        return orjson.dumps(value, default=str, option=option)
    except orjson.JSONEncodeError:
        return orjson.dumps(scrub_surrogates(value), default=str, option=option)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems refuse fsync on a directory; the rename stands
        fsync_path(directory)


def fsync_path(path: Path) -> None:
    """Flush ``path`` (a file or a directory) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stored_number(value: Any, limit: float = 1e11) -> float | None:
    """A count or epoch read back from a state file, or None when it holds anything else.

    A hand edit or another version can leave a string, a list or an absurd number in a file that
    parses; one such value must not crash, for ever, the action that reads it.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if 0 <= value < limit else None


def atomic_write_json(path: Path, value: Any, mode: int = 0o644) -> None:
    atomic_write_bytes(path, dumps(value, orjson.OPT_INDENT_2) + b"\n", mode)


def read_json(path: Path, default: Callable[[], Any], report: Reporter = _stderr,
              expect: type = dict) -> Any:
    """The parsed file, or ``default()`` when it is missing or corrupt (then moved aside)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return default()
    try:
        value = orjson.loads(data)
        if not isinstance(value, expect):
            raise ValueError(f"top level is {type(value).__name__}, expected {expect.__name__}")
        return value
    except ValueError as exc:
        aside = move_aside(path)
        report(f"argus: {path} is corrupt ({exc}); moved aside to {aside.name}, starting empty")
        return default()


def move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}-{n}")
        n += 1
    os.replace(path, aside)
    return aside


def append_jsonl(path: Path, record: Any, mode: int = 0o644) -> None:
    """Append one record as one line with a single write on an O_APPEND descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    line = dumps(record) + b"\n"
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, mode)  # RDWR: to peek at the tail
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # so healing a torn tail cannot race another writer
        _heal_torn_tail(fd)
        written = os.write(fd, line)
        if written != len(line):  # a short write would tear the line; say so loudly
            raise OSError(f"short write to {path}: {written} of {len(line)} bytes")
    finally:
        os.close(fd)


def _heal_torn_tail(fd: int) -> None:
    """If a crashed writer left a line without its newline, end it so ours starts clean."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")


class LineStats:
    """Counts what a JSONL reader had to skip."""

    def __init__(self) -> None:
        self.malformed = 0
        self.lines = 0


def iter_jsonl(path: Path, stats: LineStats | None = None,
               start: int = 0) -> Iterator[dict[str, Any]]:
    """Stream JSON objects from ``path`` (one pass, constant memory); skip bad lines."""
    stats = stats if stats is not None else LineStats()
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        if start:
            handle.seek(start)
        for line in handle:
            if not line.strip():
                continue
            stats.lines += 1
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                stats.malformed += 1
                continue
            if isinstance(record, dict):
                yield record
            else:
                stats.malformed += 1


def tail_jsonl(path: Path, max_lines: int, chunk: int = 65536) -> list[dict[str, Any]]:
    """The last ``max_lines`` parsable records, in file order, read backwards from the end.

    Cost depends on ``max_lines``, not on the file's size.
    """
    records = list(islice(iter_jsonl_backwards(path, chunk), max(0, max_lines)))
    records.reverse()
    return records


def iter_jsonl_backwards(path: Path, chunk: int = 65536) -> Iterator[dict[str, Any]]:
    """JSON objects from the last line to the first; malformed lines are skipped.

    Reads ``chunk`` bytes at a time from the end, so a caller that stops early (a window, a
    tail) never pays for the rest of the file.
    """
    for line in _lines_backwards(path, chunk):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(record, dict):
            yield record


def _lines_backwards(path: Path, chunk: int) -> Iterator[bytes]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        pos = os.fstat(fd).st_size
        partial = b""
        while pos > 0:
            step = min(chunk, pos)
            pos -= step
            lines = (os.pread(fd, step, pos) + partial).split(b"\n")
            partial = lines[0]  # may continue in the previous chunk
            for line in reversed(lines[1:]):
                if line.strip():
                    yield line
        if partial.strip():
            yield partial
    finally:
        os.close(fd)
