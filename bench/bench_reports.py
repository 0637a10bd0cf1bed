"""Bench `argus stats` and `argus patterns analyze` on a 1,000,000-line registry.

Usage: python bench/bench_reports.py [--lines N] [--runs 3] [--dir /tmp/argus-bench-reports]

Each command runs in a fresh child; its peak RSS is the child's own ru_maxrss (os.wait4), its
wall time is measured around spawn-to-exit. The floor is a `python -c` that only orjson.loads
every line of the same file. Targets: peak RSS <= 100 MiB each, wall <= 3x the floor.
The registry is generated once (a realistic mix, a few garbage lines and non-canonical
timestamps) and reused while it has the requested size. Windows are set wide so that every
record counts: the worst case for the accumulators.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

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


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one fresh child."""
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} exited {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_maxrss / 1024


def measure(commands: dict[str, list[str]], env: dict[str, str], runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, peak RSS) per command; runs are interleaved so machine noise hits all alike."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(run_child(argv, env))
    result = {}
    for name, runs_of in samples.items():
        wall = statistics.median(s[0] for s in runs_of)
        rss = statistics.median(s[1] for s in runs_of)
        result[name] = (wall, rss)
        print(f"{name:<30} wall median {wall:6.2f} s  peak RSS median {rss:6.1f} MiB  "
              f"(runs: {', '.join(f'{s[0]:.2f}s/{s[1]:.0f}MiB' for s in runs_of)})")
    return result


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
    results = measure({
        "floor (orjson.loads only)": [py, "-c", FLOOR, str(registry)],
        "argus stats --json": [py, "-m", "argus_cli", "stats", "--json", "--window-days", "3650"],
        "argus patterns analyze --json": [py, "-m", "argus_cli", "patterns", "analyze", "--json"],
    }, env, args.runs)
    floor = results["floor (orjson.loads only)"][0]
    stats, patterns = results["argus stats --json"], results["argus patterns analyze --json"]
    ok = True
    for name, (wall, rss) in (("stats", stats), ("patterns analyze", patterns)):
        ratio = wall / floor
        good = ratio <= TARGET_RATIO and rss <= TARGET_RSS_MIB
        ok &= good
        print(f"{name:<17} {ratio:4.2f}x floor (target <= {TARGET_RATIO}x), peak {rss:.1f} MiB "
              f"(target <= {TARGET_RSS_MIB} MiB): {'OK' if good else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
