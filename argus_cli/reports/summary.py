"""``argus relay-summary``: stats + patterns as one ``argus.daily_summary`` event.

The payload keeps the original's shape (``problems_url`` carries ``ARGUS_DASHBOARD_URL``) so its
consumers keep working, and adds ``incidents``: how many were opened and resolved in the stats
window and how many are still open (``reports.incidents``). Relay rejects bodies over 64 KiB,
so a payload that would be larger loses whole elements, never bytes: the pattern list is cut
from its end (info-level time clusters go first), then the oldest hourly and daily buckets;
each cut is counted in an ``*_omitted`` field. Delivery (Relay, its fallback file, Telegram) is
``notify/summary.py``'s: reports aggregate, they never send (docs/ARCHITECTURE.md §2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from argus_cli.config import Config
from argus_cli.model import iso_z
from argus_cli.reports.incidents import IncidentCounts
from argus_cli.reports.patterns import PatternAccumulator, PatternAnalysis, measured_disks
from argus_cli.reports.scan import ScanResult, scan_registry
from argus_cli.reports.stats import StatsAccumulator, StatsJson

MAX_BODY = 64 * 1024 - 1024  # Relay's 64 KiB limit, with room for its own envelope


@dataclass(frozen=True)
class Summary:
    """The daily summary, ready to send: ``payload`` already fits Relay's limit."""

    payload: dict[str, object]
    omitted: dict[str, int]  # list name -> elements cut to fit
    scan: ScanResult

    @property
    def text(self) -> str:
        """The one-line summary the command prints and Telegram gets when Relay fails."""
        return str(self.payload["summary"])


def collect(config: Config, now: float, days: int | None = None) -> tuple[StatsJson, PatternAnalysis, ScanResult]:
    """Stats and patterns from ONE pass over the registry, each with its own window (``days``:
    one window for both, this run only)."""
    stats = StatsAccumulator(now, days or config.stats_window_days)
    patterns = PatternAccumulator(now, days or config.pattern_window_days)
    scan = scan_registry(config.problems_file, [stats, patterns])
    disks = measured_disks(config.state_dir, now, patterns.days)
    return stats.report().to_dict(), patterns.report(disks), scan


def summary_text(stats: StatsJson, analysis: PatternAnalysis, incidents: IncidentCounts,
                 dashboard_url: str, now: float | None = None) -> str:
    """The seed's line (its readers parse the fields from the start), then the window it covers:
    a count means nothing without it."""
    text = (f"Argus daily summary: problems={stats['total_problems']}, "
            f"success_rate={stats['action_success_rate']:.1f}%, patterns={len(analysis['patterns'])}, "
            f"incidents opened={incidents['opened']} resolved={incidents['resolved']}")
    if now is not None:
        text = f"{text}, {window_text(stats['window_days'], analysis['window_days'], now)}"
    return f"{text}, dashboard={dashboard_url}" if dashboard_url else text


def window_text(stats_days: int, pattern_days: int, now: float) -> str:
    """``window_days=7, window_end=2026-11-30`` (and the patterns' when it differs), as key=value
    pairs like the rest of the line, for readers that split it."""
    patterns = f", pattern_window_days={pattern_days}" if pattern_days != stats_days else ""
    return f"window_days={stats_days}, window_end={iso_z(now)[:10]}{patterns}"


def build_payload(stats: StatsJson, analysis: PatternAnalysis, incidents: IncidentCounts, now: float,
                  dashboard_url: str) -> dict[str, object]:
    # incidents is four numbers: fit() never needs to cut it, and its headline fallback keeps it
    return {"type": "summary", "source": "argus", "event": "argus.daily_summary",
            "timestamp": iso_z(now), "summary": summary_text(stats, analysis, incidents, dashboard_url, now),
            "problems_url": dashboard_url or None, "stats": stats, "patterns": analysis,
            "incidents": incidents}


def body_size(payload: Mapping[str, object]) -> int:
    return len(orjson.dumps(payload))


# fit cuts the two reports generically (any list in either), so it reads them as plain JSON objects.

def _section(payload: Mapping[str, object], name: str) -> dict[str, object]:
    value = payload.get(name)
    return value if isinstance(value, dict) else {}


def fit(payload: dict[str, object], limit: int = MAX_BODY) -> tuple[dict[str, object], dict[str, int]]:
    """``payload`` with whole list elements dropped until its JSON is at most ``limit`` bytes."""
    omitted: dict[str, int] = {}
    steps: tuple[tuple[str, str, bool], ...] = (
        ("patterns", "patterns", True), ("stats", "hourly", False), ("stats", "daily", False))
    for section, key, keep_head in steps:
        if body_size(payload) <= limit:
            break
        payload, dropped = _trim(payload, section, key, keep_head, limit)
        if dropped:
            omitted[key] = dropped
    if body_size(payload) > limit:  # only absurd values (megabyte type names) get here
        payload = {**payload, "stats": _headline(_section(payload, "stats")),
                   "patterns": _headline(_section(payload, "patterns"))}
        omitted["detail"] = 1
    return payload, omitted


def _trim(payload: dict[str, object], section: str, key: str, keep_head: bool,
          limit: int) -> tuple[dict[str, object], int]:
    """Binary search for the most elements of payload[section][key] that still fit."""
    part = _section(payload, section)
    items = part.get(key)
    if not isinstance(items, list):
        return payload, 0

    def with_count(n: int) -> dict[str, object]:
        kept = items[:n] if keep_head else items[len(items) - n:] if n else []
        return {**payload, section: {**part, key: kept, f"{key}_omitted": len(items) - n}}

    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if body_size(with_count(mid)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return with_count(lo), len(items) - lo


def _headline(section: Mapping[str, object]) -> dict[str, object]:
    keep = ("generated_at", "window_days", "total_problems", "action_success_rate")
    return {k: section[k] for k in keep if k in section}


def daily_summary(config: Config, now: float, incidents: IncidentCounts, days: int | None = None) -> Summary:
    """Build the daily summary and fit it under Relay's limit; sending it is the caller's.

    ``incidents`` is read by the caller (``reports.incidents``), so an unreadable incident log
    is reported under its own name. ``days``: one window for this run instead of the configured."""
    stats, analysis, scan = collect(config, now, days)
    payload, omitted = fit(build_payload(stats, analysis, incidents, now, config.dashboard_url))
    return Summary(payload, omitted, scan)
