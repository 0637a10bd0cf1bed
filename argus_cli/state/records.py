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

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec

from argus_cli.state.files import (
    LineStats,
    Reporter,
    Validator,
    accepts,
    iter_jsonl_backwards,
    open_state_file,
    to_stderr,
)

MAX_GENERATIONS = 100  # F.1 ... F.100 at most are read, whatever ARGUS_RECORDS_KEEP once was
SLACK = 3600.0  # seconds a windowed read starts before the window's edge (lines a little out of order)
_PROBE = 4096  # bytes read to find a line's start and its ts
_LINEAR = 1 << 16  # below this span the bisection stops: reading it costs less than more probes
_SAMPLES = 16  # lines sampled across a file to check that it is in time order


def generations(path: Path) -> list[Path]:
    """``path`` and its rotated copies that exist, newest first (``F``, ``F.0``, ``F.1`` ...).

    The live file may be missing (rotated away, not written since): its copies still count. A
    gap in the numbering (a rotation cut short) does not hide the copies past it. ``F.0`` is the
    live file on its way to ``F.1``.
    """
    found = [path] if os.path.lexists(path) else []
    return found + [older for _, older in _copies(path)]


def _copies(path: Path) -> list[tuple[int, Path]]:
    """(number, path) of each ``F.N`` that exists, N from 0 to MAX_GENERATIONS, lowest first.
    Probed by name, not listed: a report may search the directory without reading it."""
    named = ((n, path.with_name(f"{path.name}.{n}")) for n in range(MAX_GENERATIONS + 1))
    return [(n, older) for n, older in named if os.path.lexists(older)]


def rotate(path: Path, max_bytes: int, keep: int) -> bool:
    """``F`` -> ``F.1`` -> ... -> ``F.keep`` once ``F`` is over ``max_bytes``; older copies go.

    The live file moves first, to ``F.0``: if it cannot (immutable, append-only, a full
    directory), nothing has changed and the error says so. Then the copies shift from the oldest
    down, each onto a free name or onto the one past ``keep``, so a shift cut short (one copy
    that cannot move) leaves every line in a copy readers still see; the next cycle finishes it.
    Copies beyond ``keep`` are deleted even when nothing rotates, so lowering ARGUS_RECORDS_KEEP
    frees the space at the next cycle.
    """
    keep = max(1, keep)
    for n, older in _copies(path):
        if n > keep:
            older.unlink(missing_ok=True)
    moving = path.with_name(f"{path.name}.0")
    if not os.path.lexists(moving):  # else a rotation was cut short: finish it first
        try:
            if os.lstat(path).st_size <= max_bytes:
                return False
        except FileNotFoundError:
            return False
        os.rename(path, moving)
    for n in range(keep - 1, -1, -1):
        older = path.with_name(f"{path.name}.{n}")
        if os.path.lexists(older):
            os.replace(older, path.with_name(f"{path.name}.{n + 1}"))
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


@contextlib.contextmanager
def window(path: Path, since: float | None, report: Reporter = to_stderr) -> Iterator[list[tuple[int, int]]]:
    """(descriptor, offset to read from) of ``path`` and its copies, oldest first, from about
    ``SLACK`` before ``since`` (everything when ``since`` is None); closed after.

    Every file is opened before any is read, so a rotation meanwhile cannot hand the reader a
    different file than the one its offset was found in. Newest first, the copies stop at the
    first that starts before the window: older ones lie wholly outside it and are not opened (an
    unreadable old copy does not fail a report of this week).
    """
    opened: list[tuple[int, int]] = []
    try:
        for generation in generations(path):
            fd = open_state_file(generation, report)
            if fd is None:
                continue
            opened.append((fd, 0))
            if since is None:
                continue
            start, first = seek_time(fd, since - SLACK), _time_at(fd, 0)
            if start is None:
                os.close(opened.pop()[0])
            else:
                opened[-1] = (fd, start)
            if first is not None and first < since - SLACK:
                break
        yield list(reversed(opened))
    finally:
        for fd, _ in opened:
            os.close(fd)


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
    newline = tail.rfind(b"\n")
    if newline < 0 and size > _PROBE:
        return None  # a last line longer than a probe: unknown
    return _time_of(tail[newline + 1:])


def _time_at(fd: int, start: int) -> float | None:
    line = os.pread(fd, _PROBE, start)
    newline = line.find(b"\n")
    if newline < 0 and len(line) == _PROBE:
        return None  # a line longer than a probe: unknown
    return _time_of(line if newline < 0 else line[:newline])


class _Stamped(msgspec.Struct):
    ts: str


_STAMP = msgspec.json.Decoder(_Stamped)


def _time_of(line: bytes) -> float | None:
    """The epoch of the line's ``ts`` as the readers decode it (the last one, if the line has two;
    not one nested deeper), or None (not a JSON object with a string ts, or a form the probe does
    not know: the bisection then keeps that part in the read)."""
    try:
        moment = datetime.fromisoformat(_STAMP.decode(line).ts)
    except (msgspec.DecodeError, ValueError):
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
        try:
            fd = open_state_file(generation, report)
        except OSError:  # a census only says what it can; the read itself reported this file
            continue
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
