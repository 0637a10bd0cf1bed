"""The Prometheus text exposition (node_exporter's textfile collector): one renderer for
``argus stats --format prometheus`` and for the textfile a cycle writes (runtime/textfile.py).

Problems in the stats window are a gauge (they fall out of the window again). Cycles, LLM calls
and tokens are counters over the ``cycles.jsonl`` audit trail, each line added by ``count``: the
command counts what the file and its rotated copies hold, a cycle keeps running totals that never
go down (runtime/counters.py). The last
cycle's time, status and mode come from ``cycle-state.json`` and the last line (whichever is
newer: a skipped cycle leaves the state file alone but still writes a line); its health and
whether the rules stood in for the LLM from the last cycle that looked at the host (a skipped
one did not). Open incidents come from ``incidents.json``, the disk forecast from
``metrics.jsonl`` (reports/trends.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from argus_cli.reports.stats import StatsReport
from argus_cli.reports.trends import DiskTrend
from argus_cli.reports.window import parse_timestamp
from argus_cli.state.files import LineStats, Reporter, iter_jsonl, to_stderr
from argus_cli.state.layout import INCIDENTS, LABELS, CycleState, CycleTotals, Unusable
from argus_cli.state.records import generations

# The health a cycle records (runtime/records.HEALTH_ORDER, worse to the right) as a number, so an
# alert can say `argus_health >= 2`; a test keeps the two in step.
HEALTH = {"ok": 0, "blind": 1, "warning": 2, "critical": 3}
OTHER = "other"  # the label of what is past LABELS distinct values (only hand edits get there)
LABEL_CHARS = 64  # a status or a severity longer than this is a hand edit: cut, not exported whole
MAX_TOKENS = 10**9  # per cycle line; more is no LLM call, and would overflow the kept totals


@dataclass(frozen=True)
class Sources:
    """What one exposition is rendered from: the command reads each from its file, a cycle has
    most of them in hand."""

    problems: StatsReport  # the registry's stats window
    totals: CycleTotals  # cycles.jsonl, added up
    state: CycleState | None  # cycle-state.json
    trends: Sequence[DiskTrend] = ()
    incidents: Mapping[str, int] | None = None  # open incidents by severity; None: unknown


def count(totals: CycleTotals, record: Mapping[str, object]) -> None:
    """Add one cycles.jsonl line to ``totals``."""
    status = record.get("status")
    if type(status) is str:
        _bump(totals.statuses, status)
        totals.last_status = status
    mode = record.get("mode")
    mode = mode if type(mode) is str else "dry-run" if record.get("dry_run") is True else "act"
    _bump(totals.modes, mode)
    totals.last_mode = mode
    if record.get("llm_called") is True:
        totals.llm_calls += 1
    usage = record.get("usage")
    if isinstance(usage, dict):
        totals.input_tokens += _tokens(usage.get("input_tokens"))
        totals.output_tokens += _tokens(usage.get("output_tokens"))
    ts = record.get("ts")
    if type(ts) is str:
        totals.last_ts = ts
    if status != "skipped":  # a skipped cycle looked at nothing: the one before it still speaks
        health, decider = record.get("health"), record.get("decider")
        totals.last_health = health if type(health) is str else None
        totals.last_decider = decider if type(decider) is str else None


def _bump(counts: dict[str, int], key: str) -> None:
    key = key[:LABEL_CHARS]
    if key not in counts and len(counts) >= LABELS - 1:
        key = OTHER
    counts[key] = counts.get(key, 0) + 1


def _tokens(value: object) -> int:
    return value if type(value) is int and 0 < value <= MAX_TOKENS else 0


def cycle_totals(cycles_file: Path) -> CycleTotals:
    """Stream the whole of ``cycles.jsonl`` once, its rotated copies first (oldest first)."""
    totals = CycleTotals()
    lines = LineStats()
    for generation in reversed(generations(cycles_file)):
        for record in iter_jsonl(generation, lines):
            count(totals, record)
    totals.malformed = lines.malformed
    return totals


def open_incidents(state_dir: Path, report: Reporter = to_stderr) -> dict[str, int] | None:
    """The open incidents by severity (critical and warning always named); None when
    ``incidents.json`` is there but cannot be used (reported)."""
    try:
        book = INCIDENTS.read_strict(state_dir, report)
    except Unusable as exc:
        report(f"argus: open incidents left out: {exc}")
        return None
    counts = {"critical": 0, "warning": 0}
    for incident in book.open.values() if book is not None else ():
        _bump(counts, incident.severity)
    return counts


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


def render(sources: Sources) -> str:
    text = _Text()
    stats = sources.problems
    text.family("argus_problems", "gauge",
                f"Problems recorded in the last {stats.window_days} days, by type, severity and result.")
    for (kind, severity, result), number in sorted(stats.combos.items()):
        text.sample("argus_problems", number, _labels(type=kind, severity=severity, result=result))
    _render_counters(text, sources.totals)
    _render_last_cycle(text, sources.totals, sources.state)
    _render_incidents(text, sources.incidents)
    _render_disks(text, sources.trends)
    return "\n".join(text.lines) + "\n"


def _render_counters(text: _Text, totals: CycleTotals) -> None:
    text.family("argus_cycles_total", "counter", "Cycles recorded in cycles.jsonl, by status.")
    for status, number in sorted(totals.statuses.items()):
        text.sample("argus_cycles_total", number, _labels(status=status))
    text.family("argus_cycles_by_mode_total", "counter",
                "Cycles recorded in cycles.jsonl, by mode: act, observe (actions recorded, not run), dry-run.")
    for mode, number in sorted(totals.modes.items()):
        text.sample("argus_cycles_by_mode_total", number, _labels(mode=mode))
    text.family("argus_llm_calls_total", "counter", "Cycles that called the LLM.")
    text.sample("argus_llm_calls_total", totals.llm_calls)
    text.family("argus_llm_tokens_total", "counter", "LLM tokens used, by direction.")
    text.sample("argus_llm_tokens_total", totals.input_tokens, _labels(direction="input"))
    text.sample("argus_llm_tokens_total", totals.output_tokens, _labels(direction="output"))


def _render_last_cycle(text: _Text, totals: CycleTotals, state: CycleState | None) -> None:
    state = state or CycleState()
    stamps = [t for t in (_epoch(state.timestamp), _epoch(totals.last_ts)) if t is not None]
    text.family("argus_last_cycle_timestamp_seconds", "gauge", "Unix time of the last recorded cycle.")
    if stamps:
        text.sample("argus_last_cycle_timestamp_seconds", max(stamps))
    status = totals.last_status or state.status
    text.family("argus_last_cycle_status", "gauge", "1 for the status of the last recorded cycle.")
    if status:
        text.sample("argus_last_cycle_status", 1, _labels(status=status[:LABEL_CHARS]))
    mode = totals.last_mode or state.mode
    text.family("argus_last_cycle_mode", "gauge", "1 for the mode of the last recorded cycle (act, observe, dry-run).")
    if mode:
        text.sample("argus_last_cycle_mode", 1, _labels(mode=mode[:LABEL_CHARS]))
    failures = state.consecutive_failures
    text.family("argus_consecutive_failures", "gauge", "Consecutive failed cycles (cycle-state.json).")
    text.sample("argus_consecutive_failures", failures if type(failures) is int else 0)
    text.family("argus_health", "gauge", "The host as the last cycle that looked saw it: 0 ok, "
                "1 blind (nothing wrong in what it saw, but a check could not see), 2 warning, 3 critical.")
    if totals.last_health in HEALTH:
        text.sample("argus_health", HEALTH[totals.last_health])
    text.family("argus_llm_degraded", "gauge", "1 when the last cycle that looked wanted the LLM and the rules "
                "stood in (the call failed, was backed off, or there is no API key), else 0.")
    if totals.last_ts is not None:
        text.sample("argus_llm_degraded", 1 if totals.last_decider == "fallback" else 0)


def _render_incidents(text: _Text, incidents: Mapping[str, int] | None) -> None:
    text.family("argus_open_incidents", "gauge", "Open incidents by severity (incidents.json).")
    for severity, number in sorted((incidents or {}).items()):
        text.sample("argus_open_incidents", number, _labels(severity=severity))


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
