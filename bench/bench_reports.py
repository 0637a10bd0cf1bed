"""Bench `argus stats` and `argus patterns analyze` on a 1,000,000-line registry.

Usage: python bench/bench_reports.py [--lines N] [--runs 3] [--dir /tmp/argus-bench-reports]

Each command runs in a fresh child, interleaved with the others (bench/measure.py): peak RSS
is the child's own ru_maxrss (os.wait4), wall time is spawn-to-exit; the RSS bar is checked
against the largest run. The floor is a `python -c` that only orjson.loads
every line of the same file. Targets: peak RSS <= 100 MiB each, wall <= 3x the floor.
The registry is generated once (a realistic mix, a few garbage lines and non-canonical
timestamps) and reused while it has the requested size. Windows are set wide so that every
record counts: the worst case for the accumulators.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import compile_bytecode, interleaved, judge

FLOOR = ("import orjson,sys\nfor line in open(sys.argv[1],'rb'):\n"
         "    try:\n        orjson.loads(line)\n    except orjson.JSONDecodeError:\n        pass")
TARGET_RSS_MIB = 100
TARGET_RATIO = 3.0
_TYPES = (("process", 60), ("service", 15), ("memory", 13), ("disk", 8), ("swap", 4))
_HOGS = ("node", "claude", "codex", "python3", "pt_main_thread", "java")


def _record(rng: random.Random, epoch: int) -> dict[str, object]:
    kind = rng.choices([t for t, _ in _TYPES], [w for _, w in _TYPES])[0]
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    action, description = "log:observation", f"Load average elevated at {rng.uniform(2, 30):.2f}"
    if kind == "service":
        action = rng.choice(("restart_service:openclaw-gateway", "alert:telegram"))
        description = f"openclaw-gateway unreachable on port {rng.randint(18000, 19999)}"
    elif kind == "memory":
        action = "alert:telegram"
        description = (f"Memory usage at {rng.randint(85, 99)}% ({rng.randint(20000, 60000)}MB/64302MB); "
                       f"hog_process={rng.choice(_HOGS)},hog_pid={rng.randint(2, 400000)},"
                       f"hog_rss_kb={rng.randint(10**5, 10**7)},hog_mem_pct=11.2,hog_runtime=1-18:08:53,"
                       "hog_kill_candidate=no")
    elif kind == "disk":
        action, description = "clean_disk:safelist", f"Disk / at {rng.randint(80, 99)}% used"
    return {"ts": ts, "severity": rng.choices(("critical", "warning", "info"), (3, 2, 5))[0], "type": kind,
            "description": description, "action_taken": action,
            "action_result": rng.choices(("success", "failure", "skipped", "suppressed"), (85, 5, 5, 5))[0],
            "bead_id": None, "host": "bench.localdomain"}


def generate(path: Path, lines: int) -> None:
    rng = random.Random(20260227)  # noqa: S311 - reproducible test data, not secrets
    start = int(time.time()) - 60 * 86400
    with path.open("wb") as out:
        for n in range(lines):
            epoch = start + n * (60 * 86400) // lines
            if n % 10_000 == 5000:
                out.write(b'{"ts": "2026-03-01T10:00:00+02:00", "torn\n')  # garbage, counted and skipped
                continue
            record = _record(rng, epoch)
            if n % 1000 == 7:  # the slow path: an offset and a fraction
                record["ts"] = record["ts"].replace("Z", ".25+00:00")
            out.write(orjson.dumps(record) + b"\n")


def ensure_registry(directory: Path, lines: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"problems-{lines}.jsonl"
    marker = directory / f"problems-{lines}.ok"
    if not marker.exists():
        print(f"generating {lines} lines into {path} ...", file=sys.stderr)
        generate(path, lines)
        marker.write_text(str(path.stat().st_size))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "argus-bench-reports")
    args = parser.parse_args()
    registry = ensure_registry(args.dir, args.lines)
    state = args.dir / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGUS_", "TELEGRAM_", "ANTHROPIC_"))}
    env.update({"ARGUS_STATE_DIR": str(state), "ARGUS_PROBLEMS_FILE": str(registry),
                "ARGUS_ENV_FILE": os.devnull, "ARGUS_PATTERN_WINDOW_DAYS": "3650"})
    py = sys.executable
    print(f"registry: {registry} ({registry.stat().st_size / 2**20:.0f} MiB, {args.lines} lines)")
    compile_bytecode()
    results = interleaved({
        "floor (orjson.loads only)": ([py, "-c", FLOOR, str(registry)], env),
        "argus stats --json": ([py, "-m", "argus_cli", "stats", "--json", "--window-days", "3650"], env),
        "argus patterns analyze --json": ([py, "-m", "argus_cli", "patterns", "analyze", "--json"], env),
    }, args.runs)
    for m in results.values():
        print(m.line())
    ok = judge(results, "floor (orjson.loads only)",
               {"stats": "argus stats --json", "patterns analyze": "argus patterns analyze --json"},
               TARGET_RATIO, TARGET_RSS_MIB)
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
