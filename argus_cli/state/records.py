"""The append-only records (problems, cycles, metrics, LLM exchanges): rotated by size, read
across their rotated generations, and read by time window without parsing what lies before it.

A record ``F`` becomes ``F.1`` (``F.1`` becomes ``F.2`` ...; past ``keep``, the oldest is
deleted) once it is over ``max_bytes``. Only the cycle, holding ``cycle.lock``, rotates: two
processes renaming the same files would race. Readers take ``F.N … F.1, F`` as one stream.

A windowed read relies on lines being appended in time order, as Argus writes them. It skips a
generation whose newest line is older than the window, and in the first one that reaches into
the window it bisects on the ``ts`` at the start of lines to a line ``SLACK`` before the window's
edge; the caller still checks every line it gets against the window. A file whose sampled lines
go back in time by more than ``SLACK`` (files joined by hand, a clock set back by days) is read
whole. What it can still miss: lines stamped more than ``SLACK`` later than the lines written
after them, in a stretch too short to be sampled (under a sixteenth of the file), when the
bisection lands past them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from argus_cli.state.files import (
    LineStats,
    Reporter,
    Validator,
    accepts,
    iter_jsonl,
    iter_jsonl_backwards,
    open_state_file,
    to_stderr,
)

MAX_GENERATIONS = 100  # F.1 ... F.100 at most are read, whatever ARGUS_RECORDS_KEEP once was
SLACK = 3600.0  # seconds a windowed read starts before the window's edge (lines a little out of order)
_PROBE = 4096  # bytes read to find a line's start and its ts
_LINEAR = 1 << 16  # below this span the bisection stops: reading it costs less than more probes
_SAMPLES = 16  # lines sampled across a file to check that it is in time order
_TS = re.compile(rb'"ts"\s*:\s*"([^"\\]{1,64})"')


def generations(path: Path) -> list[Path]:
    """``path`` and its rotated copies that exist, newest first (``F``, ``F.1``, ``F.2`` ...).

    The live file may be missing (rotated away, not written since): its copies still count.
    The numbering stops at the first gap, as rotation never leaves one.
    """
    found = [path] if os.path.lexists(path) else []
    for n in range(1, MAX_GENERATIONS + 1):
        older = path.with_name(f"{path.name}.{n}")
        if not os.path.lexists(older):
            break
        found.append(older)
    return found


def rotate(path: Path, max_bytes: int, keep: int) -> bool:
    """``F`` -> ``F.1`` -> ... -> ``F.keep`` once ``F`` is over ``max_bytes``; older copies go.

    Copies beyond ``keep`` are deleted even when nothing rotates, so lowering ARGUS_RECORDS_KEEP
    frees the space at the next cycle.
    """
    for older in generations(path)[keep + 1:]:
        older.unlink(missing_ok=True)
    try:
        if os.lstat(path).st_size <= max_bytes:
            return False
    except FileNotFoundError:
        return False
    if keep < 1:
        path.unlink()
        return True
    for n in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if os.path.lexists(older):
            os.replace(older, path.with_name(f"{path.name}.{n + 1}"))
    os.replace(path, path.with_name(f"{path.name}.1"))
    return True


def iter_backwards(path: Path, stats: LineStats | None = None, report: Reporter = to_stderr,
                   chunk: int = 65536) -> Iterator[dict[str, Any]]:
    """Every record of ``path`` and its copies, newest first; a caller that stops early reads no more."""
    for generation in generations(path):
        yield from iter_jsonl_backwards(generation, chunk, stats=stats, report=report)


def tail(path: Path, max_lines: int) -> list[dict[str, Any]]:
    """The last ``max_lines`` parsable records across the rotation, in file order (oldest first)."""
    found = list(islice(iter_backwards(path), max(0, max_lines)))
    found.reverse()
    return found


def newest_valid(path: Path, validate: Validator, look_back: int = 20) -> dict[str, Any] | None:
    """The newest of the last ``look_back`` records that ``validate`` accepts, across the rotation
    (just after one, the live file is empty), or None."""
    return next((record for record in islice(iter_backwards(path), max(0, look_back)) if accepts(validate, record)),
                None)


def iter_since(path: Path, since: float | None, stats: LineStats | None = None,
               report: Reporter = to_stderr) -> Iterator[dict[str, Any]]:
    """Records of ``path`` and its copies, oldest first, from ``SLACK`` before ``since`` on
    (everything when ``since`` is None); the caller filters each by the window."""
    for generation, start in starts(path, since, report):
        yield from iter_jsonl(generation, stats, start=start, report=report)


def starts(path: Path, since: float | None, report: Reporter = to_stderr) -> Iterator[tuple[Path, int]]:
    """(generation, offset to read it from), oldest first, leaving out the generations that end
    before the window. A non-regular file is the reader's to report: it comes through at 0."""
    for generation in reversed(generations(path)):
        if since is None:
            yield generation, 0
            continue
        fd = _open(generation, report)
        if fd is None:
            yield generation, 0
            continue
        try:
            start = seek_time(fd, since - SLACK)
        finally:
            os.close(fd)
        if start is not None:
            yield generation, start


def _open(path: Path, report: Reporter) -> int | None:
    try:
        return open_state_file(path, report)
    except OSError:  # not a regular file, unreadable: the reader opens it again and says so
        return None


def seek_time(fd: int, edge: float) -> int | None:
    """The start of a line at or before the first line stamped at or after ``edge``; None when
    the file's newest line is older than ``edge`` (nothing in it to read); 0 for a small file, or
    one whose sampled lines are out of time order (then only a whole read is right)."""
    size = os.fstat(fd).st_size
    if size <= _LINEAR:
        return 0
    if not _in_time_order(fd, size):
        return 0
    newest = _last_line_time(fd, size)
    if newest is not None and newest < edge:
        return None
    low, high = 0, size  # a line starts at ``low`` that is older than edge (or low == 0)
    while high - low > _LINEAR:
        middle = (low + high) // 2
        start, when = _line_after(fd, middle)
        if start is None or start >= high or when is None or when >= edge:
            high = middle  # newer, unreadable or unknown: keep it in the read
        else:
            low = start
    return low


def _in_time_order(fd: int, size: int) -> bool:
    """Whether lines sampled across the file (its first, ``_SAMPLES`` between, its last) go
    forward in time, give or take ``SLACK``: a clock set back by days, or files joined by hand,
    show here, and the read does not trust a bisection on them."""
    offsets = [size * n // (_SAMPLES + 1) for n in range(_SAMPLES + 1)]
    times = [_line_after(fd, offset)[1] for offset in offsets]
    times.append(_last_line_time(fd, size))
    latest = -math.inf
    for when in times:
        if when is None:
            continue
        if when < latest - SLACK:
            return False
        latest = max(latest, when)
    return True


def _line_after(fd: int, offset: int) -> tuple[int | None, float | None]:
    """The first line starting after ``offset`` (at it, for 0): its start and its time."""
    if offset == 0:
        return 0, _time_at(fd, 0)
    head = os.pread(fd, _PROBE, offset - 1)
    newline = head.find(b"\n")
    if newline < 0:
        return None, None  # a line longer than a probe: leave it to the read
    start = offset + newline
    return start, _time_at(fd, start)


def _last_line_time(fd: int, size: int) -> float | None:
    tail = os.pread(fd, _PROBE, max(0, size - _PROBE)).rstrip(b"\n")
    return _time_of(tail[tail.rfind(b"\n") + 1:])


def _time_at(fd: int, start: int) -> float | None:
    line = os.pread(fd, _PROBE, start)
    return _time_of(line[:line.find(b"\n")] if b"\n" in line else line)


def _time_of(line: bytes) -> float | None:
    """The epoch of the line's first ``"ts"``, or None (no ts, or a form the probe does not know:
    the bisection then keeps that part in the read)."""
    match = _TS.search(line)
    if match is None:
        return None
    try:
        moment = datetime.fromisoformat(match[1].decode("ascii", "replace"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class Census:
    """What a record's history holds, without parsing it: for a report whose window came up empty."""

    lines: int
    files: int
    oldest: float | None  # the first line's time, when it has a readable ts
    newest: float | None


def census(path: Path, report: Reporter = to_stderr) -> Census:
    """Count the lines of ``path`` and its copies (newlines, in C) and read the first and last
    lines' times; the cost is one sequential read of the bytes, no JSON."""
    files = generations(path)
    lines, oldest, newest = 0, None, None
    for generation in reversed(files):
        fd = _open(generation, report)
        if fd is None:
            continue
        try:
            size = os.fstat(fd).st_size
            if oldest is None and size:
                oldest = _time_at(fd, 0)
            if size:
                newest = _last_line_time(fd, size)
            while data := os.read(fd, 1 << 20):
                lines += data.count(b"\n")
            if size and os.pread(fd, 1, size - 1) != b"\n":
                lines += 1  # a last line without its newline
        finally:
            os.close(fd)
    return Census(lines=lines, files=len(files), oldest=oldest, newest=newest)
