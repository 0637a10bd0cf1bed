"""Registry statistics: counts over the last ``window_days``, pure aggregation.

``action_success_rate`` is the percentage of in-window problems whose ``action_result`` is
``success``, unrounded as the original script printed it (0.0 for an empty window): kept for the
seed's consumers, but it counts every log line and alert as a success. ``remediation`` is the
figure to read: per host-changing action type, the attempts (``success`` + ``failure``; a request
the guardrails rejected, observed or held for approval was not attempted) and how many
succeeded. Buckets are UTC and sorted ascending. The window edge is inclusive (see
``reports.window``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NotRequired, TypedDict

from argus_cli.model import ACTIONS, iso_z
from argus_cli.reports.incidents import TopSubject
from argus_cli.reports.scan import ActionDigest, ScanResult, scan_registry

# Actions that change the host: the decider's, the orphan sweep, and the seed's orphan monitor.
REMEDIATIONS = frozenset({*(name for name, kind in ACTIONS.items() if kind.changes_host),
                          "orphan_sweep", "monitor_orphan_tests"})
SEED_RATE_NOTE = ("every line counted, log observations and alerts included, as the seed computed it; "
                  "see remediation for the host-changing actions alone")


class Bucket(TypedDict):
    bucket: str  # "YYYY-MM-DDTHH:00Z" (hourly) or "YYYY-MM-DD" (daily)
    count: int


class StatsJson(TypedDict):
    """The report's JSON schema, as the README's Reports section documents it."""

    generated_at: str
    window_days: int
    total_problems: int
    by_type: dict[str, int]
    by_severity: dict[str, int]
    action_results: dict[str, int]
    action_success_rate: float  # the seed's figure (SEED_RATE_NOTE)
    hourly: list[Bucket]
    daily: list[Bucket]
    # Not the original script's: `argus stats` adds it from incidents.jsonl; the registry pass
    # and the Relay summary's copy of the stats leave it out.
    top_subjects: NotRequired[list[TopSubject]]
    per_day: NotRequired[list[dict[str, object]]]  # every day of the window, zero days too (seed: `daily`)
    disk_trends: NotRequired[list[dict[str, object]]]  # reports/trends.py, from metrics.jsonl
    registry: NotRequired[dict[str, object]]  # the file read: path, exists, lines, skipped
    remediation: NotRequired[Remediation]
    notifications: NotRequired[dict[str, dict[str, int]]]  # alert, log, escalate...: results by type
    notes: NotRequired[dict[str, str]]  # what a seed-compatible figure counts


class ActionFigures(TypedDict):
    attempted: int  # success + failure
    succeeded: int
    success_rate: float | None  # percent of attempts; None when nothing was attempted
    results: dict[str, int]  # every result, the rejected, observed and pending ones too


class Remediation(TypedDict):
    attempted: int
    succeeded: int
    success_rate: float | None
    by_action: dict[str, ActionFigures]


class StatsAccumulator:
    """Counters by (type, severity, result) and by (hour, severity): all the report needs."""

    wants_tags = False
    wants_actions = True

    def __init__(self, now: float, days: int) -> None:
        self.now, self.days = now, days
        self.combos: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.hour_severity: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.action_results: defaultdict[tuple[str, str], int] = defaultdict(int)

    def fold(self, digests: Iterable[tuple[ActionDigest, int]]) -> None:
        for (hour, kind, severity, result, action, _tag), count in digests:
            self.combos[kind, severity, result] += count
            self.hour_severity[hour, severity] += count
            self.action_results[action, result] += count

    def report(self) -> StatsReport:
        return StatsReport(generated_at=iso_z(self.now), window_days=self.days,
                           combos=dict(self.combos), hour_severity=dict(self.hour_severity),
                           action_results=dict(self.action_results))


@dataclass(frozen=True)
class StatsReport:
    generated_at: str
    window_days: int
    combos: dict[tuple[str, str, str], int] = field(default_factory=dict)
    hour_severity: dict[tuple[str, str], int] = field(default_factory=dict)
    action_results: dict[tuple[str, str], int] = field(default_factory=dict)  # (action type, result)

    @property
    def total(self) -> int:
        return sum(self.combos.values())

    def count_by(self, position: int) -> dict[str, int]:
        """Totals per type (0), severity (1) or action result (2), keys sorted."""
        out: defaultdict[str, int] = defaultdict(int)
        for key, count in self.combos.items():
            out[key[position]] += count
        return dict(sorted(out.items()))

    def success_rate(self) -> float:
        total = self.total
        # (success / total) * 100 in this order, unrounded: the original argus-stats.sh's number
        return (self.count_by(2).get("success", 0) / total) * 100 if total else 0.0

    def results_by_action(self, remediations: bool) -> dict[str, dict[str, int]]:
        """{action type: {result: count}} for the host-changing actions, or for the others."""
        out: dict[str, dict[str, int]] = {}
        for (action, result), count in sorted(self.action_results.items()):
            if (action in REMEDIATIONS) == remediations:
                out.setdefault(action, {})[result] = count
        return out

    def remediation(self) -> Remediation:
        """Attempts and successes per host-changing action type, and over all of them."""
        by_action = {action: _figures(results) for action, results in self.results_by_action(True).items()}
        attempted = sum(f["attempted"] for f in by_action.values())
        succeeded = sum(f["succeeded"] for f in by_action.values())
        return {"attempted": attempted, "succeeded": succeeded, "success_rate": _rate(succeeded, attempted),
                "by_action": by_action}

    def buckets(self, width: int) -> list[Bucket]:
        """Hourly (width 13) or daily (width 10) buckets, ascending."""
        out: defaultdict[str, int] = defaultdict(int)
        for (hour, _severity), count in self.hour_severity.items():
            out[hour[:width]] += count
        suffix = ":00Z" if width == 13 else ""
        return [{"bucket": key + suffix, "count": out[key]} for key in sorted(out)]

    def daily_by_severity(self) -> dict[str, dict[str, int]]:
        """{day: {severity: count}} for every UTC day of the window, oldest first, the days without
        a problem too: a chart that skips empty days hides a three-week silence."""
        out: dict[str, dict[str, int]] = {day: {} for day in self.days()}
        for (hour, severity), count in sorted(self.hour_severity.items()):
            day = out.setdefault(hour[:10], {})
            day[severity] = day.get(severity, 0) + count
        return dict(sorted(out.items()))

    def days(self) -> list[str]:
        """The UTC days the window touches, from its edge to today."""
        end = datetime.fromisoformat(self.generated_at.replace("Z", "+00:00")).astimezone(UTC)
        first = (end - timedelta(days=self.window_days)).date()
        return [(first + timedelta(days=n)).isoformat() for n in range((end.date() - first).days + 1)]

    def per_day(self) -> list[dict[str, object]]:
        """``daily_by_severity`` as the JSON's ``per_day``: each day, its total and its severities."""
        return [{"day": day, "count": sum(counts.values()), "by_severity": dict(sorted(counts.items()))}
                for day, counts in self.daily_by_severity().items()]  # nested: a severity named "day" stays one

    def to_dict(self) -> StatsJson:
        return {
            "generated_at": self.generated_at,
            "window_days": self.window_days,
            "total_problems": self.total,
            "by_type": self.count_by(0),
            "by_severity": self.count_by(1),
            "action_results": self.count_by(2),
            "action_success_rate": self.success_rate(),
            "hourly": self.buckets(13),
            "daily": self.buckets(10),
        }


def _figures(results: dict[str, int]) -> ActionFigures:
    succeeded = results.get("success", 0)
    attempted = succeeded + results.get("failure", 0)
    return {"attempted": attempted, "succeeded": succeeded, "success_rate": _rate(succeeded, attempted),
            "results": results}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole * 100, 2) if whole else None


def compute_stats(problems_file: Path, now: float, window_days: int) -> tuple[StatsReport, ScanResult]:
    """Stream the registry once and count what falls in the window."""
    accumulator = StatsAccumulator(now, window_days)
    scan = scan_registry(problems_file, [accumulator])
    return accumulator.report(), scan
