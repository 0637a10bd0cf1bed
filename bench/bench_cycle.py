"""Benchmark a nominal `argus cycle --decider rules` against the Typer floor (issue 4's bar).

Bar: median wall <= 1.6x bench/floor_typer.py and peak RSS <= 55 MiB; and the anthropic SDK is
not imported when the LLM is not called (checked in-process with the same settings).
Each run is a fresh process on a persistent state dir, as the timer runs it. Before each run the
CPU baseline (cpu-times.json) is dated 300 s back, as the previous cycle of a five-minute timer
leaves it; without that, back-to-back runs would each pay the 0.25 s first-sample that only
the very first cycle on a host pays.

Usage: python bench/bench_cycle.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import age_baseline, compile_bytecode, interleaved

HERE = Path(__file__).resolve().parent
WALL_BAR, RSS_BAR = 1.6, 55.0

_IMPORT_CHECK = """
import sys
from argus_cli.config import load
from argus_cli.cycle import run_cycle
line = run_cycle(load(), decider="rules")
assert line["status"] == "ok" and not line["llm_called"], line
print("anthropic imported:", "anthropic" in sys.modules)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="argus-bench-cycle-")
    env = {**os.environ, "ARGUS_STATE_DIR": state, "ARGUS_ENV_FILE": os.devnull, "NO_COLOR": "1"}
    env = {k: v for k, v in env.items() if k not in ("ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN")}
    py = sys.executable
    cases = {
        "floor_typer.py": ([py, str(HERE / "floor_typer.py")], env),
        "argus cycle --decider rules": ([py, "-m", "argus_cli", "cycle", "--decider", "rules"], env),
    }
    compile_bytecode()
    results = interleaved(cases, args.runs, before_each=lambda: age_baseline(Path(state)))
    for m in results.values():
        print(m.line())
    cycle, floor = results["argus cycle --decider rules"], results["floor_typer.py"]
    ratio = cycle.wall_median_s / floor.wall_median_s
    print(f"ratio cycle / typer floor (wall): {ratio:.2f}x  (bar <= {WALL_BAR:.2f}x)")
    print(f"cycle peak RSS: median {cycle.rss_median_mib:.1f} MiB, max {cycle.rss_max_mib:.1f} MiB "
          f"(bar <= {RSS_BAR:.0f} MiB)")
    check = subprocess.run([py, "-c", _IMPORT_CHECK], env=env, capture_output=True, text=True, check=False)
    print(check.stdout.strip() or check.stderr.strip())
    ok = ratio <= WALL_BAR and cycle.rss_max_mib <= RSS_BAR and "anthropic imported: False" in check.stdout
    print("PASS" if ok else "OVER BAR")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
