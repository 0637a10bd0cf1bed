"""Pattern analysis: the registry window's findings, pure aggregation (``argus patterns``).

One pass over the registry fills counters (``PatternAccumulator``); the detectors then run on
those counters and on the disks' measured trends, never on lines, so they add nothing per line:

- ``service-restarts-DAY``: three restarts on a UTC day (the seed's rule, unchanged);
- ``disk-pressure-PATH``: a disk filling, by its measured rate and days to full
  (``patterns_disk``), or ``disk-pressure-trend`` (info) on a host with no measurements;
- ``memory-hog-NAME``: the same largest process in three memory problems (``patterns_hogs``);
- ``time-correlation``: the UTC hours of day that stand out against the host's own other
  hours, as one finding (``patterns_time``).

The report keeps the seed's shape (``pattern_types``) and adds ``hour_of_day``. The seed's own
four detectors stay available as they were in ``patterns_compat`` (``analyze --compat``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from argus_cli.model import iso_z
from argus_cli.reports.pattern_types import Pattern, PatternAnalysis
from argus_cli.reports.patterns_compat import SeedPatternAccumulator, restart_spikes
from argus_cli.reports.patterns_disk import disk_patterns
from argus_cli.reports.patterns_hogs import recurring_hogs
from argus_cli.reports.patterns_time import hour_of_day, time_correlation
from argus_cli.reports.scan import ScanResult, scan_registry
from argus_cli.reports.trends import DiskTrend, disk_trends

__all__ = ["Pattern", "PatternAccumulator", "PatternAnalysis", "compute_patterns", "measured_disks"]


class PatternAccumulator(SeedPatternAccumulator):
    """The seed's counters (in-window hours, days, disk severities, hog names); other detectors."""

    def report(self, disks: Sequence[DiskTrend] = ()) -> PatternAnalysis:
        """The findings, given the disks' trends over the same window (``measured_disks``)."""
        patterns = (restart_spikes(self.restart_days) + disk_patterns(disks, self.disk_days, self.disk_severities)
                    + recurring_hogs(self.hogs) + time_correlation(self.hours))
        return {"generated_at": iso_z(self.now), "window_days": self.days,
                "total_problems": sum(self.hours.values()), "patterns": patterns,
                "hour_of_day": hour_of_day(self.hours)}


def measured_disks(state_dir: Path, now: float, days: int) -> list[DiskTrend]:
    """Each disk's trend from ``metrics.jsonl``; none when it cannot be read: the registry's report
    must not fail over the metrics (``argus stats`` names that error; the findings say no usage
    was measured)."""
    try:
        return disk_trends(state_dir, now, days)[0]
    except OSError:
        return []


def compute_patterns(problems_file: Path, state_dir: Path, now: float,
                     window_days: int) -> tuple[PatternAnalysis, ScanResult]:
    """Stream the registry once, read the disks' trends, and run the detectors over the window."""
    accumulator = PatternAccumulator(now, window_days)
    scan = scan_registry(problems_file, [accumulator])
    return accumulator.report(measured_disks(state_dir, now, window_days)), scan
