"""Running totals of ``cycles.jsonl`` for the textfile each cycle writes (``prometheus-counters.json``).

Adding up the whole audit trail every five minutes would make each cycle slower than the last,
so the totals are kept with where they stop: ``head`` names a file by a digest of its first line
(a name changes when the file rotates, its first line does not) and ``offset`` says how far into
it; ``finished`` names the older files already read to their end. Each cycle reads only what was
appended since (skipped cycles, dry runs, its own previous line), across a rotation, then adds
its own line from memory: that line is appended after the textfile is written, since it says
how that went, and ``pending`` keeps it from being counted a second time when it is read.

The counters only go up. A file rotated away, deleted or replaced by hand is never subtracted;
a file cut shorter is read on from its new end. Only a missing or unusable state file makes the
totals be counted again from what the files hold (``seeded``): after rotated copies were deleted
that can be less than before, which Prometheus takes as a counter reset (``rate()`` and
``increase()`` allow for one). It is never silent: the cycle's line says ``prometheus_seeded`` and
argus.log has a warning.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path

from argus_cli.reports.prometheus import count
from argus_cli.state.files import LineStats, Reporter, iter_jsonl, open_state_file
from argus_cli.state.layout import CYCLE_COUNTERS, CYCLES, CycleCounters
from argus_cli.state.records import generations

HEAD_BYTES = 4096  # a first line longer than this is told apart by its start


@dataclass(frozen=True)
class Advanced:
    counters: CycleCounters  # to save once the textfile is written
    seeded: int | None  # lines counted from the start, when there were no usable totals


def advance(state_dir: Path, own_line: Mapping[str, object], now: float, report: Reporter) -> Advanced:
    """The totals with every line appended since the last cycle, plus ``own_line`` (this cycle's,
    not appended yet)."""
    counters = CYCLE_COUNTERS.read(state_dir, report)
    seeded = counters is None
    counters = counters or CycleCounters(seeded=now)
    lines = LineStats()
    for record in _unread(state_dir / CYCLES, counters, lines, report):
        ts, status = record.get("ts"), record.get("status")
        if counters.pending is not None and ts == counters.pending and status != "skipped":
            counters.pending = None  # the last cycle's own line, counted when it was written
            continue
        count(counters.totals, record)
    counters.totals.malformed += lines.malformed
    count(counters.totals, own_line)
    ts = own_line.get("ts")
    counters.pending = ts if isinstance(ts, str) else None
    return Advanced(counters, lines.lines + 1 if seeded else None)


def save(state_dir: Path, counters: CycleCounters) -> None:
    CYCLE_COUNTERS.write(state_dir, counters)


def _unread(path: Path, counters: CycleCounters, lines: LineStats,
            report: Reporter) -> Generator[Mapping[str, object], None, None]:
    """The records not counted yet, oldest first; moves ``head``, ``offset`` and ``finished`` on."""
    files = [(f, h) for f in reversed(generations(path)) if (h := _head(f, report))]
    for generation, head in files:
        if head in counters.finished:
            continue
        start = counters.offset if head == counters.head else 0
        size = yield from _records_from(generation, start, lines, report)
        counters.head, counters.offset = head, size
    counters.finished = [h for _, h in files if h != counters.head]


def _records_from(path: Path, start: int, lines: LineStats,
                  report: Reporter) -> Generator[Mapping[str, object], None, int]:
    """The records of ``path`` from byte ``start`` to its end; returns that end. A shared lock
    keeps a skipped cycle's append (``append_jsonl`` locks exclusively) from being read half."""
    fd = open_state_file(path, report)
    if fd is None:
        return start
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        size = os.fstat(fd).st_size
        yield from iter_jsonl(path, lines, start=min(start, size), report=report)
    finally:
        os.close(fd)
    return size


def _head(path: Path, report: Reporter) -> str:
    """A digest of the file's first line; "" for a file without one (empty, missing). Read under
    the shared lock: a skipped cycle starting a fresh file must not be seen half-written."""
    fd = open_state_file(path, report)
    if fd is None:
        return ""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        first = os.pread(fd, HEAD_BYTES, 0).lstrip(b"\n").split(b"\n", 1)[0]
    finally:
        os.close(fd)
    return hashlib.blake2b(first, digest_size=16).hexdigest() if first else ""
