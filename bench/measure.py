"""Run a command N times as a child process; report median wall time and peak RSS.

Peak RSS comes from ``os.wait4``'s rusage of that one child (``ru_maxrss``, KiB on Linux),
so each run is measured on its own, not mixed with other children.
"""

from __future__ import annotations

import compileall
import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


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


def compile_bytecode() -> None:
    """Byte-compile argus_cli first, as `pip install` does: with PYTHONDONTWRITEBYTECODE set (as on
    this machine) an editable checkout would otherwise recompile every module in every run."""
    package = Path(__file__).resolve().parent.parent / "argus_cli"
    compileall.compile_dir(str(package), quiet=1)


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


def age_baseline(state_dir: Path, seconds: float = 300.0) -> None:
    """Date the CPU baseline back as a five-minute timer leaves it; without this, back-to-back
    runs would each pay the 0.25 s first sample that only a host's very first collect pays."""
    path = state_dir / "cpu-times.json"
    try:
        baseline = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    baseline["ts"] = float(baseline.get("ts", 0)) - seconds
    path.write_text(json.dumps(baseline))


Case = tuple[Sequence[str], "dict[str, str] | None"]


def interleaved(cases: dict[str, Case], runs: int,
                before_each: Callable[[], None] | None = None) -> dict[str, Measurement]:
    """Measure several commands in alternation so machine noise hits them alike."""
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
    for argv, env in cases.values():
        run_once(argv, env)  # warm the page cache and create the state
    for _ in range(runs):
        for label, (argv, env) in cases.items():
            if before_each is not None:
                before_each()
            samples[label].append(run_once(argv, env))
    return {label: Measurement(label, statistics.median(s[0] for s in got), statistics.median(s[1] for s in got),
                               max(s[1] for s in got), len(got)) for label, got in samples.items()}


def judge(results: dict[str, Measurement], floor: str, judged: dict[str, str], target_ratio: float,
          target_rss_mib: float) -> bool:
    """Print each judged command's wall time as a ratio of ``floor``'s and its peak RSS against the
    targets (``judged`` maps the name printed to the measurement's label); True when all pass."""
    base = results[floor].wall_median_s
    ok = True
    for name, label in judged.items():
        ratio, rss = results[label].wall_median_s / base, results[label].rss_max_mib
        good = ratio <= target_ratio and rss <= target_rss_mib
        ok &= good
        print(f"{name:<34} {ratio:4.2f}x floor (target <= {target_ratio}x), peak {rss:.1f} MiB "
              f"(target <= {target_rss_mib} MiB): {'OK' if good else 'MISSED'}")
    return ok
