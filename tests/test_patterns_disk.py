"""Disk pressure from measured usage (reports/patterns_disk.py): a generated metrics.jsonl with a
known slope gives the rate, the days to full (within a day of a least-squares fit computed here)
and the forecast's severity; without measurements the registry's count is an info finding that
says so. All through the real CLI, on the real registry."""

from __future__ import annotations

import calendar
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers_reports import load_records, real_registry, to_utc

STEP = 300  # a cycle every five minutes
DAY = 86400


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _history(now: float, slope: float, start: float, days: int = 7) -> list[dict[str, Any]]:
    """A week of readings: "/" from ``start`` at ``slope`` points a day (noise ±0.3), "/var" steady,
    "/srv" emptying."""
    rng = random.Random(14)
    count = days * DAY // STEP
    lines = []
    for i in range(count):
        t = now - (count - 1 - i) * STEP
        elapsed = (t - (now - days * DAY)) / DAY
        lines.append({"ts": _iso(t), "disk": {"/": round(start + slope * elapsed + rng.uniform(-0.3, 0.3), 2),
                                              "/var": round(40 + rng.uniform(-0.3, 0.3), 2),
                                              "/srv": round(80 - 1.0 * elapsed, 2)}})
    return lines


def _days_to_full(lines: list[dict[str, Any]], now: float) -> tuple[float, float]:
    """(rate per day, days until 100 %) of "/" by ordinary least squares, from the line at now."""
    xs = [(calendar.timegm(time.strptime(x["ts"], "%Y-%m-%dT%H:%M:%SZ")) - now) / DAY for x in lines]
    ys = [x["disk"]["/"] for x in lines]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    level_now = my - slope * mx  # x = 0 is now
    return slope, (100 - level_now) / slope


def _severity(days: float) -> str | None:
    """The forecast's severity as README and reports/trends.py define it; None: no finding (> 30 days)."""
    return "critical" if days <= 3 else "warning" if days <= 14 else "info" if days <= 30 else None


def _analyze(run_argus: Any, env: dict[str, str]) -> dict[str, Any]:
    result = run_argus("patterns", "analyze", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _env(argus_env: dict[str, str]) -> dict[str, str]:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700, exist_ok=True)
    return {**argus_env, "ARGUS_PROBLEMS_FILE": str(real_registry()), "ARGUS_PATTERN_WINDOW_DAYS": "3650"}


@pytest.mark.parametrize(("slope", "start", "band"), [(2.0, 60.0, "warning"), (8.0, 40.0, "critical"),
                                                     (1.6, 50.0, "info"), (0.5, 50.0, None)])
def test_a_known_slope_gives_rate_days_to_full_and_severity(run_argus, argus_env, slope, start, band):
    env = _env(argus_env)
    now = time.time()
    lines = _history(now, slope, start)
    (Path(env["ARGUS_STATE_DIR"]) / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    analysis = _analyze(run_argus, env)
    disks = [p for p in analysis["patterns"] if p["type"] == "disk_pressure_trend"]
    rate, days = _days_to_full(lines, now)
    severity = _severity(days)
    assert severity == band  # the case covers the band it is named for
    if severity is None:  # full in ~90 days: nothing for this report, and no count-based fallback
        assert disks == []
        return
    [finding] = disks  # "/var" is steady and "/srv" empties: no finding; the registry's 9 are not counted
    assert finding["id"] == "disk-pressure-root" and finding["severity"] == severity
    data = finding["data"]
    assert data["path"] == "/" and data["measured"] is True and data["points"] == len(lines)
    assert data["rate_per_day"] == pytest.approx(rate, abs=0.05) and rate == pytest.approx(slope, abs=0.1)
    assert data["days_to_full"] == pytest.approx(days, abs=1.0)
    assert data["percent"] == lines[-1]["disk"]["/"]
    assert finding["summary"].startswith(f"/ filling {data['rate_per_day']:.2g} %/day, full ")
    when = f"in ~{round(data['days_to_full'])} days at this rate" if days >= 1 else "within a day"
    assert when in finding["summary"]


def test_without_measurements_the_registry_count_is_info_and_says_so(run_argus, argus_env):
    analysis = _analyze(run_argus, _env(argus_env))  # no metrics.jsonl: an older host
    disk = [r for r in load_records(real_registry()) if r["type"] == "disk"]
    [finding] = [p for p in analysis["patterns"] if p["type"] == "disk_pressure_trend"]
    assert finding["id"] == "disk-pressure-trend" and finding["severity"] == "info"  # the seed said warning
    assert finding["data"] == {"count": len(disk), "days": len({to_utc(r["ts"]).date() for r in disk}),
                               "by_severity": dict(Counter(r["severity"] for r in disk)), "measured": False}
    assert finding["data"]["by_severity"] == {"warning": 2, "info": 7}
    assert "no disk usage was measured" in finding["summary"] and "no fill rate or forecast" in finding["summary"]


def test_a_measured_disk_that_is_not_filling_gives_no_finding(run_argus, argus_env):
    env = _env(argus_env)
    lines = _history(time.time(), 0.0, 75.0)  # the real host's 70 to 78 %, steady
    (Path(env["ARGUS_STATE_DIR"]) / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    analysis = _analyze(run_argus, env)
    assert [p for p in analysis["patterns"] if p["type"] == "disk_pressure_trend"] == []


def test_an_unreadable_metrics_file_is_no_measurement_not_a_failure(run_argus, argus_env):
    env = _env(argus_env)
    (Path(env["ARGUS_STATE_DIR"]) / "metrics.jsonl").mkdir()  # a directory where the file belongs
    analysis = _analyze(run_argus, env)
    assert [p["id"] for p in analysis["patterns"] if p["type"] == "disk_pressure_trend"] == ["disk-pressure-trend"]
