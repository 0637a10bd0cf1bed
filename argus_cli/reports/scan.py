"""One streaming pass over the problem registry, feeding any number of report accumulators.

Each line is reduced to a small *digest* ``(hour, mask, type, severity, result, action, tag)``:
its UTC hour, a bit per accumulator window that holds it, the three counted fields, the action
type (``kill_pid``) and a tag (the memory hog's name, or ``restart`` for a service restart).
Digests are counted in chunks by ``collections.Counter`` (a C loop) and each chunk's few
distinct digests are folded into the accumulators, which keep only counters keyed by bounded
things (types, severities, hours inside their window). Memory stays flat however long the
registry is.

Lines are decoded many at a time into a type holding only the fields a report reads (msgspec's
``decode_lines``), and only from the point of the history where the widest window begins
(``state.records``): the cost follows the window, not the registry's age.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec

from argus_cli.model import ACTIONS
from argus_cli.reports.window import CANONICAL_TAILS, Windows
from argus_cli.state import records
from argus_cli.state.files import LineStats, blocks_at

CHUNK = 65_536  # lines per Counter pass; bounds the distinct digests held at once
RESTART = "restart"
OTHER = "other"
# Action types a registry line can name: the decider's, the orphan sweep's, the escalation's,
# and the seed's orphan monitor (older registries); anything else counts as OTHER.
KNOWN_ACTIONS = frozenset({*ACTIONS, "orphan_sweep", "escalate", "monitor_orphan_tests"})
_HOG = re.compile(r"hog_process=([^,; ]+)")
_TAGGED = frozenset({"service", "memory"})
_ACTION_CACHE = 4096  # distinct action_taken wordings remembered (a PID in each makes them many)

# (hour, type, severity, action_result, tag) with its count, as folded into an accumulator.
Digest = tuple[str, str, str, str, "str | None"]
# The same with the action type before the tag, for an accumulator that ``wants_actions``.
ActionDigest = tuple[str, str, str, str, str, "str | None"]
# A line reduced before counting: hour, window mask, type, severity, result, action, tag.
_Masked = tuple[str, int, str, str, str, str, "str | None"]
# A line as the tally counts it: hour (or whole timestamp), type, severity, result, action_taken, tag.
_Key = tuple[str, str, str, str, "str | None", "str | None"]


class Accumulator(Protocol):
    now: float
    days: int
    wants_tags: bool  # whether digests need the tag (costs a regex on memory lines)
    wants_actions: bool  # whether it folds ActionDigest (with the action type) instead of Digest

    def fold(self, digests: Iterable[tuple[Any, int]]) -> None:
        """Add counted digests that fall inside this accumulator's window."""


@dataclass(frozen=True)
class ScanResult:
    path: Path
    lines: int  # lines read: from about where the widest window begins, not the whole history
    skipped: int  # lines that are not JSON objects, lack the registry's string fields, or have a bad ts
    # When no line fell in any window: what the whole history holds, so an old registry or a
    # wrong ARGUS_PROBLEMS_FILE shows (counted without parsing); None otherwise.
    history: records.Census | None = None

    def warning(self) -> str | None:
        """The stderr line an operator should see, or None when every line was usable."""
        if not self.skipped:
            return None
        return f"argus: skipped {self.skipped} malformed line(s) of {self.lines} in {self.path}"


class _Skips:
    def __init__(self) -> None:
        self.count = 0


class Counted(msgspec.Struct, gc=False):
    """The fields a report counts from a registry line; the rest of the line is not decoded.

    Decoding into this type is the line's check too: a line that is not a JSON object, lacks one
    of the four string fields, or has an ``action_taken`` that is neither a string nor null fails
    and is skipped (the counters key on them, so they must be strings).
    """

    ts: str
    type: str
    severity: str
    action_result: str
    action_taken: str | None = None


class Line(Counted, gc=False):
    """A line for the pattern detectors, which also read ``description`` (a hog's name); it may
    hold anything, as hand-written and older lines do. Only they pay for decoding it."""

    description: Any = None


def tag_of(line: Line) -> str | None:
    """What the pattern detectors need beyond the counted fields: hog name or restart marker."""
    if line.type == "service":
        action = line.action_taken
        return RESTART if action is not None and action.startswith("restart_service") else None
    description = line.description
    if line.type == "memory" and type(description) is str and "hog_process=" in description:
        match = _HOG.search(description)
        return match[1] if match else None
    return None


_WITH_TAGS: msgspec.json.Decoder[Line] = msgspec.json.Decoder(Line)
_COUNTED: msgspec.json.Decoder[Counted] = msgspec.json.Decoder(Counted)  # stats alone: no description


def action_of(action_taken: object) -> str:
    """The action type of ``action_taken`` (``kill_pid:123`` -> ``kill_pid``), among the known ones."""
    if type(action_taken) is not str:
        return OTHER
    head = action_taken.partition(":")[0]
    return head if head in KNOWN_ACTIONS else OTHER


def _decoded(blocks: Iterator[bytes], stats: LineStats, tags: bool) -> Iterator[list[Any]]:
    """The registry lines of each block (``Line`` with ``tags``, else ``Counted``), decoded in
    one call; a block holding a bad line (or a blank one) is decoded line by line, so one bad
    line costs only itself."""
    decoder: msgspec.json.Decoder[Any] = _WITH_TAGS if tags else _COUNTED
    decode, decode_lines = decoder.decode, decoder.decode_lines
    for block in blocks:
        try:
            lines = decode_lines(block)
        except msgspec.DecodeError:  # ValidationError is one
            lines = None
        # decode_lines also takes two objects on one line, or one spread over several: only a
        # block with exactly one object per line is taken whole (blank lines go the slow way too)
        if (lines is None or len(lines) != block.count(b"\n") + (not block.endswith(b"\n"))
                or b"\n\n" in block):
            lines = []
            for raw in block.split(b"\n"):
                if not raw.strip():
                    continue
                try:
                    lines.append(decode(raw))
                except msgspec.DecodeError:
                    stats.lines += 1
                    stats.malformed += 1
        stats.lines += len(lines)
        yield lines


class _Tally:
    """A chunk of lines counted in C by (when, type, severity, result, action_taken, tag), then
    classified once per distinct key. ``when`` is the line's UTC hour when its timestamp is
    canonical and the hour is known to lie wholly on one side of every window edge (nearly every
    line), else the whole timestamp, classified exactly (other forms, the edge hours)."""

    def __init__(self, windows: Windows, tags: bool) -> None:
        self.windows, self.tags = windows, tags
        self.common: Counter[_Key] = Counter()
        self.lines = 0
        self.actions: dict[str, str] = {}  # action_taken -> its type, across chunks (bounded)

    def add(self, lines: list[Any]) -> None:  # Line with tags, else Counted
        uniform, tails, learn, tags = self.windows.uniform, CANONICAL_TAILS, self.windows.classify, self.tags
        keys: list[_Key] = []
        append = keys.append
        for line in lines:  # a plain loop: measured faster than comprehensions over the same lines
            ts = line.ts
            when = ts[:13]
            if when not in uniform:
                if ts[13:] in tails:
                    learn(ts)  # an hour's first line: is the whole hour on one side of every edge?
                if when not in uniform:
                    when = ts
            elif ts[13:] not in tails:
                when = ts
            append((when, line.type, line.severity, line.action_result, line.action_taken,
                    tag_of(line) if tags and line.type in _TAGGED else None))
        self.common.update(keys)
        self.lines += len(lines)

    def digests(self, skips: _Skips) -> Counter[_Masked]:
        """This chunk's digests with their counts; the tally is empty again after."""
        out: Counter[_Masked] = Counter()
        uniform, classify = self.windows.uniform, self.windows.classify
        for (when, kind, severity, result, taken, tag), count in self.common.items():
            hour, mask = when, uniform.get(when)
            if mask is None:  # a whole timestamp (or the cache was cleared since: only for garbage)
                found, mask = classify(when if len(when) != 13 else when + ":00:00Z")
                if found is None:
                    skips.count += count
                    continue
                hour = found
            if mask:
                out[hour, mask, kind, severity, result, self._action(taken), tag] += count
        self.common.clear()
        self.lines = 0
        return out

    def _action(self, taken: str | None) -> str:
        if taken is None:
            return OTHER
        action = self.actions.get(taken)
        if action is None:
            if len(self.actions) >= _ACTION_CACHE:
                self.actions.clear()
            action = self.actions[taken] = action_of(taken)
        return action


def scan_registry(path: Path, accumulators: Sequence[Accumulator]) -> ScanResult:
    """Stream the registry (and its rotated copies) once; every usable record reaches each
    accumulator whose window holds it. Only the part of the history that can hold the widest
    window is read (``state.records``)."""
    windows = Windows([acc.now - acc.days * 86400 for acc in accumulators])
    stats, skips = LineStats(), _Skips()
    tally = _Tally(windows, tags=any(acc.wants_tags for acc in accumulators))
    since = min(windows.cutoffs) if windows.cutoffs else None
    in_window = 0
    # A report only reads: a symlink or directory there is an error to show (NotRegularFile).
    with records.window(path, since) as parts:
        for lines in _decoded((block for fd, start in parts for block in blocks_at(fd, stats, start)), stats,
                              tally.tags):
            tally.add(lines)
            if tally.lines >= CHUNK:
                in_window += _fold(accumulators, tally.digests(skips))
    in_window += _fold(accumulators, tally.digests(skips))
    return ScanResult(path=path, lines=stats.lines, skipped=stats.malformed + skips.count,
                      history=None if in_window else records.census(path))


def _fold(accumulators: Sequence[Accumulator], chunk: Counter[_Masked]) -> int:
    """Hand each accumulator the digests inside its window; how many lines were in any."""
    for bit, acc in enumerate(accumulators):
        if acc.wants_actions:
            acc.fold(((d[0], d[2], d[3], d[4], d[5], d[6]), n) for d, n in chunk.items() if d[1] >> bit & 1)
        else:
            acc.fold(((d[0], d[2], d[3], d[4], d[6]), n) for d, n in chunk.items() if d[1] >> bit & 1)
    return sum(chunk.values())
