"""What ``argus report --html`` shows, gathered from the state directory: data only, drawn by
reports/html.py.

Each file is read once: the registry in one pass (reports/scan.py), the incident log forward
(reports/incidents.py), and the time-ordered logs (cycles.jsonl, metrics.jsonl) from their end
back to the window's edge, so the cost follows the window, not the history. A file that cannot
be read is not the end of the page: it is named under "what Argus could not see", with what the
readers skipped. Only the registry, the report's backbone, is an error (as for ``argus stats``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, cast

from argus_cli.reports.incidents import IncidentHistory, read_incidents
from argus_cli.reports.scan import ScanResult, scan_registry
from argus_cli.reports.stats import StatsAccumulator, StatsReport
from argus_cli.reports.trends import DAY, FUTURE_SLACK, MAX_DISKS, STRAY_LINES, DiskTrend, Read, disk_trends
from argus_cli.reports.window import parse_timestamp
from argus_cli.state.files import LineStats, Reporter, accepts, to_stderr
from argus_cli.state.layout import CYCLE_STATE, CYCLES, INCIDENT_LOG, INCIDENTS, METRICS, CycleState, Incident
from argus_cli.state.records import generations, iter_backwards

BUCKETS = 240  # time slots a line chart averages its readings into: enough for a phone or a page
GAP = 900.0  # seconds without a cycle that count as a gap (`argus status` calls a cycle stale then)
GAPS_SHOWN = 5
FAILED_SHOWN = 5
T = TypeVar("T")


def day_of(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def _epoch(value: object) -> float | None:
    moment = parse_timestamp(value) if isinstance(value, str) else None
    return moment.timestamp() if moment is not None else None


def _count(value: object) -> int:
    return value if type(value) is int and value > 0 else 0


def _text(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _maps(value: object) -> list[Mapping[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# --- cycles.jsonl -----------------------------------------------------------------------------------

@dataclass
class DayCycles:
    """One UTC day of cycles: how many by verdict, and what the LLM cost."""

    verdicts: Counter[str] = field(default_factory=Counter)  # health, or failed / skipped by status
    llm_calls: int = 0
    llm_failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class LastCycle:
    ts: str
    epoch: float
    status: str
    health: str | None  # None: a line from before health was recorded
    decider: str | None
    mode: str
    detail: str


@dataclass
class CycleDigest:
    """The window's cycles folded into counters; nothing per cycle is kept."""

    days: dict[str, DayCycles]
    now: float
    last: LastCycle | None = None  # the newest cycle that ran (a skipped one saw nothing)
    actions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, status), real cycles only
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, fixed|unchanged|worse)
    collector_errors: Counter[str] = field(default_factory=Counter)  # collector -> cycles it failed in
    collector_said: dict[str, str] = field(default_factory=dict)  # collector -> its latest error
    other_errors: Counter[str] = field(default_factory=Counter)  # "step: ..." -> cycles
    failed: list[tuple[str, str]] = field(default_factory=list)  # (ts, detail), newest first
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (from, to) without a cycle
    cycles: int = 0
    older: bool = False  # lines before the window: the file is not new, the window is quiet
    lines: LineStats = field(default_factory=LineStats)
    foreign: int = 0  # JSON lines that are not a cycle's

    def add(self, record: Mapping[str, object], epoch: float) -> None:
        self.cycles += 1
        status, health = _text(record.get("status")), record.get("health")
        # a line from a clock ahead counts on today, not on a day to come
        day = self.days.setdefault(day_of(min(epoch, self.now)), DayCycles())
        verdict = status if status in ("failed", "skipped") else _text(health, "unknown")
        day.verdicts[verdict] += 1
        if status == "skipped":
            return  # another cycle held the lock: this one saw and did nothing
        if self.last is None:
            mode = _text(record.get("mode")) or ("dry-run" if record.get("dry_run") is True else "act")
            self.last = LastCycle(_text(record.get("ts")), epoch, status, health if isinstance(health, str) else None,
                                  _text(record.get("decider")) or None, mode, _text(record.get("detail")))
        if status == "failed" and len(self.failed) < FAILED_SHOWN:
            self.failed.append((_text(record.get("ts")), _text(record.get("detail"))))
        self._llm(day, record)
        self._errors(record.get("errors"))
        if record.get("dry_run") is not True:  # a dry run changed nothing and judged nothing
            self._acted(record)

    def _llm(self, day: DayCycles, record: Mapping[str, object]) -> None:
        if record.get("llm_called") is not True:
            return
        day.llm_calls += 1
        day.llm_failed += isinstance(record.get("llm_error"), str)
        usage = record.get("usage")
        if isinstance(usage, dict):
            day.input_tokens += _count(usage.get("input_tokens"))
            day.output_tokens += _count(usage.get("output_tokens"))

    def _errors(self, errors: object) -> None:
        said: dict[str, str] = {}
        for error in errors if isinstance(errors, list) else []:
            if isinstance(error, str):
                name, _, text = error.partition(":")  # "collector disks: timed out", "decide: ..."
                said.setdefault(name, text.strip())
        for name, text in said.items():
            if name.startswith("collector "):
                collector = name.removeprefix("collector ")
                self.collector_errors[collector] += 1
                self.collector_said.setdefault(collector, text)  # read newest first: the latest
            elif not name.startswith("... and"):
                self.other_errors[name] += 1

    def _acted(self, record: Mapping[str, object]) -> None:
        for action in _maps(record.get("actions")):
            self.actions[_text(action.get("type"), "?"), _text(action.get("status"), "?")] += 1
        incidents = record.get("incidents")
        for verdict in _maps(incidents.get("outcomes") if isinstance(incidents, dict) else None):
            self.outcomes[_text(verdict.get("type"), "?"), _text(verdict.get("outcome"), "?")] += 1


def read_cycles(state_dir: Path, now: float, days: list[str], window_days: int,
                report: Reporter = to_stderr) -> CycleDigest:
    """The cycles of ``[now - window_days, +inf)``, read from the end of cycles.jsonl (and the
    copies rotation left); ``report`` hears of a file that is not a regular one."""
    from argus_cli.runtime.records import valid_cycle_line  # the one shape of a cycle line

    edge = now - window_days * DAY
    digest = CycleDigest(days={day: DayCycles() for day in days}, now=now)
    newer, streak = now, 0
    for record in iter_backwards(state_dir / CYCLES, stats=digest.lines, report=report):
        epoch = _epoch(record.get("ts"))
        if epoch is None or not accepts(valid_cycle_line, record):
            digest.foreign += 1
            continue
        if epoch < edge:
            digest.older = True
            streak += 1  # one line from a clock set back is not the window's edge
            if streak >= STRAY_LINES:
                break
            continue
        streak = 0
        _note_gap(digest, epoch, newer)
        newer = min(newer, epoch)
        digest.add(record, epoch)
    _note_gap(digest, edge, newer)
    digest.gaps = sorted(sorted(digest.gaps, key=lambda gap: gap[0] - gap[1])[:GAPS_SHOWN])  # the longest, in order
    return digest


def _note_gap(digest: CycleDigest, older: float, newer: float) -> None:
    if newer - older > GAP:
        digest.gaps.append((older, newer))


# --- metrics.jsonl ----------------------------------------------------------------------------------

@dataclass
class Series:
    """One measurement over the window, averaged into ``BUCKETS`` time slots (memory stays flat)."""

    sums: list[float] = field(default_factory=lambda: [0.0] * BUCKETS)
    counts: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def add(self, slot: int, value: float) -> None:
        self.sums[slot] += value
        self.counts[slot] += 1

    def points(self) -> list[tuple[int, float]]:
        """(slot, mean) of the slots with a reading; a slot without one is a gap, not a zero."""
        return [(slot, self.sums[slot] / n) for slot, n in enumerate(self.counts) if n]


@dataclass
class MetricsHistory:
    memory: Series = field(default_factory=Series)
    disks: dict[str, Series] = field(default_factory=dict)
    readings: int = 0
    read: Read = field(default_factory=Read)


def _percent(value: object) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100
    return float(cast(float, value)) if ok else None


def read_metrics(state_dir: Path, now: float, window_days: int, report: Reporter = to_stderr) -> MetricsHistory:
    """Memory and each disk's usage over the window, from metrics.jsonl and its rotated copies."""
    edge = now - window_days * DAY
    history = MetricsHistory()
    for when, line in _metric_lines(state_dir, edge, now, history.read, report):
        slot = min(BUCKETS - 1, int((when - edge) / (now - edge) * BUCKETS))
        history.readings += 1
        memory = _percent(line.get("mem"))
        if memory is not None:
            history.memory.add(slot, memory)
        disks = line.get("disk")
        for path, value in list(disks.items())[:MAX_DISKS] if isinstance(disks, dict) else ():
            percent = _percent(value)
            if percent is not None and (path in history.disks or len(history.disks) < MAX_DISKS):
                history.disks.setdefault(str(path), Series()).add(slot, percent)
    return history


def _metric_lines(state_dir: Path, edge: float, now: float, read: Read,
                  report: Reporter) -> Iterator[tuple[float, Mapping[str, object]]]:
    """Lines of the window, newest first, as reports/trends.py reads them (same edge, same slack)."""
    streak = 0
    for line in iter_backwards(state_dir / METRICS, stats=read.lines, report=report):
        when = _epoch(line.get("ts"))
        if when is None:
            continue
        if when > now + FUTURE_SLACK:
            read.future += 1
        elif when < edge:
            streak += 1
            if streak >= STRAY_LINES:
                return
        else:
            streak = 0
            yield min(when, now), line


# --- the whole page's data --------------------------------------------------------------------------

@dataclass
class Overview:
    host: str
    now: float
    window_days: int
    stats: StatsReport
    registry: ScanResult
    registry_exists: bool
    incidents: IncidentHistory | None  # None: incidents.jsonl could not be read (see ``unreadable``)
    open_incidents: list[Incident] | None  # None: no incident book (none yet, or unusable)
    cycle_state: CycleState | None
    cycles: CycleDigest
    trends: list[DiskTrend]
    metrics: MetricsHistory
    unreadable: list[str] = field(default_factory=list)  # a file that could not be used, one line each

    def skipped(self) -> list[str]:
        """What each reader passed over, one line per file that had something to skip."""
        out = [self.registry.warning(), self.incidents.warning() if self.incidents else None,
               self.metrics.read.warning()]
        if self.cycles.lines.malformed or self.cycles.foreign:
            out.append(f"argus: skipped {self.cycles.lines.malformed + self.cycles.foreign} line(s) of "
                       f"{self.cycles.lines.lines} in {CYCLES} that are not a cycle's record")
        return [line for line in out if line]


def gather(state_dir: Path, problems_file: Path, host: str, now: float, window_days: int) -> Overview:
    """Everything the page shows. An OSError from the registry propagates (the caller's one line)."""
    accumulator = StatsAccumulator(now, window_days)
    scan = scan_registry(problems_file, [accumulator])
    stats = accumulator.report()
    unreadable: list[str] = []
    guarded = _Guarded(unreadable)
    book = guarded(INCIDENTS.name, lambda: INCIDENTS.read(state_dir, report=unreadable.append))
    history = guarded(INCIDENT_LOG, lambda: read_incidents(state_dir / INCIDENT_LOG, now, window_days))
    state = guarded(CYCLE_STATE.name, lambda: CYCLE_STATE.read(state_dir, report=unreadable.append))
    cycles = guarded(CYCLES, lambda: read_cycles(state_dir, now, stats.days(), window_days, unreadable.append))
    trends = guarded(METRICS, lambda: disk_trends(state_dir, now, window_days)[0])
    metrics = guarded(METRICS, lambda: read_metrics(state_dir, now, window_days, unreadable.append))
    return Overview(
        host=host, now=now, window_days=window_days, stats=stats, registry=scan,
        registry_exists=bool(generations(problems_file)), incidents=history,
        open_incidents=None if book is None else sorted(book.open.values(), key=lambda i: -i.opened),
        cycle_state=state, cycles=cycles or CycleDigest(days={day: DayCycles() for day in stats.days()}, now=now),
        trends=trends or [], metrics=metrics or MetricsHistory(), unreadable=unreadable)


class _Guarded:
    """Runs one reader; an OSError (a directory where a file belongs, no permission) is noted, not fatal."""

    def __init__(self, unreadable: list[str]) -> None:
        self.unreadable = unreadable

    def __call__(self, name: str, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except OSError as exc:
            self.unreadable.append(f"argus: could not read {exc.filename or name}: {exc.strerror or exc}")
            return None
