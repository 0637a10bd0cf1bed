"""Time correlation: the UTC hours of day that stand out against this host's own other hours.

The seed flagged every hour of day with three problems; on a busy host that is most of the day
(14 of 24 on the real registry), mostly one long incident. An hour now stands out only when

- it holds at least ``MIN_COUNT`` problems,
- at least ``FACTOR`` times the median of the *other* hours that had any problem: hours without
  one are left out of the median, or on any host with problems in fewer than half the hours the
  median is 0 and the rule falls back to the seed's; leaving the hour itself out lets a host
  whose problems all fall in one hour still show it (its baseline is then 0),
- and those problems fall on at least ``MIN_DAYS`` UTC days: one incident through one night is
  an incident, not a time of day.

All standing-out hours make ONE finding, ``time-correlation``. Everything here works on the
accumulated per-hour counts, never on registry lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from statistics import median

from argus_cli.reports.pattern_types import Pattern, make_pattern

MIN_COUNT = 3
FACTOR = 2.0
MIN_DAYS = 2
HOURS = tuple(f"{hh:02d}" for hh in range(24))


def hour_of_day(hours: Mapping[str, int]) -> dict[str, int]:
    """Problems per UTC hour of day, all 24 hours, from counts keyed ``YYYY-MM-DDTHH``."""
    counts = dict.fromkeys(HOURS, 0)
    for hour, count in hours.items():
        counts[hour[11:13]] += count
    return counts


def _days_per_hour(hours: Mapping[str, int]) -> dict[str, int]:
    days: defaultdict[str, set[str]] = defaultdict(set)
    for hour, count in hours.items():
        if count:
            days[hour[11:13]].add(hour[:10])
    return {hh: len(found) for hh, found in days.items()}


def baseline(hh: str, counts: Mapping[str, int]) -> float:
    """The median count of the other hours of day that had a problem (0 when none had)."""
    others = [count for other, count in counts.items() if other != hh and count]
    return float(median(others)) if others else 0.0


def time_correlation(hours: Mapping[str, int]) -> list[Pattern]:
    counts, days = hour_of_day(hours), _days_per_hour(hours)
    baselines = {hh: baseline(hh, counts) for hh in HOURS if counts[hh] >= MIN_COUNT}
    standing = [hh for hh, base in baselines.items()
                if counts[hh] >= FACTOR * base and days.get(hh, 0) >= MIN_DAYS]
    if not standing:
        return []
    return [make_pattern(
        "time-correlation", "time_correlation", "info", _summary(standing, counts, days, baselines),
        "Look for cron jobs, backups or deployments that run around "
        f"{'that hour' if len(standing) == 1 else 'those hours'}.",
        data={"hours_utc": standing, "counts": {hh: counts[hh] for hh in standing},
              "days": {hh: days[hh] for hh in standing},
              "baseline_median": {hh: _number(baselines[hh]) for hh in standing}})]


def _summary(standing: list[str], counts: Mapping[str, int], days: Mapping[str, int],
             baselines: Mapping[str, float]) -> str:
    each = [f"{hh}:00 UTC ({counts[hh]} on {days[hh]} days)" for hh in standing]
    listed = each[0] if len(each) == 1 else f"{', '.join(each[:-1])} and {each[-1]}"
    low, high = min(baselines[hh] for hh in standing), max(baselines[hh] for hh in standing)
    typical = f"{_number(low)}" if low == high else f"{_number(low)}–{_number(high)}"
    return (f"Problems stand out at {listed}, at least {FACTOR:g} times the median of the other "
            f"hours with problems ({typical}).")


def _number(value: float) -> float | int:
    """A median as JSON and text show it: 6, not 6.0; 5.5 stays."""
    return int(value) if value.is_integer() else value
