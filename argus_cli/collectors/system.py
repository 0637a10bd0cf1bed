"""CPU, load and uptime. ``cpu_percent`` is the busy share since the previous collect."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import psutil

from argus_cli.collectors.context import CollectContext
from argus_cli.model import as_number
from argus_cli.snapshot import System
from argus_cli.state.files import owns_state
from argus_cli.state.layout import CPU_TIMES, CpuTimes

_FIRST_SAMPLE_SECONDS = 0.25
_MIN_BASELINE_AGE = 1.0  # a younger baseline has too few clock ticks to be meaningful
_MAX_BASELINE_AGE = 3600.0  # an older baseline says little about "now"; sample instead


def collect(ctx: CollectContext) -> System:
    cpu_count = psutil.cpu_count() or 1
    load = os.getloadavg()
    uptime = ctx.now - psutil.boot_time()
    return System(
        cpu_count=cpu_count,
        cpu_percent=_cpu_percent(ctx.config.state_dir, ctx.now),
        load=tuple(round(x, 2) for x in load),
        load_per_core=round(load[0] / cpu_count, 2),
        # a cycle's clock before the boot (set back, or a replayed time): no uptime, not "just booted"
        uptime_seconds=int(uptime) if uptime >= 0 else None,
    )


def _busy_idle() -> tuple[float, float]:
    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return sum(times) - idle, idle


def _share(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    busy, idle = after[0] - before[0], after[1] - before[1]
    if busy < 0 or idle < 0 or busy + idle <= 0:
        return None  # counters went backwards: a reboot since the baseline
    return round(100.0 * busy / (busy + idle), 1)


def _cpu_percent(state_dir: Path, now: float) -> float:
    current = _busy_idle()
    stored = CPU_TIMES.read(state_dir)
    baseline = stored or CpuTimes()
    # A hand-edited baseline (null, a string) is no baseline: sample, and the write below replaces it.
    ts, busy, idle = as_number(baseline.ts), as_number(baseline.busy), as_number(baseline.idle)
    share = None
    if ts is not None and busy is not None and idle is not None and _MIN_BASELINE_AGE <= now - ts <= _MAX_BASELINE_AGE:
        share = _share((busy, idle), current)
    if share is None:
        time.sleep(_FIRST_SAMPLE_SECONDS)
        current, before = _busy_idle(), current
        share = _share(before, current) or 0.0
    if stored is None and not owns_state() and os.path.lexists(CPU_TIMES.path(state_dir)):
        return share  # an unusable file stays for the cycle to move aside: `argus collect` only reads
    # A read-only state dir costs the next run a short sample, nothing more.
    with contextlib.suppress(OSError):
        CPU_TIMES.write(state_dir, CpuTimes(now, current[0], current[1]))
    return share
