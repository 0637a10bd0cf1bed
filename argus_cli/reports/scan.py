"""One streaming pass over the problem registry, feeding any number of report accumulators.

Each line is reduced to a small *digest* ``(hour, mask, type, severity, result, tag)``: its UTC
hour, a bit per accumulator window that holds it, the three counted fields and a tag (the
memory hog's name, or ``restart`` for a service restart). Digests are counted in chunks by
``collections.Counter`` (a C loop) and each chunk's few distinct digests are folded into the
accumulators, which keep only counters keyed by bounded things (types, severities, hours inside
their window). Memory stays flat however long the registry is, and the per-line Python work is
the least that validating and classifying a line needs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Protocol

from argus_cli.reports.window import CANONICAL_TAILS, Windows
from argus_cli.state.files import LineStats, iter_jsonl

CHUNK = 65_536  # lines per Counter pass; bounds the distinct digests held at once
RESTART = "restart"
_HOG = re.compile(r"hog_process=([^,; ]+)")
_TAGGED = frozenset({"service", "memory"})

# (hour, type, severity, action_result, tag) with its count, as folded into an accumulator.
Digest = tuple[str, str, str, str, "str | None"]
# A digest with its window mask after the hour, as one line is reduced to before counting.
_Masked = tuple[str, int, str, str, str, "str | None"]


class Accumulator(Protocol):
    now: float
    days: int
    wants_tags: bool  # whether digests need the tag (costs a regex on memory lines)

    def fold(self, digests: Iterable[tuple[Digest, int]]) -> None:
        """Add counted digests that fall inside this accumulator's window."""


@dataclass(frozen=True)
class ScanResult:
    path: Path
    lines: int
    skipped: int  # lines that are not JSON objects, lack the registry's string fields, or have a bad ts

    def warning(self) -> str | None:
        """The stderr line an operator should see, or None when every line was usable."""
        if not self.skipped:
            return None
        return f"argus: skipped {self.skipped} malformed line(s) of {self.lines} in {self.path}"


class _Skips:
    def __init__(self) -> None:
        self.count = 0


def tag_of(record: Mapping[str, object]) -> str | None:
    """What the pattern detectors need beyond the counted fields: hog name or restart marker."""
    kind = record["type"]
    if kind == "service":
        action = record.get("action_taken")
        return RESTART if type(action) is str and action.startswith("restart_service") else None
    description = record.get("description")
    if kind == "memory" and type(description) is str and "hog_process=" in description:
        match = _HOG.search(description)
        return match[1] if match else None
    return None


def _digests(records: Iterator[Mapping[str, object]], windows: Windows, skips: _Skips,
             tags: bool) -> Iterator[_Masked]:
    uniform, classify, tails = windows.uniform, windows.classify, CANONICAL_TAILS
    fields = itemgetter("ts", "type", "severity", "action_result")
    for record in records:
        try:
            ts, kind, severity, result = fields(record)
        except KeyError:
            skips.count += 1
            continue
        # The counters key on these fields, so they must be strings (a list would not hash).
        if type(ts) is not str or type(kind) is not str or type(severity) is not str or type(result) is not str:
            skips.count += 1
            continue
        hour = ts[:13]
        mask = uniform.get(hour) if ts[13:] in tails else None  # in tails => len(ts) == 20
        if mask is None:
            found, mask = classify(ts)
            if found is None:
                skips.count += 1
                continue
            hour = found
        if mask:
            yield hour, mask, kind, severity, result, tag_of(record) if tags and kind in _TAGGED else None


def scan_registry(path: Path, accumulators: Sequence[Accumulator]) -> ScanResult:
    """Stream ``path`` once; every usable record reaches each accumulator whose window holds it."""
    windows = Windows([acc.now - acc.days * 86400 for acc in accumulators])
    lines, skips = LineStats(), _Skips()
    tags = any(acc.wants_tags for acc in accumulators)
    # A report only reads: a symlink or directory there is an error to show (NotRegularFile).
    digests = _digests(iter_jsonl(path, lines), windows, skips, tags)
    while chunk := Counter(islice(digests, CHUNK)):
        for bit, acc in enumerate(accumulators):
            acc.fold(((d[0], d[2], d[3], d[4], d[5]), n) for d, n in chunk.items() if d[1] >> bit & 1)
    return ScanResult(path=path, lines=lines.lines, skipped=lines.malformed + skips.count)
