"""The seed's pattern analysis, as ``argus patterns analyze --compat`` prints it.

Detectors, their ids and ``data`` follow the original ``pattern-analysis.sh`` so its consumers
keep working: restart spikes per UTC day, a disk-pressure trend, a recurring memory hog (read
from the ``hog_process=NAME`` enrichment) and a cluster in one UTC hour of day. A detector fires
at ``THRESHOLD`` (3) events. Patterns are listed detector by detector, each sorted by its key.

These are the detectors Argus ran before issue 14, kept unchanged: the default analysis
(``reports/patterns.py``) judges the hours against the host's own baseline, the disks by their
measured fill rate, and names hogs by their full name; it reuses ``restart_spikes`` as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from argus_cli.model import iso_z
from argus_cli.reports.pattern_types import Pattern, PatternAnalysis
from argus_cli.reports.scan import RESTART, Digest, ScanResult, scan_registry

THRESHOLD = 3
MAX_HOGS = 10_000  # distinct hog names counted; past that, new names are garbage, not processes


class SeedPatternAccumulator:
    """Counters keyed by in-window hours, days, disk severities and hog names (the seed's report
    leaves the severities unused; ``patterns.PatternAccumulator`` reads them)."""

    wants_tags = True  # the scan computes hog names and restart markers only for this
    wants_actions = False  # folds Digest: no action type

    def __init__(self, now: float, days: int) -> None:
        self.now, self.days = now, days
        self.hours: defaultdict[str, int] = defaultdict(int)
        self.restart_days: defaultdict[str, int] = defaultdict(int)
        self.disk_days: defaultdict[str, int] = defaultdict(int)
        self.disk_severities: defaultdict[str, int] = defaultdict(int)
        self.hogs: defaultdict[str, int] = defaultdict(int)

    def fold(self, digests: Iterable[tuple[Digest, int]]) -> None:
        for (hour, kind, severity, _result, tag), count in digests:
            self.hours[hour] += count
            if kind == "service" and tag == RESTART:
                self.restart_days[hour[:10]] += count
            elif kind == "disk":
                self.disk_days[hour[:10]] += count
                self.disk_severities[severity] += count
            elif kind == "memory" and tag is not None and (tag in self.hogs or len(self.hogs) < MAX_HOGS):
                self.hogs[tag] += count

    def report(self) -> PatternAnalysis:
        patterns = (restart_spikes(self.restart_days) + disk_trend(self.disk_days)
                    + memory_hogs(self.hogs) + time_clusters(self.hours))
        return {"generated_at": iso_z(self.now), "window_days": self.days,
                "total_problems": sum(self.hours.values()), "patterns": patterns}


def _pattern(pid: str, kind: str, severity: str, summary: str, recommendation: str,
             *, data: dict[str, str | int]) -> Pattern:
    return {"id": pid, "type": kind, "severity": severity, "summary": summary,
            "recommendation": recommendation, "data": data}


def restart_spikes(days: dict[str, int]) -> list[Pattern]:
    return [_pattern(f"service-restarts-{day}", "service_restart_spike", "warning",
                     f"Services were restarted {count} times on {day} (UTC).",
                     "Find the root cause before letting Argus keep restarting the service.",
                     data={"day": day, "count": count})
            for day, count in sorted(days.items()) if count >= THRESHOLD]


def disk_trend(days: dict[str, int]) -> list[Pattern]:
    count = sum(days.values())
    if count < THRESHOLD or len(days) < 2:
        return []
    return [_pattern("disk-pressure-trend", "disk_pressure_trend", "warning",
                     f"Disk problems occurred {count} times over {len(days)} days.",
                     "Find what is filling the disk and tighten cleanup or retention.",
                     data={"count": count})]


def memory_hogs(hogs: dict[str, int]) -> list[Pattern]:
    return [_pattern(f"memory-hog-{name}", "memory_hog_recurring", "warning",
                     f"Memory pressure recurred {count} times with {name} as the largest process.",
                     f"Check {name} for a leak or a runaway workload.",
                     data={"process": name, "count": count})
            for name, count in sorted(hogs.items()) if count >= THRESHOLD]


def time_clusters(hours: dict[str, int]) -> list[Pattern]:
    by_hour: defaultdict[str, int] = defaultdict(int)
    for hour, count in hours.items():
        by_hour[hour[11:13]] += count
    return [_pattern(f"time-correlation-{hh}", "time_correlation", "info",
                     f"{count} problems cluster in the {hh}:00 UTC hour.",
                     "Look for cron jobs, backups or deployments that run around that hour.",
                     data={"hour_utc": hh, "count": count})
            for hh, count in sorted(by_hour.items()) if count >= THRESHOLD]


def compute_seed_patterns(problems_file: Path, now: float, window_days: int) -> tuple[PatternAnalysis, ScanResult]:
    """Stream the registry once and run the seed's four detectors over the window."""
    accumulator = SeedPatternAccumulator(now, window_days)
    scan = scan_registry(problems_file, [accumulator])
    return accumulator.report(), scan
