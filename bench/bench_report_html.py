"""Bench `argus report --html` on a 1,000,000-line, 30-day registry with a 7-day window.

Usage: python bench/bench_report_html.py [--lines N] [--runs 5] [--dir /tmp/argus-bench-window]

The registry is bench/bench_window.py's (ending now, regenerated when a day old); next to it a
state directory holds what 30 days of five-minute cycles leave: 8,640 lines each of cycles.jsonl
and metrics.jsonl (four disks), an incident log, the incident book and cycle-state.json. Each
command runs in a fresh child, interleaved with the others (bench/measure.py); `argus stats` on
the same window is measured alongside, as the cost of the registry pass alone.
Targets: wall <= 2 s and peak RSS <= 100 MiB.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_window import arguments, clean_env, generate
from measure import compile_bytecode, interleaved

DAYS = 30
STEP = 300
TARGET_WALL_S = 2.0
TARGET_RSS_MIB = 100
DISKS = ("/", "/home", "/var", "/srv")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _cycle(rng: random.Random, t: float) -> dict[str, object]:
    """A cycles.jsonl line as a rules or LLM cycle writes it (CycleRecord.line), about 1 KB."""
    asked = rng.random() < 0.15
    failed_collector = rng.random() < 0.01
    usage = {"input_tokens": rng.randint(3000, 6000), "output_tokens": rng.randint(80, 400)}
    return {"ts": _iso(t), "duration_ms": rng.randint(300, 2500), "status": "ok", "detail": "",
            "decider": "llm" if asked else "rules", "llm_called": asked,
            "llm_skip_reason": None if asked else "unchanged", "llm_reason": "changed" if asked else None,
            "llm_error": None, "usage": usage if asked else None,
            "model": "claude-haiku-4-5" if asked else None, "assessment": "disk / at 84% and rising",
            "actions": [{"type": "alert", "target": None, "subject": "disk:/", "text": "Disk / at 84%", "reason": None,
                         "status": rng.choice(("success", "suppressed", "suppressed")), "detail": "deduplicated"}],
            "errors": ["collector tmux: timed out after 5 s"] if failed_collector else [],
            "dry_run": False, "health": "warning", "open_findings": 1,
            "findings": [{"subject": "disk:/", "condition": "usage>=warn", "severity": "warning",
                          "text": "Disk / at 84% used"}],
            "mode": "act", "autonomy": "act",
            "incidents": {"open": 1, "opened": [], "resolved": [], "outcomes": [], "unkeyed": 0}}


def _metrics(rng: random.Random, t: float, start: float) -> dict[str, object]:
    days = (t - start) / 86400
    return {"ts": _iso(t), "cpu": round(rng.uniform(5, 60), 2), "load": round(rng.uniform(0.1, 2), 2),
            "mem": round(rng.uniform(40, 80), 2), "swap": 3.0, "up": 3, "svc": 3,
            "disk": {"/": round(60 + 0.8 * days + rng.uniform(-0.3, 0.3), 2), "/home": 41.0,
                     "/var": round(70 + rng.uniform(-1, 1), 2), "/srv": 12.5}}


def _incident_events(rng: random.Random, start: float, end: float) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    t = start
    for n in range(400):
        t += rng.uniform(1000, 8000)
        if t >= end:
            break
        subject = rng.choice(("service:web", "disk:/", "memory", "load", "tmux:agents"))
        ident = f"i{n}"
        events.append({"ts": _iso(t), "event": "opened", "id": ident, "subject": subject, "condition": "down",
                       "severity": "warning"})
        events.append({"ts": _iso(t + 900), "event": "resolved", "id": ident, "subject": subject, "condition": "down",
                       "opened": _iso(t), "duration_seconds": 900})
    return events


def build_state(state: Path) -> None:
    """30 days of cycles and metrics ending now (rewritten every run of the bench: they are small)."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    rng = random.Random(20261201)  # noqa: S311 - reproducible test data, not secrets
    end = time.time()
    start = end - DAYS * 86400
    times = [start + n * STEP for n in range(int(DAYS * 86400 / STEP))]
    (state / "cycles.jsonl").write_bytes(b"".join(orjson.dumps(_cycle(rng, t)) + b"\n" for t in times))
    (state / "metrics.jsonl").write_bytes(b"".join(orjson.dumps(_metrics(rng, t, start)) + b"\n" for t in times))
    events = _incident_events(rng, start, end)
    (state / "incidents.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    book = {"open": {"disk:/ usage>=warn": {"id": "i-open", "subject": "disk:/", "condition": "usage>=warn",
                                             "severity": "warning", "worst": "warning", "text": "Disk / at 84% used",
                                             "opened": end - 3 * 86400, "last_seen": end - 60}}}
    (state / "incidents.json").write_bytes(orjson.dumps(book))
    (state / "cycle-state.json").write_bytes(orjson.dumps({"status": "ok", "timestamp": _iso(end - 60),
                                                           "consecutive_failures": 0}))


def main() -> int:
    args = arguments(__doc__.splitlines()[0])
    registry = generate(args.dir, args.lines)
    state = args.dir / "report-state"
    build_state(state)
    env = clean_env(state, ARGUS_PROBLEMS_FILE=str(registry))
    py, out = sys.executable, str(args.dir / "report.html")
    print(f"registry: {registry} ({registry.stat().st_size / 2**20:.0f} MiB, {args.lines} lines, {DAYS} days); "
          f"state: {state} (cycles.jsonl and metrics.jsonl {DAYS * 86400 // STEP} lines each)")
    compile_bytecode()
    results = interleaved({
        "argus stats --json --window-days 7": ([py, "-m", "argus_cli", "stats", "--json", "--window-days", "7"], env),
        "argus report --html --window-days 7": ([py, "-m", "argus_cli", "report", "--html", out, "--window-days", "7"],
                                                env),
    }, args.runs)
    for m in results.values():
        print(m.line())
    report = results["argus report --html --window-days 7"]
    good = report.wall_median_s <= TARGET_WALL_S and report.rss_max_mib <= TARGET_RSS_MIB
    print(f"report --html    {report.wall_median_s:.2f} s (target <= {TARGET_WALL_S} s), "
          f"peak {report.rss_max_mib:.1f} MiB (target <= {TARGET_RSS_MIB} MiB), "
          f"page {Path(out).stat().st_size / 1024:.0f} KiB: "
          f"{'OK' if good else 'MISSED'}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
