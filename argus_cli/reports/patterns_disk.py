"""Disk pressure from measured usage: how fast each disk fills and when it will be full.

The seed called "9 disk problems over 2 days" a warning, though 7 of them were info and the disk
sat at 70 to 78 %. A problem count says how often a rule fired, not where the disk is going; the
fill rate from ``metrics.jsonl`` (``reports/trends.py``) does. So:

- a measured disk gives a finding when its forecast says full within ``HORIZON_DAYS``; its
  severity is the forecast's own (``DiskTrend.severity``: full within 3 days critical, within 14
  a warning, later info), the same that ``argus stats`` and the Prometheus textfile show, so the
  reports never disagree about one disk. A measured disk that is not filling gives none, however
  often the registry mentions it;
- with no usable measurement at all (an older host, fewer than a day of cycles), the seed's
  count is all there is: three disk problems over two days make an ``info`` finding that says
  no usage was measured, never a warning built on counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from argus_cli.reports.pattern_types import Pattern, make_pattern, slug
from argus_cli.reports.trends import DiskTrend

HORIZON_DAYS = 30.0  # full further out than a month: not for this week's report
MIN_UNMEASURED = 3  # the seed's count, for hosts without measurements
_RANK = {"critical": 0, "warning": 1, "info": 2}


def disk_patterns(trends: Sequence[DiskTrend], days: Mapping[str, int],
                  severities: Mapping[str, int]) -> list[Pattern]:
    """``trends``: this window's; ``days``/``severities``: the registry's disk problems per UTC day
    and per severity."""
    measured = [t for t in trends if t.rate_per_day is not None or t.days_to_full is not None]
    if measured:
        return [_forecast(t) for t in measured
                if t.days_to_full is not None and t.days_to_full <= HORIZON_DAYS]
    return _unmeasured(days, severities)


def disk_id(path: str) -> str:
    """``disk-pressure-root`` for ``/``, ``disk-pressure-var-lib`` for ``/var/lib``."""
    return "disk-pressure-" + ("root" if path == "/" else slug(path.strip("/").replace("/", "-")))


def _forecast(trend: DiskTrend) -> Pattern:
    path, days = trend.path, trend.days_to_full or 0.0
    used = f"{trend.percent:.0f} % used now"
    if trend.rate_per_day is None or trend.rate_per_day <= 0:  # full, with too few readings for a rate
        summary = f"{path} is full ({used})."
    else:
        when = "within a day" if days < 1 else f"in ~{round(days)} day{'s' if round(days) != 1 else ''}"
        summary = f"{path} filling {trend.rate_per_day:.2g} %/day, full {when} at this rate ({used})."
    return make_pattern(
        disk_id(path), "disk_pressure_trend", trend.severity, summary,
        f"Find what is filling {path} and tighten cleanup or retention before it is full.",
        data={"path": path, "percent": trend.percent, "rate_per_day": _rounded(trend.rate_per_day, 3),
              "days_to_full": _rounded(trend.days_to_full, 1), "points": trend.points, "measured": True})


def _unmeasured(days: Mapping[str, int], severities: Mapping[str, int]) -> list[Pattern]:
    count = sum(days.values())
    if count < MIN_UNMEASURED or len(days) < 2:
        return []
    ranked = sorted(severities.items(), key=lambda item: (_RANK.get(item[0], 3), item[0]))
    listed = ", ".join(f"{n} {name}" for name, n in ranked)
    return [make_pattern(
        "disk-pressure-trend", "disk_pressure_trend", "info",
        f"Disk problems were recorded {count} times over {len(days)} days ({listed}), but no disk "
        "usage was measured here (no history in metrics.jsonl), so there is no fill rate or forecast.",
        "Let Argus run its cycles for a day so that metrics.jsonl shows how fast the disk fills.",
        data={"count": count, "days": len(days), "by_severity": dict(ranked), "measured": False})]


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
