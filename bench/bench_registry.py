"""Cost of recording one problem (recurrence lookup + append) with an empty registry vs a
1,000,000-line registry. The recurrence count reads only the window from the end of the file,
so the ratio should stay close to 1 (target <= 1.2).

Two comparisons:
  A. an empty registry vs one with a million lines older than the window (the clock moves one
     window per recording, so the window holds nothing but the lookup itself: pure size cost);
  B. both registries ending with the same realistic day (200 problems inside the window), the
     big one with a million older lines before it.

    python bench/bench_registry.py [--lines 1000000] [--runs 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from argus_cli.config import Config, load
from argus_cli.model import Problem, iso_z
from argus_cli.state.registry import key_for, recent_count, record_problem

NOW = 1_800_000_000.0
WINDOW = 86400
DAY_PROBLEMS = 200


def _line(ts: float, i: int) -> bytes:
    record = {"ts": iso_z(ts), "severity": "info", "type": "memory", "description": f"memory at {i % 100}% on node",
              "action_taken": "log:observation", "action_result": "success", "bead_id": None, "host": "bench"}
    return orjson.dumps(record) + b"\n"


def build(path: Path, old_lines: int, recent: int) -> None:
    """``old_lines`` problems from before the window, then ``recent`` inside it."""
    with path.open("wb") as handle:
        start = NOW - WINDOW - old_lines * 30.0 - 60
        for chunk in range(0, old_lines, 10_000):
            handle.write(b"".join(_line(start + i * 30.0, i) for i in range(chunk, min(chunk + 10_000, old_lines))))
        handle.write(b"".join(_line(NOW - WINDOW + 60 + i * 400, i) for i in range(recent)))


def config_for(state: Path) -> Config:
    return load({"ARGUS_STATE_DIR": str(state), "ARGUS_ENV_FILE": os.devnull, "HOME": str(state)})


def record_once(config: Config, now: float) -> float:
    """One problem as the actions record it: recurrence lookup, then the append."""
    problem = Problem(iso_z(now), "warning", "memory", "memory at 93% on node", "alert:telegram", "success", None,
                      "bench")
    started = time.perf_counter()
    recent_count(config, key_for(problem.type, problem.description), WINDOW, now)
    record_problem(config, problem)
    return time.perf_counter() - started


def measure(config: Config, runs: int, moving_clock: bool) -> float:
    """Median seconds per recording; a moving clock starts each one a window after the last."""
    step = WINDOW + 1 if moving_clock else 0
    for i in range(20):  # warm the page cache and the interpreter
        record_once(config, NOW + i * step)
    return statistics.median(record_once(config, NOW + (20 + i) * step) for i in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="argus-bench-") as tmp:
        for label, recent, moving in (("A", 0, True), ("B", DAY_PROBLEMS, False)):
            small, big = config_for(Path(tmp) / f"{label}-small"), config_for(Path(tmp) / f"{label}-big")
            for config, lines in ((small, 0), (big, args.lines)):
                config.state_dir.mkdir(parents=True)
                build(config.problems_file, lines, recent)
            size = big.problems_file.stat().st_size
            small_s, big_s = measure(small, args.runs, moving), measure(big, args.runs, moving)
            print(f"{label}: {recent} problems in the window; {args.lines:,} older lines ({size / 1e6:.0f} MB) or none")
            print(f"{label}: median record_problem + recent_count: without {small_s * 1e3:.3f} ms, "
                  f"with {big_s * 1e3:.3f} ms, ratio {big_s / small_s:.2f} (target <= 1.2)")

if __name__ == "__main__":
    main()
