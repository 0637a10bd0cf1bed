"""Disk trends from ``metrics.jsonl`` (runtime/metrics.py): how fast each watched disk fills, per
day, and when it will be full at that rate.

A least-squares line through the window's measurements of each disk (at least ``MIN_POINTS``
over at least ``MIN_SPAN`` seconds: two readings an hour apart are no trend). The file and its
rotated copies are read from the newest line back to the window's edge, never further.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from argus_cli.reports.window import parse_timestamp
from argus_cli.state.files import LineStats, iter_jsonl_backwards
from argus_cli.state.layout import METRICS

DAY = 86400.0
MIN_POINTS = 6
MIN_SPAN = 6 * 3600.0
STRAY_LINES = 12  # older lines in a row that mark the window's edge (fewer: a clock set back)
BACKUPS = 3
FILLING = 0.01  # percent a day below which a disk is called steady, not filling


@dataclass(frozen=True)
class DiskTrend:
    path: str
    percent: float  # the latest reading
    rate_per_day: float | None  # percentage points a day; None: not enough readings
    days_to_full: float | None  # at that rate; None: not filling (or no trend)
    points: int

    @property
    def severity(self) -> str:
        """From the forecast, not from one reading: full within 3 days is critical, 14 a warning."""
        if self.days_to_full is None:
            return "info"
        return "critical" if self.days_to_full <= 3 else "warning" if self.days_to_full <= 14 else "info"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "percent": self.percent,
                "rate_per_day": None if self.rate_per_day is None else round(self.rate_per_day, 3),
                "days_to_full": None if self.days_to_full is None else round(self.days_to_full, 1),
                "points": self.points, "severity": self.severity}


def disk_trends(state_dir: Path, now: float, days: int) -> tuple[list[DiskTrend], LineStats]:
    """Each disk's trend over the last ``days`` (newest reading first in the file order)."""
    edge = now - days * DAY
    stats = LineStats()
    series: dict[str, list[tuple[float, float]]] = {}
    for when, disks in _readings(state_dir, edge, stats):
        for path, percent in disks.items():
            series.setdefault(path, []).append((when, percent))
    return [_trend(path, sorted(points)) for path, points in sorted(series.items())], stats


def _readings(state_dir: Path, edge: float, stats: LineStats) -> list[tuple[float, dict[str, float]]]:
    out: list[tuple[float, dict[str, float]]] = []
    names = [METRICS, *(f"{METRICS}.{n}" for n in range(1, BACKUPS + 1))]
    streak = 0
    for path in (state_dir / name for name in names):
        for line in iter_jsonl_backwards(path, stats=stats):
            ts = line.get("ts")
            moment = parse_timestamp(ts) if isinstance(ts, str) else None
            if moment is None:
                continue
            when = moment.timestamp()
            if when < edge:
                streak += 1
                if streak >= STRAY_LINES:
                    return out
                continue
            streak = 0
            disks = line.get("disk")
            if isinstance(disks, dict):
                out.append((when, {str(k): float(v) for k, v in disks.items()
                                   if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 100}))
    return out


def _trend(path: str, points: list[tuple[float, float]]) -> DiskTrend:
    latest = points[-1][1]
    span = points[-1][0] - points[0][0]
    if len(points) < MIN_POINTS or span < MIN_SPAN:
        return DiskTrend(path, latest, None, None, len(points))
    rate = _slope(points) * DAY
    days_to_full = (100.0 - latest) / rate if rate > FILLING else None
    return DiskTrend(path, latest, rate, days_to_full, len(points))


def _slope(points: list[tuple[float, float]]) -> float:
    """Least squares, percent per second; times taken from the first to keep the sums small."""
    t0 = points[0][0]
    xs = [t - t0 for t, _ in points]
    ys = [p for _, p in points]
    n = len(points)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    return 0.0 if var == 0 else sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var
