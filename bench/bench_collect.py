"""Benchmark `argus collect --json` against two floors, in one run (issue 2's bar).

Floors: `python -c "import psutil"` (the interpreter's limit) and bench/floor_typer.py
(the framework's limit). Bar: collect's median wall <= 1.3x the Typer floor, peak RSS <= 45 MiB.

Each run is a fresh process on a persistent state dir with the CPU baseline dated five minutes
back, as the timer leaves it.

Usage: python bench/bench_collect.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import age_baseline, compile_bytecode, interleaved

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="argus-bench-")
    env = {**os.environ, "ARGUS_STATE_DIR": state, "ARGUS_ENV_FILE": os.devnull}
    py = sys.executable
    cases = {
        "python -c 'import psutil'": ([py, "-c", "import psutil"], env),
        "floor_typer.py": ([py, str(HERE / "floor_typer.py")], env),
        "argus collect --json": ([py, "-m", "argus_cli", "collect", "--json"], env),
    }
    compile_bytecode()
    results = interleaved(cases, args.runs, before_each=lambda: age_baseline(Path(state)))
    for m in results.values():
        print(m.line())
    collect, typer_floor, psutil_floor = (results["argus collect --json"], results["floor_typer.py"],
                                          results["python -c 'import psutil'"])
    wall_ratio = collect.wall_median_s / typer_floor.wall_median_s
    print(f"ratio collect / typer floor (wall): {wall_ratio:.2f}x  (bar <= 1.30x)")
    print(f"ratio collect / psutil floor (wall): {collect.wall_median_s / psutil_floor.wall_median_s:.2f}x")
    print(f"collect peak RSS median: {collect.rss_median_mib:.1f} MiB  (bar <= 45 MiB)")
    ok = wall_ratio <= 1.3 and collect.rss_max_mib <= 45
    print("PASS" if ok else "OVER BAR")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
