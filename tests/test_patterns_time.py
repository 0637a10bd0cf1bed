"""Time correlation against the host's own baseline (reports/patterns_time.py): ONE finding
listing the UTC hours of day that stand out, and the 24-hour histogram of the human view. Each
figure is checked against helpers_patterns.standing_hours, an independent computation."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from helpers_patterns import standing_hours
from helpers_reports import load_records, problem, real_registry, run_on_tty, to_utc, write_registry

from argus_cli.reports.patterns import compute_patterns

NOW = 1_775_000_000.0  # 2026-03-31T23:33:20Z
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ROW = re.compile(r"^\s*(\d\d):00\s*│\s*([█░]*)\s*│\s*(\d+)\s*│\s*(◀ stands out)?\s*$")


def _real_env(argus_env: dict[str, str]) -> dict[str, str]:
    return {**argus_env, "ARGUS_PROBLEMS_FILE": str(real_registry()), "ARGUS_PATTERN_WINDOW_DAYS": "3650"}


def test_real_registry_gives_one_finding_for_the_hours_that_stand_out(run_argus, argus_env):
    result = run_argus("patterns", "analyze", "--json", env=_real_env(argus_env))
    assert result.returncode == 0, result.stderr
    analysis = json.loads(result.stdout)
    records = load_records(real_registry())
    expected = standing_hours(records)
    [finding] = [p for p in analysis["patterns"] if p["type"] == "time_correlation"]
    assert finding["id"] == "time-correlation" and finding["severity"] == "info"
    data = finding["data"]
    assert data["hours_utc"] == list(expected)
    assert data["counts"] == {h: e["count"] for h, e in expected.items()}
    assert data["days"] == {h: e["days"] for h, e in expected.items()}
    assert data["baseline_median"] == {h: e["baseline"] for h, e in expected.items()}
    assert 0 < len(data["hours_utc"]) <= 3  # the seed flagged 14 of 24 hours (test_patterns.py)
    for hour in data["hours_utc"]:
        assert f"{hour}:00 UTC ({expected[hour]['count']} on {expected[hour]['days']} days)" in finding["summary"]
    by_hour = Counter(to_utc(r["ts"]).strftime("%H") for r in records)
    assert analysis["hour_of_day"] == {f"{h:02d}": by_hour[f"{h:02d}"] for h in range(24)}


def test_the_human_view_draws_all_24_hours_and_marks_the_standing_ones(argus_env):
    code, out = run_on_tty({**_real_env(argus_env), "COLUMNS": "160"}, "patterns", "analyze")
    assert code == 0, out
    rows = [m for line in _ANSI.sub("", out).splitlines() if (m := _ROW.match(line))]
    assert "problems per UTC hour of day" in out
    assert [m[1] for m in rows] == [f"{h:02d}" for h in range(24)]
    records = load_records(real_registry())
    by_hour = Counter(to_utc(r["ts"]).strftime("%H") for r in records)
    assert {m[1]: int(m[3]) for m in rows} == {f"{h:02d}": by_hour[f"{h:02d}"] for h in range(24)}
    assert {m[1] for m in rows if m[4]} == set(standing_hours(records))
    assert all(set(m[2]) == {"█"} for m in rows if m[4])  # solid bars: the mark survives NO_COLOR
    assert all(not m[2] for m in rows if by_hour[m[1]] == 0)


def _at(day: int, hour: int, minute: int) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def _analysis(tmp_path: Path, records: list[dict]) -> dict:
    registry = write_registry(tmp_path / "p.jsonl", records)
    return dict(compute_patterns(registry, tmp_path / "state", NOW, 7)[0])


def test_one_incident_through_one_night_is_not_a_time_of_day(tmp_path):
    night = [problem(_at(28, hour, minute)) for hour in (1, 2, 3) for minute in range(0, 60, 6)]  # 30 problems
    scattered = [problem(_at(day, hour, 0)) for day, hour in ((25, 9), (26, 14), (27, 17), (29, 20))]
    analysis = _analysis(tmp_path, night + scattered)
    assert standing_hours(night + scattered) == {}
    assert [p for p in analysis["patterns"] if p["type"] == "time_correlation"] == []
    assert analysis["hour_of_day"]["02"] == 10


def test_an_hour_that_recurs_on_several_days_stands_out_even_alone(tmp_path):
    nightly = [problem(_at(day, 3, 10 + i)) for day in (26, 27, 28, 29) for i in range(2)]  # 03:00, four nights
    analysis = _analysis(tmp_path, nightly)
    [finding] = [p for p in analysis["patterns"] if p["type"] == "time_correlation"]
    assert finding["data"]["hours_utc"] == ["03"] and finding["data"]["baseline_median"] == {"03": 0}
    assert list(standing_hours(nightly)) == ["03"]
    noise = [problem(_at(day, hour, 0)) for day in (26, 27, 28) for hour in (8, 12, 16, 20)]  # 3 a day each
    analysis = _analysis(tmp_path, nightly + noise)
    [finding] = [p for p in analysis["patterns"] if p["type"] == "time_correlation"]
    assert finding["data"] == {"hours_utc": ["03"], "counts": {"03": 8}, "days": {"03": 4},
                               "baseline_median": {"03": 3}}
    assert finding["recommendation"].endswith("around that hour.")


def test_an_hour_under_twice_the_others_median_does_not_stand_out(tmp_path):
    busy = [problem(_at(day, hour, i)) for day in (26, 27) for hour in range(8, 18) for i in range(2)]  # 4 per hour
    slightly = [problem(_at(day, 3, i)) for day in (26, 27) for i in range(3)]  # 6 < 2 x 4 at 03:00
    analysis = _analysis(tmp_path, busy + slightly)
    assert standing_hours(busy + slightly) == {}
    assert [p for p in analysis["patterns"] if p["type"] == "time_correlation"] == []
    more = [*slightly, problem(_at(28, 3, 0)), problem(_at(28, 3, 1))]  # 8 = 2 x 4: stands out
    analysis = _analysis(tmp_path, busy + more)
    assert list(standing_hours(busy + more)) == ["03"]
    assert [p["data"]["hours_utc"] for p in analysis["patterns"] if p["type"] == "time_correlation"] == [["03"]]
