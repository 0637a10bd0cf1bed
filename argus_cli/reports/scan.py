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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec

from argus_cli.model import ACTIONS
from argus_cli.reports.window import CANONICAL_TAILS, Windows
from argus_cli.state import records
from argus_cli.state.files import LineStats, iter_jsonl_blocks

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


class Line(msgspec.Struct, gc=False):
    """The fields a report reads from a registry line; the rest of the line is not decoded.

    Decoding into this type is the line's check too: a line that is not a JSON object, or lacks
    one of the four string fields, fails and is skipped (the counters key on them, so they must
    be strings). The other two may hold anything, as hand-written and older lines do.
    """

    ts: str
    type: str
    severity: str
    action_result: str
    action_taken: Any = None
    description: Any = None


_DECODER = msgspec.json.Decoder(Line)


def action_of(action_taken: object) -> str:
    """The action type of ``action_taken`` (``kill_pid:123`` -> ``kill_pid``), among the known ones."""
    if type(action_taken) is not str:
        return OTHER
    head = action_taken.partition(":")[0]
    return head if head in KNOWN_ACTIONS else OTHER


def _decoded(blocks: Iterator[bytes], stats: LineStats) -> Iterator[list[Line]]:
    """The registry lines of each block, decoded in one call; a block holding a bad line is
    decoded line by line, so one bad line costs only itself."""
    decode, decode_lines = _DECODER.decode, _DECODER.decode_lines
    for block in blocks:
        try:
            lines = decode_lines(block)
        except msgspec.DecodeError:  # ValidationError is one
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
    """One chunk of lines, counted. Nearly every line has a canonical timestamp in an hour already
    known to lie wholly on one side of every window edge, and a string ``action_taken``: those
    are counted by (hour, type, severity, result, action_taken) in C, and classified once per
    distinct key. The rest (an hour's first line, other timestamp forms, the edge hours, memory
    lines whose hog name a detector wants) are set aside and classified one by one."""

    def __init__(self, windows: Windows, tags: bool) -> None:
        self.windows, self.tags = windows, tags
        self.common: Counter[tuple[str, str, str, str, str]] = Counter()
        self.aside: list[Line] = []
        self.lines = 0
        self.actions: dict[str, str] = {}  # action_taken -> its type, across chunks (bounded)

    def add(self, lines: list[Line]) -> None:
        # ``uniform`` holds only real hours that no window edge cuts: an edge hour and a bogus one
        # never get there, and their lines go aside.
        tails, uniform, learn = CANONICAL_TAILS, self.windows.uniform, self.windows.classify
        keys: list[tuple[str, str, str, str, str]] = []
        aside = self.aside
        memory_aside = self.tags  # the hog's name is in the description: not part of the key
        for line in lines:
            ts, taken = line.ts, line.action_taken
            hour = ts[:13]
            if hour not in uniform and ts[13:] in tails:
                learn(ts)  # an hour's first line: is the whole hour on one side of every edge?
            if (hour in uniform and ts[13:] in tails and type(taken) is str
                    and not (memory_aside and line.type == "memory")):
                keys.append((hour, line.type, line.severity, line.action_result, taken))
            else:
                aside.append(line)
        self.common.update(keys)
        self.lines += len(lines)

    def digests(self, skips: _Skips) -> Counter[_Masked]:
        """This chunk's digests with their counts; the tally is empty again after."""
        out: Counter[_Masked] = Counter()
        uniform, classify, tags = self.windows.uniform, self.windows.classify, self.tags
        for (hour, kind, severity, result, taken), count in self.common.items():
            mask = uniform.get(hour)
            if mask is None:  # the cache was cleared since (only ever for garbage): learn it again
                mask = classify(hour + ":00:00Z")[1]
            if mask:
                tag = tag_of({"type": kind, "action_taken": taken}) if tags and kind in _TAGGED else None
                out[hour, mask, kind, severity, result, self._action(taken), tag] += count
        out.update(_digests(self.aside, self.windows, skips, tags))
        self.common.clear()
        self.aside.clear()
        self.lines = 0
        return out

    def _action(self, taken: str) -> str:
        action = self.actions.get(taken)
        if action is None:
            if len(self.actions) >= _ACTION_CACHE:
                self.actions.clear()
            action = self.actions[taken] = action_of(taken)
        return action


def _digests(lines: Iterable[Line], windows: Windows, skips: _Skips, tags: bool) -> Iterator[_Masked]:
    """One line at a time: the lines the tally set aside."""
    for line in lines:
        ts, kind, taken = line.ts, line.type, line.action_taken
        hour, mask = windows.classify(ts)
        if hour is None:
            skips.count += 1
            continue
        if not mask:
            continue
        tag = None
        if tags and kind in _TAGGED:
            tag = tag_of({"type": kind, "action_taken": taken, "description": line.description})
        yield hour, mask, kind, line.severity, line.action_result, action_of(taken), tag


def scan_registry(path: Path, accumulators: Sequence[Accumulator]) -> ScanResult:
    """Stream the registry (and its rotated copies) once; every usable record reaches each
    accumulator whose window holds it. Only the part of the history that can hold the widest
    window is read (``state.records``)."""
    windows = Windows([acc.now - acc.days * 86400 for acc in accumulators])
    stats, skips = LineStats(), _Skips()
    tally = _Tally(windows, tags=any(acc.wants_tags for acc in accumulators))
    since = min(windows.cutoffs) if windows.cutoffs else None
    # A report only reads: a symlink or directory there is an error to show (NotRegularFile).
    blocks = (block for generation, start in records.starts(path, since)
              for block in iter_jsonl_blocks(generation, stats, start))
    in_window = 0
    for lines in _decoded(blocks, stats):
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
