"""``argus stats --format prometheus``: the node_exporter textfile-collector format.

Problems in the window are a gauge (they fall out of the window again); cycles, LLM calls and
tokens are counters summed over the whole ``cycles.jsonl`` audit trail. The last cycle's time,
status and consecutive failures are gauges taken from ``cycle-state.json`` and the last line of
``cycles.jsonl`` (whichever is newer: a skipped cycle leaves the state file alone but still
writes a line).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from argus_cli.reports.stats import StatsReport
from argus_cli.reports.trends import DiskTrend
from argus_cli.reports.window import parse_timestamp
from argus_cli.state.files import LineStats, iter_jsonl
from argus_cli.state.layout import CycleState


@dataclass
class CycleTotals:
    by_status: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    llm_calls: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: {"input": 0, "output": 0})
    last_ts: str | None = None
    last_status: str | None = None
    last_mode: str | None = None
    by_mode: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped_lines: int = 0

    def add(self, record: Mapping[str, object]) -> None:
        status = record.get("status")
        if type(status) is str:
            self.by_status[status] += 1
            self.last_status = status
        mode = record.get("mode")
        mode = mode if type(mode) is str else "dry-run" if record.get("dry_run") is True else "act"
        self.by_mode[mode] += 1
        self.last_mode = mode
        if record.get("llm_called") is True:
            self.llm_calls += 1
        usage = record.get("usage")
        if isinstance(usage, dict):
            for direction in ("input", "output"):
                value = usage.get(f"{direction}_tokens")
                if type(value) is int and value > 0:
                    self.tokens[direction] += value
        ts = record.get("ts")
        if type(ts) is str:
            self.last_ts = ts


def cycle_totals(cycles_file: Path) -> CycleTotals:
    """Stream ``cycles.jsonl`` once."""
    totals = CycleTotals()
    lines = LineStats()
    for record in iter_jsonl(cycles_file, lines):
        totals.add(record)
    totals.skipped_lines = lines.malformed
    return totals


def _epoch(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        moment = parse_timestamp(value)
        return moment.timestamp() if moment else None
    return None


def escape_label(value: str) -> str:
    """Label value escaping of the text exposition format: backslash, quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, labels: str = "") -> None:
        self.lines.append(f"{name}{labels} {_number(value)}")


def render(stats: StatsReport, totals: CycleTotals, state: CycleState | None,
           trends: Sequence[DiskTrend] = ()) -> str:
    text = _Text()
    text.family("argus_problems", "gauge",
                f"Problems recorded in the last {stats.window_days} days, by type, severity and result.")
    for (kind, severity, result), count in sorted(stats.combos.items()):
        text.sample("argus_problems", count, _labels(type=kind, severity=severity, result=result))
    text.family("argus_cycles_total", "counter", "Cycles recorded in cycles.jsonl, by status.")
    for status, count in sorted(totals.by_status.items()):
        text.sample("argus_cycles_total", count, _labels(status=status))
    text.family("argus_cycles_by_mode_total", "counter",
                "Cycles recorded in cycles.jsonl, by mode: act, observe (actions recorded, not run), dry-run.")
    for mode, count in sorted(totals.by_mode.items()):
        text.sample("argus_cycles_by_mode_total", count, _labels(mode=mode))
    text.family("argus_llm_calls_total", "counter", "Cycles that called the LLM.")
    text.sample("argus_llm_calls_total", totals.llm_calls)
    text.family("argus_llm_tokens_total", "counter", "LLM tokens used, by direction.")
    for direction in ("input", "output"):
        text.sample("argus_llm_tokens_total", totals.tokens[direction], _labels(direction=direction))
    _render_last_cycle(text, totals, state)
    _render_disks(text, trends)
    return "\n".join(text.lines) + "\n"


def _render_disks(text: _Text, trends: Sequence[DiskTrend]) -> None:
    """The fill rate and forecast of each disk with enough readings (metrics.jsonl)."""
    measured = [t for t in trends if t.rate_per_day is not None]
    text.family("argus_disk_fill_rate_percent_per_day", "gauge",
                "Percentage points a day each disk fills (least squares over the stats window).")
    for trend in measured:
        text.sample("argus_disk_fill_rate_percent_per_day", round(trend.rate_per_day or 0.0, 4),
                    _labels(path=trend.path))
    text.family("argus_disk_days_to_full", "gauge", "Days until each filling disk is full at that rate.")
    for trend in measured:
        if trend.days_to_full is not None:
            text.sample("argus_disk_days_to_full", round(trend.days_to_full, 2), _labels(path=trend.path))


def _render_last_cycle(text: _Text, totals: CycleTotals, state: CycleState | None) -> None:
    state = state or CycleState()
    stamps = [t for t in (_epoch(state.timestamp), _epoch(totals.last_ts)) if t is not None]
    text.family("argus_last_cycle_timestamp_seconds", "gauge", "Unix time of the last recorded cycle.")
    if stamps:
        text.sample("argus_last_cycle_timestamp_seconds", max(stamps))
    status = totals.last_status or state.status
    text.family("argus_last_cycle_status", "gauge", "1 for the status of the last recorded cycle.")
    if status:
        text.sample("argus_last_cycle_status", 1, _labels(status=status))
    mode = totals.last_mode or state.mode
    text.family("argus_last_cycle_mode", "gauge", "1 for the mode of the last recorded cycle (act, observe, dry-run).")
    if mode:
        text.sample("argus_last_cycle_mode", 1, _labels(mode=mode))
    failures = state.consecutive_failures
    text.family("argus_consecutive_failures", "gauge", "Consecutive failed cycles (cycle-state.json).")
    text.sample("argus_consecutive_failures", failures if type(failures) is int else 0)
