"""Run a command N times as a child process; report median wall time and peak RSS.

Peak RSS comes from ``os.wait4``'s rusage of that one child (``ru_maxrss``, KiB on Linux),
so each run is measured on its own, not mixed with other children.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Measurement:
    label: str
    wall_median_s: float
    rss_median_mib: float
    rss_max_mib: float
    runs: int

    def line(self) -> str:
        return (f"{self.label:<34} median wall {self.wall_median_s * 1000:8.1f} ms   "
                f"peak RSS median {self.rss_median_mib:6.1f} MiB (max {self.rss_max_mib:6.1f})")


def run_once(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0,):
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}")
    return wall, usage.ru_maxrss / 1024.0


def measure(label: str, argv: Sequence[str], runs: int, env: dict[str, str] | None = None,
            warmup: int = 1) -> Measurement:
    for _ in range(warmup):
        run_once(argv, env)
    samples = [run_once(argv, env) for _ in range(runs)]
    walls = [s[0] for s in samples]
    rss = [s[1] for s in samples]
    return Measurement(label, statistics.median(walls), statistics.median(rss), max(rss), runs)


def interleaved(cases: dict[str, tuple[Sequence[str], dict[str, str] | None]], runs: int) -> dict[str, Measurement]:
    """Measure several commands in alternation so machine noise hits them alike."""
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
    for argv, env in cases.values():
        run_once(argv, env)  # warm the page cache
    for _ in range(runs):
        for label, (argv, env) in cases.items():
            samples[label].append(run_once(argv, env))
    return {label: Measurement(label, statistics.median(s[0] for s in runs_),
                               statistics.median(s[1] for s in runs_), max(s[1] for s in runs_), len(runs_))
            for label, runs_ in samples.items()}
