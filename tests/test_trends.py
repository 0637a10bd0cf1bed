"""metrics.jsonl and the disk forecast: real cycles write one compact line each; a generated
history with a known slope gives that slope and the day the disk fills (within a day), read
across a rotated file, through `argus stats --json` and the Prometheus text."""

from __future__ import annotations

import calendar
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from test_incidents import disk_host

from argus_cli.cycle import run_cycle
from argus_cli.model import iso_z
from argus_cli.reports.trends import disk_trends

SCENARIOS = Path(__file__).parent / "scenarios"
STEP = 300


def history(now: float, days: float, slope: float, start: float, noise: float = 0.4) -> list[dict[str, Any]]:
    """Readings every five minutes up to ``now``: "/" filling at ``slope`` points a day (with noise),
    "/var" steady, "/srv" emptying."""
    rng = random.Random(7)
    count = int(days * 86400 / STEP)
    lines = []
    for i in range(count):
        t = now - (count - 1 - i) * STEP
        elapsed = (t - (now - days * 86400)) / 86400
        lines.append({"ts": iso_z(t), "mem": 40.0, "disk": {
            "/": round(start + slope * elapsed + rng.uniform(-noise, noise), 2),
            "/var": round(40.0 + rng.uniform(-noise, noise), 2), "/srv": round(80.0 - 1.5 * elapsed, 2)}})
    return lines


def write(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_a_known_slope_gives_the_day_the_disk_fills(argus_env, run_argus):
    now = time.time()
    state = Path(argus_env["ARGUS_STATE_DIR"])
    lines = history(now, 7, slope=2.0, start=60.0)  # 60 % a week ago, 74 % now: full in ~13 days
    write(state / "metrics.jsonl", lines)
    proc = run_argus("stats", "--json", env=argus_env)
    assert proc.returncode == 0, proc.stderr
    trends = {t["path"]: t for t in json.loads(proc.stdout)["disk_trends"]}
    root = trends["/"]
    latest = lines[-1]["disk"]["/"]
    assert root["rate_per_day"] == pytest.approx(2.0, abs=0.1)
    assert root["days_to_full"] == pytest.approx((100 - latest) / 2.0, abs=1.0)
    assert root["severity"] == "warning" and root["points"] == len(lines)
    assert trends["/var"]["days_to_full"] is None and abs(trends["/var"]["rate_per_day"]) < 0.1
    assert trends["/srv"]["days_to_full"] is None and trends["/srv"]["rate_per_day"] == pytest.approx(-1.5, abs=0.05)
    prom = run_argus("stats", "--format", "prometheus", env=argus_env).stdout
    [sample] = [x for x in prom.splitlines() if x.startswith('argus_disk_days_to_full{path="/"}')]
    assert float(sample.split()[-1]) == pytest.approx(root["days_to_full"], abs=0.05)
    assert 'argus_disk_days_to_full{path="/var"}' not in prom  # steady: no forecast to give


def test_the_forecast_reads_across_a_rotated_file_and_stops_at_the_window(argus_env):
    now = time.time()
    state = Path(argus_env["ARGUS_STATE_DIR"])
    lines = history(now, 10, slope=5.0, start=20.0)  # 10 days, but the window is 7
    cut = len(lines) // 2
    write(state / "metrics.jsonl.1", lines[:cut])
    write(state / "metrics.jsonl", [*lines[cut:], {"ts": "garbage"}])
    (state / "metrics.jsonl").open("a").write("{not json\n")
    trends, read = disk_trends(state, now, 7)
    [root] = [t for t in trends if t.path == "/"]
    inside = [x for x in lines if calendar.timegm(time.strptime(x["ts"], "%Y-%m-%dT%H:%M:%SZ")) >= now - 7 * 86400]
    assert root.points == len(inside) and len(inside) < len(lines)
    assert root.rate_per_day == pytest.approx(5.0, abs=0.1)
    assert root.days_to_full == pytest.approx((100 - lines[-1]["disk"]["/"]) / 5.0, abs=1.0)
    assert root.severity == "warning" and read.malformed == 1 and read.future == 0
    assert all(t.rate_per_day is None for t in disk_trends(state, now, 1)[0])  # under a day: no trend yet
    assert all(t.rate_per_day is not None for t in disk_trends(state, now, 2)[0])


def test_a_few_readings_are_no_trend(argus_env):
    now = time.time()
    state = Path(argus_env["ARGUS_STATE_DIR"])
    write(state / "metrics.jsonl", history(now, 0.1, slope=100.0, start=10.0))  # 2.4 hours
    [root] = [t for t in disk_trends(state, now, 7)[0] if t.path == "/"]
    assert (root.rate_per_day, root.days_to_full, root.severity) == (None, None, "info")


def test_each_real_cycle_writes_one_compact_line_and_a_dry_run_none(argus_env, config_of):
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    start = float(int(time.time()))
    for i, percent in enumerate((70.0, 71.5)):
        run_cycle(config, now=start + i * STEP, collect=disk_host(percent), install_signals=False)
    run_cycle(config, now=start + 2 * STEP, collect=disk_host(99.0), dry_run=True, install_signals=False)
    raw = (config.state_dir / "metrics.jsonl").read_bytes().splitlines()
    lines = [json.loads(x) for x in raw]
    assert [line["disk"]["/"] for line in lines] == [70.0, 71.5]
    assert [line["ts"] for line in lines] == [iso_z(start), iso_z(start + STEP)]
    assert {"cpu", "load", "mem", "swap"} <= set(lines[0])
    assert max(len(x) for x in raw) < 200  # about 100 bytes a cycle: a year is ~10 MB
