"""Bench a windowed report: `argus stats --window-days 7` on a 1,000,000-line, 30-day registry.

Usage: python bench/bench_window.py [--lines N] [--runs 5] [--dir /tmp/argus-bench-window]

The registry ends now (regenerated when it is more than a day old, so the window always holds a
week of it) and is also kept rotated into 10 files (problems.jsonl, .1 ... .9), as
ARGUS_RECORDS_MAX_MB would leave it. Each command runs in a fresh child, interleaved with the
others (bench/measure.py). The floor is a `python -c` that only orjson.loads every line of the
one-file registry: the cost of a report that reads the whole history.
Targets: wall <= 0.5x the floor and peak RSS <= 50 MiB, for both layouts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reports import FLOOR, _record
from measure import compile_bytecode, interleaved, judge

DAYS = 30
FILES = 10
TARGET_RATIO = 0.5
TARGET_RSS_MIB = 50


def generate(directory: Path, lines: int) -> Path:
    """The one-file registry and its rotated twin, ending now; reused while under a day old."""
    path = directory / "one" / "problems.jsonl"
    marker = directory / f"ends-{lines}"
    if marker.exists() and time.time() - float(marker.read_text()) < 86400 and path.exists():
        return path
    print(f"generating {lines} lines over {DAYS} days into {directory} ...", file=sys.stderr)
    rng = random.Random(20261201)  # noqa: S311 - reproducible test data, not secrets
    end = int(time.time())
    start = end - DAYS * 86400
    path.parent.mkdir(parents=True, exist_ok=True)
    rotated = directory / "rotated"
    rotated.mkdir(exist_ok=True)
    size = -(-lines // FILES)
    # Streamed, not built in memory: Linux keeps a process's peak RSS across exec, so a bench that
    # held the rows would lend that peak to every command it measures afterwards.
    names = ["problems.jsonl" if number == 0 else f"problems.jsonl.{number}" for number in range(FILES)]
    with contextlib.ExitStack() as stack:
        whole = stack.enter_context(path.open("wb"))
        parts = [stack.enter_context((rotated / name).open("wb")) for name in names]
        for n in range(lines):
            record = _record(rng, start + n * (DAYS * 86400) // lines)
            if n % 1000 == 7:  # a few non-canonical timestamps: the slow path
                record["ts"] = str(record["ts"]).replace("Z", ".25+00:00")
            row = orjson.dumps(record) + b"\n"
            whole.write(row)
            # the newest rows in problems.jsonl, the oldest in .9 (which takes the remainder)
            parts[min((lines - 1 - n) // size, FILES - 1)].write(row)
    marker.write_text(str(end))
    return path


def arguments(description: str) -> argparse.Namespace:
    """--lines, --runs and --dir, as every bench over the 30-day registry takes them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "argus-bench-window")
    return parser.parse_args()


def clean_env(state: Path, **settings: str) -> dict[str, str]:
    """This environment without Argus, Telegram or Anthropic settings, plus ``state`` and ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGUS_", "TELEGRAM_", "ANTHROPIC_"))}
    return {**env, "ARGUS_STATE_DIR": str(state), "ARGUS_ENV_FILE": os.devnull, **settings}


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    registry = generate(args.dir, args.lines)
    rotated = args.dir / "rotated" / "problems.jsonl"
    base = clean_env(args.dir / "state")
    one, many = dict(base, ARGUS_PROBLEMS_FILE=str(registry)), dict(base, ARGUS_PROBLEMS_FILE=str(rotated))
    py = sys.executable
    stats = [py, "-m", "argus_cli", "stats", "--json", "--window-days", "7"]
    print(f"registry: {registry} ({registry.stat().st_size / 2**20:.0f} MiB, {args.lines} lines, {DAYS} days)")
    compile_bytecode()
    results = interleaved({
        "floor (orjson.loads every line)": ([py, "-c", FLOOR, str(registry)], base),
        "stats --window-days 7, one file": (stats, one),
        "stats --window-days 7, 10 files": (stats, many),
    }, args.runs)
    for m in results.values():
        print(m.line())
    labels = ("stats --window-days 7, one file", "stats --window-days 7, 10 files")
    ok = judge(results, "floor (orjson.loads every line)", {label: label for label in labels},
               TARGET_RATIO, TARGET_RSS_MIB)
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
