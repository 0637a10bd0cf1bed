"""Rich views of `argus stats` and `argus patterns analyze` (rendering only, no counting)."""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from argus_cli.model import iso_z
from argus_cli.reports.incidents import IncidentHistory
from argus_cli.reports.patterns import Pattern, PatternAnalysis
from argus_cli.reports.scan import ScanResult
from argus_cli.reports.stats import StatsReport
from argus_cli.reports.trends import DiskTrend
from argus_cli.text import truncate

# Severity order, style and a glyph that still tells them apart under NO_COLOR.
_SEVERITIES = (("critical", "red", "█"), ("warning", "yellow", "▓"), ("info", "blue", "░"))
_BAR_WIDTH = 40
_SUBJECT_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("subject", "left"), ("count", "right"), ("first seen", "left"), ("last seen", "left"), ("open", "right"))


def render_stats(console: Console, report: StatsReport, scan: ScanResult | None = None) -> None:
    data = report.to_dict()
    source = f" {scan.path}," if scan is not None else ","
    console.print(Text(f"Argus registry{source} {data['window_days']} days to {data['generated_at'][:10]} "
                       f"(generated {data['generated_at']})", style="bold"))
    console.print(f"{data['total_problems']} problems")
    if not data["total_problems"]:
        if scan is not None:
            console.print(Text(_nothing_in_window(scan, data["window_days"])))
        return
    console.print(Text(_remediation_line(report)))
    console.print(Text(f"seed-compatible action success rate {data['action_success_rate']:.2f}% "
                       "(every line, log observations and alerts included)", style="dim"))
    tables = [_counts("type", data["by_type"]), _counts("severity", data["by_severity"]),
              _counts("result", data["action_results"])]
    grid = Table.grid(padding=(0, 2))
    grid.add_row(*tables)
    console.print(grid)
    console.print(_daily_chart(report.daily_by_severity()))


def _remediation_line(report: StatsReport) -> str:
    """``remediations: kill_pid 1 of 2 succeeded (50%); notifications: alert 24, log 91``."""
    remediation = report.remediation()
    parts = [(f"{action} {f['succeeded']} of {f['attempted']} succeeded ({f['success_rate']:g}%)"
              if f["success_rate"] is not None else f"{action} not attempted") + _not_attempted(f["results"])
             for action, f in remediation["by_action"].items()]
    line = "remediations: " + ("; ".join(parts) if parts else "none attempted")
    told = {action: sum(results.values()) for action, results in report.results_by_action(False).items()}
    if told:
        line += "; notifications and observations: " + ", ".join(f"{a} {n}" for a, n in told.items())
    return line


def _not_attempted(results: Mapping[str, int]) -> str:
    others = {result: n for result, n in results.items() if result not in ("success", "failure")}
    return f" (+ {', '.join(f'{n} {r}' for r, n in others.items())})" if others else ""


def _nothing_in_window(scan: ScanResult, days: int) -> str:
    """Why the window is empty: a quiet host, a registry that lies outside it, or none at all (a wrong
    ARGUS_PROBLEMS_FILE must not look like a healthy host)."""
    held = scan.history
    if held is None or not held.files:
        return f"no registry at {scan.path}: nothing was ever recorded there (is ARGUS_PROBLEMS_FILE right?)"
    if held.lines:
        span = (f" from {iso_z(held.oldest)} to {iso_z(held.newest)}"
                if held.oldest is not None and held.newest is not None else "")
        return (f"{held.lines} line(s) in the registry{span}, none in the last {days} days "
                "(--window-days N looks further back)")
    return "the registry is empty: no problem recorded yet"


def _counts(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=f"by {title}", show_edge=False)
    table.add_column(title)
    table.add_column("count", justify="right")
    for key, count in sorted(counts.items(), key=lambda item: -item[1]):
        table.add_row(Text(truncate(key)), str(count))  # registry strings are data: no markup, no escapes
    return table


QUIET_RUN = 7  # days in a row without a problem that the chart folds into one row


def _daily_chart(all_days: dict[str, dict[str, int]]) -> Table:
    """One bar per day, segmented by severity, scaled to the busiest day, from the first day with a
    problem to today. Days without one are shown (a gap is news); a week or more of them is one
    row saying how many, so a long window stays readable."""
    first = next((day for day, counts in all_days.items() if counts), None)
    days = [(day, counts) for day, counts in all_days.items() if first is not None and day >= first]
    table = Table(title="problems per day (█ critical ▓ warning ░ info)", show_edge=False, show_header=False)
    table.add_column("day")
    table.add_column("bar")
    table.add_column("count", justify="right")
    peak = max((sum(c.values()) for _, c in days), default=0) or 1
    quiet: list[str] = []
    for day, counts in [*days, ("", {"end": 1})]:  # a sentinel ends the last run of quiet days
        if not counts:
            quiet.append(day)
            continue
        if len(quiet) >= QUIET_RUN:
            table.add_row(f"{quiet[0]} … {quiet[-1]}", Text(f"{len(quiet)} days without a problem", style="dim"), "0")
        else:
            for empty in quiet:
                table.add_row(empty, Text(""), "0")
        quiet = []
        if day:
            table.add_row(day, _bar(counts, peak), str(sum(counts.values())))
    return table


def _bar(counts: dict[str, int], peak: int) -> Text:
    bar = Text()
    for name, style, glyph in _SEVERITIES:
        count = counts.get(name, 0)
        bar.append(glyph * (round(count * _BAR_WIDTH / peak) or (1 if count else 0)), style=style)
    other = sum(v for k, v in counts.items() if k not in {s[0] for s in _SEVERITIES})
    if other:
        bar.append("·" * max(1, round(other * _BAR_WIDTH / peak)))
    return bar


def render_patterns(console: Console, analysis: PatternAnalysis) -> None:
    patterns = analysis["patterns"]
    console.print(Text(f"Argus patterns, last {analysis['window_days']} days: {analysis['total_problems']} "
                       f"problems, {len(patterns)} pattern(s)", style="bold"))
    if patterns:
        table = Table(show_edge=False)
        for column in ("id", "severity", "summary", "recommendation"):
            table.add_column(column, overflow="fold")
        styles = {name: style for name, style, _ in _SEVERITIES}
        for pattern in patterns:
            # ids and summaries carry process names from the registry: Text, so they are never markup
            severity = pattern["severity"]
            table.add_row(Text(truncate(pattern["id"])), Text(truncate(severity), style=styles.get(severity, "")),
                          Text(truncate(pattern["summary"], 1000)), Text(truncate(pattern["recommendation"], 1000)))
        console.print(table)
    if "hour_of_day" in analysis and analysis["total_problems"]:  # the seed's report (--compat) has none
        console.print(_hour_chart(analysis["hour_of_day"], _standing_hours(patterns)))


def _standing_hours(patterns: list[Pattern]) -> set[str]:
    for pattern in patterns:
        hours = pattern["data"].get("hours_utc") if pattern["type"] == "time_correlation" else None
        if isinstance(hours, list):
            return set(hours)
    return set()


def _hour_chart(counts: dict[str, int], standing: set[str]) -> Table:
    """All 24 UTC hours of day, one bar each, scaled to the busiest; the hours that stand out
    against the others (the time-correlation finding) are drawn solid and marked, so the mark
    survives NO_COLOR."""
    table = Table(title="problems per UTC hour of day (█ stands out against the other hours)",
                  show_edge=False, show_header=False)
    for justify in ("left", "left", "right", "left"):
        table.add_column(justify=justify)
    peak = max(counts.values(), default=0) or 1
    for hour, count in counts.items():
        out = hour in standing
        bar = ("█" if out else "░") * (round(count * _BAR_WIDTH / peak) or (1 if count else 0))
        table.add_row(f"{hour}:00", Text(bar, style="bold red" if out else "blue"), str(count),
                      Text("◀ stands out", style="bold") if out else "")
    return table


def render_top_subjects(console: Console, history: IncidentHistory) -> None:
    """The subjects whose incidents recur most; one line when there is nothing to rank."""
    if not history.exists:  # said, so an empty section is not mistaken for a quiet host
        console.print(Text(f"no incident history yet: {history.path}"))
        return
    if not history.top_subjects:
        console.print(f"no incidents in the last {history.window_days} days")
        return
    table = Table(title=f"top recurring subjects, last {history.window_days} days", show_edge=False)
    for column, justify in _SUBJECT_COLUMNS:
        table.add_column(column, justify=justify, overflow="fold")
    for entry in history.top_subjects:
        # subjects carry host names (services, tmux sessions): Text, never markup
        table.add_row(Text(truncate(entry["subject"])), str(entry["count"]), entry["first_seen"], entry["last_seen"],
                      _duration(entry["open_seconds"]))
    console.print(table)


def render_disk_trends(console: Console, trends: list[DiskTrend], days: int) -> None:
    """Each disk's fill rate and forecast; says so when there is no history to measure it on."""
    if not trends:
        console.print(f"no disk measurements in the last {days} days (metrics.jsonl: every cycle writes one line)")
        return
    table = Table(title=f"disk trends, last {days} days", show_edge=False)
    for column in ("disk", "now", "per day", "full in"):
        table.add_column(column, justify="left" if column == "disk" else "right")
    for trend in trends:
        rate = "too few readings" if trend.rate_per_day is None else f"{trend.rate_per_day:+.2f}%"
        full = "-" if trend.days_to_full is None else f"{trend.days_to_full:.1f} days"
        table.add_row(Text(truncate(trend.path)), f"{trend.percent:.1f}%", rate, full)
    console.print(table)


def _duration(seconds: int) -> str:
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 60:
        return f"{seconds}s"
    if minutes < 60:
        return f"{minutes}m"
    if hours < 24:
        return f"{hours}h {minutes % 60:02d}m"
    return f"{hours // 24}d {hours % 24:02d}h"
