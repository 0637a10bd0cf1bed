"""Disk trends from ``metrics.jsonl`` (runtime/metrics.py): how fast each watched disk fills, per
day, and when it will be full at that rate.

A least-squares line through the window's readings of each disk, kept as running sums (memory
does not grow with the window). A forecast needs ``MIN_POINTS`` readings over ``MIN_SPAN``, a
slope clear of the noise (three standard errors) and a reading within ``STALE`` of now; it
starts from the fitted line at now, not from one reading, so a spike or a dip does not decide
it. A disk at 100 % is full whatever its slope. The file and its rotated copies are read from
the newest line back to the window's edge, never further; lines from the future (a clock set
forward for a while) are left out and counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from argus_cli.reports.window import parse_timestamp
from argus_cli.state.files import LineStats, iter_jsonl_backwards
from argus_cli.state.layout import METRICS
from argus_cli.state.records import generations

DAY = 86400.0
MIN_POINTS = 12
MIN_SPAN = DAY  # less than a day of readings is no trend: noise can look like a slope
STALE = DAY  # a disk not measured for a day (unmounted, no longer watched): no forecast
STRAY_LINES = 288  # older lines in a row that mark the window's edge (fewer: a clock set back)
FUTURE_SLACK = 300.0  # seconds a line may be ahead of now (clocks differ a little)
MAX_DISKS = 64  # per line: more is not a host's disks
FULL = 99.5
NOISE = 3.0  # standard errors the slope must stand clear of zero to be called filling
# Percent a day below which a disk is not filling: readings that never change fit with no error,
# and the float noise of their slope must not forecast "full in 10^14 days".
MIN_RATE = 0.01


@dataclass
class _Fit:
    """Running sums of (days since the window's edge, percent), and the newest reading."""

    n: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0
    syy: float = 0.0
    first: float = math.inf
    last: float = -math.inf
    last_percent: float = 0.0

    def add(self, x: float, y: float) -> None:
        self.n += 1
        self.sx, self.sy, self.sxx, self.sxy, self.syy = (
            self.sx + x, self.sy + y, self.sxx + x * x, self.sxy + x * y, self.syy + y * y)
        self.first = min(self.first, x)
        if x >= self.last:
            self.last, self.last_percent = x, y


@dataclass(frozen=True)
class DiskTrend:
    path: str
    percent: float  # the newest reading
    rate_per_day: float | None  # percentage points a day; None: not enough readings
    days_to_full: float | None  # at that rate from the fitted line at now; None: not filling, or no trend
    points: int
    last_seen_days: float = 0.0  # how long ago the newest reading was taken
    notes: tuple[str, ...] = field(default=())

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
                "points": self.points, "last_seen_days": round(self.last_seen_days, 2),
                "severity": self.severity}


@dataclass
class Read:
    """What the reader skipped: malformed lines, and lines dated after now."""

    lines: LineStats = field(default_factory=LineStats)
    future: int = 0

    @property
    def malformed(self) -> int:
        return self.lines.malformed

    def warning(self) -> str | None:
        said = [f"{self.lines.malformed} malformed line(s)" if self.lines.malformed else "",
                f"{self.future} line(s) dated after now (a clock set forward?)" if self.future else ""]
        said = [s for s in said if s]
        return f"argus: metrics.jsonl: skipped {' and '.join(said)}" if said else None


def disk_trends(state_dir: Path, now: float, days: int) -> tuple[list[DiskTrend], Read]:
    """Each disk's trend over the last ``days``."""
    edge = now - days * DAY
    read = Read()
    fits: dict[str, _Fit] = {}
    for when, disks in _readings(state_dir, edge, now, read):
        for path, percent in disks.items():
            fit = fits.get(path)
            if fit is None:
                if len(fits) >= MAX_DISKS:
                    continue
                fit = fits[path] = _Fit()
            fit.add((when - edge) / DAY, percent)
    return [_trend(path, fit, (now - edge) / DAY) for path, fit in sorted(fits.items())], read


def _readings(state_dir: Path, edge: float, now: float, read: Read) -> Iterator[tuple[float, dict[str, float]]]:
    streak = 0
    for path in generations(state_dir / METRICS):
        for line in iter_jsonl_backwards(path, stats=read.lines):
            ts = line.get("ts")
            moment = parse_timestamp(ts) if isinstance(ts, str) else None
            if moment is None:
                continue
            when = moment.timestamp()
            if when > now + FUTURE_SLACK:
                read.future += 1
                continue
            if when < edge:
                streak += 1
                if streak >= STRAY_LINES:
                    return
                continue
            streak = 0
            disks = line.get("disk")
            if isinstance(disks, dict):
                yield when, {str(k): float(v) for k, v in list(disks.items())[:MAX_DISKS]
                             if isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 100}


def _trend(path: str, fit: _Fit, now_x: float) -> DiskTrend:
    age = max(0.0, now_x - fit.last)
    base = DiskTrend(path, fit.last_percent, None, None, fit.n, age)
    if fit.last_percent >= FULL and age < STALE / DAY:
        return DiskTrend(path, fit.last_percent, _slope(fit)[0] if fit.n > 2 else None, 0.0, fit.n, age)
    if fit.n < MIN_POINTS or fit.last - fit.first < MIN_SPAN / DAY or age >= STALE / DAY:
        return base
    rate, error, intercept = _slope(fit)
    level = min(100.0, intercept + rate * now_x)  # the fitted line at now
    filling = rate >= MIN_RATE and rate > NOISE * error
    return DiskTrend(path, fit.last_percent, rate, (100.0 - level) / rate if filling else None, fit.n, age)


def _slope(fit: _Fit) -> tuple[float, float, float]:
    """(slope per day, its standard error, intercept) of the least-squares line."""
    n = fit.n
    sxx = fit.sxx - fit.sx * fit.sx / n
    if sxx <= 0:
        return 0.0, math.inf, fit.sy / n
    slope = (fit.sxy - fit.sx * fit.sy / n) / sxx
    intercept = (fit.sy - slope * fit.sx) / n
    residual = max(0.0, fit.syy - fit.sy * fit.sy / n - slope * slope * sxx)
    error = math.sqrt(residual / (n - 2) / sxx) if n > 2 else math.inf
    return slope, error, intercept
