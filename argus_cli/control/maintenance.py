"""ARGUS_MAINTENANCE: is the host inside one of its recurring windows now, and when is the next?

A window is written in the operator's time zone and recurs weekly; its start day is the day it
opens on, so ``Sat 23:00-01:00`` runs into Sunday. During a window every host-changing action is
only observed and notifications are held (the cycle and the incident book do that).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from argus_cli.config import Autonomy, Config, MaintenanceWindow


def _zone(name: str) -> tzinfo:
    if name == "UTC":
        return UTC
    from zoneinfo import ZoneInfo  # validated when the configuration was read
    return ZoneInfo(name)


def _openings(window: MaintenanceWindow, now: float, days_back: int, days_ahead: int) -> list[datetime]:
    """The window's starts from ``days_back`` days before ``now`` to ``days_ahead`` after, in its zone.
    Wall-clock arithmetic: 02:00 stays 02:00 across a change of daylight saving time."""
    zone = _zone(window.zone)
    today = datetime.fromtimestamp(now, zone).date()
    starts = []
    for offset in range(-days_back, days_ahead + 1):
        day = today + timedelta(days=offset)
        if day.weekday() in window.days:
            naive = datetime(day.year, day.month, day.day, window.start // 60, window.start % 60)
            starts.append(naive.replace(tzinfo=zone))
    return starts


def active(windows: tuple[MaintenanceWindow, ...], now: float) -> tuple[MaintenanceWindow, float] | None:
    """The window in force at ``now`` and when it ends (epoch), or None."""
    for window in windows:
        for start in _openings(window, now, 1, 0):
            begins, ends = start.timestamp(), _end(window, start)
            if begins <= now < ends:
                return window, ends
    return None


def _end(window: MaintenanceWindow, start: datetime) -> float:
    """The window's end on the wall clock too: ``01:30-02:30`` ends at 02:30 local time even on the
    night the clocks go back (two hours later) or forward (no time at all)."""
    naive = start.replace(tzinfo=None) + timedelta(minutes=window.minutes)
    return naive.replace(tzinfo=start.tzinfo).timestamp()


def next_start(windows: tuple[MaintenanceWindow, ...], now: float) -> tuple[MaintenanceWindow, float] | None:
    """The next window to open after ``now`` (within a week), or None without windows."""
    found = [(start.timestamp(), window) for window in windows for start in _openings(window, now, 0, 7)
             if start.timestamp() > now]
    if not found:
        return None
    begins, window = min(found, key=lambda pair: pair[0])
    return window, begins


def effective_autonomy(config: Config, now: float) -> tuple[Autonomy, MaintenanceWindow | None]:
    """ARGUS_AUTONOMY as it holds at ``now``: inside a maintenance window everything is observed."""
    window = active(config.maintenance, now)
    if window is not None:
        return Autonomy("observe"), window[0]
    return config.autonomy, None
