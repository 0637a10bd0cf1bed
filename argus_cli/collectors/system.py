"""CPU, load and uptime. ``cpu_percent`` is the busy share since the previous collect."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import psutil

from argus_cli.collectors.context import CollectContext
from argus_cli.model import as_number
from argus_cli.state.files import atomic_write_json, read_json

_FIRST_SAMPLE_SECONDS = 0.25
_MIN_BASELINE_AGE = 1.0  # a younger baseline has too few clock ticks to be meaningful
_MAX_BASELINE_AGE = 3600.0  # an older baseline says little about "now"; sample instead


def collect(ctx: CollectContext) -> dict[str, Any]:
    cpu_count = psutil.cpu_count() or 1
    load = list(os.getloadavg())
    return {"system": {
        "cpu_count": cpu_count,
        "cpu_percent": _cpu_percent(ctx.config.state_dir / "cpu-times.json", ctx.now),
        "load": [round(x, 2) for x in load],
        "load_per_core": round(load[0] / cpu_count, 2),
        "uptime_seconds": int(ctx.now - psutil.boot_time()),
    }}


def _busy_idle() -> tuple[float, float]:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return sum(times) - idle, idle


def _share(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    busy, idle = after[0] - before[0], after[1] - before[1]
    if busy < 0 or idle < 0 or busy + idle <= 0:
        return None  # counters went backwards: a reboot since the baseline
    return round(100.0 * busy / (busy + idle), 1)


def _cpu_percent(baseline_file: Path, now: float) -> float:
    current = _busy_idle()
    baseline = read_json(baseline_file, dict)
    # A hand-edited baseline (null, a string) is no baseline: sample, and the write below repairs it.
    ts, busy, idle = (as_number(baseline.get(key)) for key in ("ts", "busy", "idle"))
    share = None
    if ts is not None and busy is not None and idle is not None and _MIN_BASELINE_AGE <= now - ts <= _MAX_BASELINE_AGE:
        share = _share((busy, idle), current)
    if share is None:
        time.sleep(_FIRST_SAMPLE_SECONDS)
        current, before = _busy_idle(), current
        share = _share(before, current) or 0.0
    # A read-only state dir costs the next run a short sample, nothing more.
    with contextlib.suppress(OSError):
        atomic_write_json(baseline_file, {"ts": now, "busy": current[0], "idle": current[1]})
    return share
