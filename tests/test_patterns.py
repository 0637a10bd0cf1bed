"""`argus patterns analyze --compat` (the seed's four detectors, unchanged) and `patterns detect`: the
daily bead, patterns.jsonl. The new detectors are pinned in test_patterns_{time,disk,hogs}.py."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from conftest import write_executable
from helpers_patterns import expected_findings, standing_hours
from helpers_reports import (
    expected_patterns,
    in_window,
    iso,
    load_records,
    problem,
    real_registry,
    write_registry,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argus_cli.config import load
from argus_cli.notify.beads import create_summary_bead
from argus_cli.reports.detect import detect
from argus_cli.reports.patterns import compute_patterns
from argus_cli.reports.patterns_compat import compute_seed_patterns

DAY = 86400
NOW = 1_775_000_000.0  # 2026-03-31T23:33:20Z
HOG = "Memory usage at 95% (60000MB/64302MB); hog_process={},hog_pid=17165,hog_rss_kb=491140,hog_mem_pct=0.7"


def _shape(analysis: dict) -> list[tuple[str, str, str, dict]]:
    return [(p["id"], p["type"], p["severity"], p["data"]) for p in analysis["patterns"]]


THRESHOLD = 3  # the seed's pattern-analysis.sh


def seed_patterns(path: Path) -> list[tuple[str, str, str, dict]]:
    """The seed's four detectors over every line of ``path``, written out again with plain loops
    (no window: the test's window is ten years): (id, type, severity, data), in report order."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    utc = [datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).astimezone(UTC) for r in rows]
    restarts = Counter(t.strftime("%Y-%m-%d") for r, t in zip(rows, utc, strict=True)
                       if r["type"] == "service" and r["action_taken"].startswith("restart_service"))
    disk_days = Counter(t.strftime("%Y-%m-%d") for r, t in zip(rows, utc, strict=True) if r["type"] == "disk")
    hogs = Counter(m.group(1) for r in rows if r["type"] == "memory"
                   for m in [re.search(r"hog_process=([^,; ]+)", r["description"])] if m)
    hours = Counter(t.strftime("%H") for t in utc)
    out = [(f"service-restarts-{d}", "service_restart_spike", "warning", {"day": d, "count": n})
           for d, n in sorted(restarts.items()) if n >= THRESHOLD]
    if sum(disk_days.values()) >= THRESHOLD and len(disk_days) >= 2:
        out.append(("disk-pressure-trend", "disk_pressure_trend", "warning", {"count": sum(disk_days.values())}))
    out += [(f"memory-hog-{name}", "memory_hog_recurring", "warning", {"process": name, "count": n})
            for name, n in sorted(hogs.items()) if n >= THRESHOLD]
    out += [(f"time-correlation-{hh}", "time_correlation", "info", {"hour_utc": hh, "count": n})
            for hh, n in sorted(hours.items()) if n >= THRESHOLD]
    return out


def test_compat_on_the_real_registry_is_the_seeds_analysis(run_argus, argus_env):
    registry = real_registry()
    argus_env.update({"ARGUS_PROBLEMS_FILE": str(registry), "ARGUS_PATTERN_WINDOW_DAYS": "3650"})
    result = run_argus("patterns", "analyze", "--compat", "--json", env=argus_env)
    assert result.returncode == 0, result.stderr
    analysis = json.loads(result.stdout)
    expected = seed_patterns(registry)
    assert len([p for p in expected if p[1] == "time_correlation"]) == 14  # the 14 hours of 24
    assert _shape(analysis) == expected
    assert _shape(analysis) == expected_patterns(load_records(registry), time.time(), 3650)  # the stats reference
    assert analysis["total_problems"] == len(load_records(registry))
    # the original pattern-analysis.sh's keys first, then Argus's own (no incidents.jsonl here)
    assert list(analysis) == ["generated_at", "window_days", "total_problems", "patterns", "top_subjects"]
    assert analysis["top_subjects"] == []
    for pattern in analysis["patterns"]:
        assert list(pattern) == ["id", "type", "severity", "summary", "recommendation", "data"]
        for sentence in (pattern["summary"], pattern["recommendation"]):
            assert sentence.endswith(".") and sentence.count(". ") == 0
    on_disk = json.loads((Path(argus_env["ARGUS_STATE_DIR"]) / "pattern-analysis.json").read_text())
    assert on_disk == analysis


def test_detectors_fire_at_three_and_not_at_two(tmp_path):
    base = NOW - 2 * DAY
    day1, day2 = iso(base)[:10], iso(base + DAY)[:10]
    records = (
        [problem(iso(base + i * 60), "service", action="restart_service:gw") for i in range(3)]      # spike day1
        + [problem(iso(base + DAY + i * 60), "service", action="restart_service:gw") for i in range(2)]  # 2: none
        + [problem(iso(base + 120 + i), "service", action="alert:telegram") for i in range(5)]  # not restarts
        + [problem(iso(base + DAY + 7200 + i), "process", action="restart_service:x") for i in range(3)]  # wrong type
        + [problem(iso(base + 3 * 3600 + i), "memory", description=HOG.format("node")) for i in range(3)]
        + [problem(iso(base + 5 * 3600 + i), "memory", description=HOG.format("java")) for i in range(2)]
        + [problem(iso(base + 9 * 3600), "disk"), problem(iso(base + 9 * 3600 + 1), "disk"),
           problem(iso(base + DAY + 9 * 3600), "disk")]
    )
    registry = write_registry(tmp_path / "p.jsonl", records)
    analysis, scan = compute_seed_patterns(registry, NOW, 7)
    assert scan.skipped == 0
    assert _shape(analysis) == expected_patterns(records, NOW, 7)
    ids = [p["id"] for p in analysis["patterns"]]
    assert f"service-restarts-{day1}" in ids and f"service-restarts-{day2}" not in ids
    assert "disk-pressure-trend" in ids and "memory-hog-node" in ids and "memory-hog-java" not in ids
    assert analysis["total_problems"] == len(records)


def test_disk_on_one_day_is_not_a_trend_and_hours_are_utc(tmp_path):
    records = [problem("2026-03-30T10:00:00Z", "disk"), problem("2026-03-30T11:00:00Z", "disk"),
               problem("2026-03-30T12:00:00+02:00", "disk")]  # 10:00Z: hour 10 gets two
    analysis, _ = compute_seed_patterns(write_registry(tmp_path / "p.jsonl", records), NOW, 7)
    assert _shape(analysis) == []
    records.append(problem("2026-03-30T13:30:00+03:00", "swap"))  # 10:30Z: the third in hour 10
    analysis, _ = compute_seed_patterns(write_registry(tmp_path / "p.jsonl", records), NOW, 7)
    assert _shape(analysis) == [("time-correlation-10", "time_correlation", "info", {"hour_utc": "10", "count": 3})]


def test_analyze_out_and_malformed_lines(run_argus, argus_env, tmp_path):
    argus_env["ARGUS_PROBLEMS_FILE"] = str(write_registry(
        tmp_path / "p.jsonl", [problem(iso(time.time() - 60))], extra_lines=("{garbage",), tail='{"ts":'))
    out = tmp_path / "elsewhere" / "analysis.json"
    result = run_argus("patterns", "analyze", "--out", str(out), "--json", env=argus_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == json.loads(result.stdout)
    assert json.loads(result.stdout)["total_problems"] == 1
    assert "skipped 2 malformed line(s)" in result.stderr
    assert not (Path(argus_env["ARGUS_STATE_DIR"]) / "pattern-analysis.json").exists()


def _bd(tmp_path: Path, exit_code: int = 0) -> Path:
    """A bd stand-in: logs its argv as one JSON line and prints a new id; ``exit_code`` 1 is a bd
    that made the bead and then failed (a sync error)."""
    log = tmp_path / "bd-calls.jsonl"
    write_executable(tmp_path / "bin" / "bd", f"""#!{sys.executable}
import json, sys
with open({str(log)!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
n = sum(1 for _ in open({str(log)!r}))
print(f"pol-{{n:04d}}")
sys.exit({exit_code})
""")
    return log


def _last_hour() -> float:
    """Start of the previous UTC hour: a few minutes from there stay in one hour and one day."""
    return (time.time() // 3600 - 1) * 3600


def _spike(n: int, base: float) -> list[dict]:
    return [problem(iso(base + i * 60), "service", action="restart_service:gw") for i in range(n)]


def test_detect_reports_once_per_signature_per_day(run_argus, argus_env, tmp_path):
    log = _bd(tmp_path)
    registry = write_registry(tmp_path / "p.jsonl", _spike(3, _last_hour()))
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    first = run_argus("patterns", "detect", env=argus_env)
    assert first.returncode == 0, first.stderr
    assert "reported" in first.stdout and "pol-0001" in first.stdout
    second = run_argus("patterns", "detect", env=argus_env)
    assert "already reported" in second.stdout
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(calls) == 1
    args = calls[0]
    assert args[0] == "create" and "--silent" in args
    assert args[args.index("--title") + 1] == "[argus] pattern-analysis: recurring operational patterns"
    state = Path(argus_env["ARGUS_STATE_DIR"])
    analysis = json.loads((state / "pattern-analysis.json").read_text())
    canonical = json.dumps(analysis["patterns"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    signature = hashlib.sha256(canonical.encode()).hexdigest()
    assert signature in args[args.index("--description") + 1]
    lines = [json.loads(line) for line in (state / "patterns.jsonl").read_text().splitlines()]
    assert len(lines) == 1
    # the spike alone: three problems in one hour of one day are no time pattern
    assert lines[0]["signature"] == signature and lines[0]["pattern_count"] == 1
    assert lines[0]["bead_id"] == "pol-0001" and list(lines[0]) == ["ts", "signature", "pattern_count", "bead_id"]


def test_detect_new_signature_or_new_day_reports_again(argus_env, tmp_path):
    log = _bd(tmp_path)
    registry = write_registry(tmp_path / "p.jsonl", _spike(3, NOW - 3600))
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    argus_env["ARGUS_BD_BIN"] = str(tmp_path / "bin" / "bd")  # in-process: PATH is not argus_env's
    config = load(argus_env)
    assert detect(config, NOW, create_summary_bead).status == "reported"
    assert detect(config, NOW + 60, create_summary_bead).status == "already-reported"
    write_registry(registry, _spike(4, NOW - 3600))  # the count changes, so does the signature
    assert detect(config, NOW + 120, create_summary_bead).status == "reported"
    write_registry(registry, _spike(3, NOW - 3600))  # back to the first findings: already done today
    assert detect(config, NOW + 180, create_summary_bead).status == "already-reported"
    assert detect(config, NOW + DAY, create_summary_bead).status == "reported"  # a new UTC day
    assert len(log.read_text().splitlines()) == 3
    assert len((config.state_dir / "patterns.jsonl").read_text().splitlines()) == 3


def test_detect_without_patterns_or_without_bd(run_argus, argus_env, tmp_path):
    log = _bd(tmp_path)
    registry = write_registry(tmp_path / "p.jsonl", [problem(iso(time.time() - 60))])
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    result = run_argus("patterns", "detect", env=argus_env)
    assert result.stdout.strip() == "No patterns detected"
    assert not log.exists()
    state = Path(argus_env["ARGUS_STATE_DIR"])
    assert not (state / "patterns.jsonl").exists()
    write_registry(registry, _spike(3, _last_hour()))
    argus_env["ARGUS_BD_BIN"] = str(tmp_path / "no-such-bd")
    result = run_argus("patterns", "detect", env=argus_env)
    assert result.returncode == 0
    assert "no bead" in result.stdout and result.stderr == ""  # bd not installed: said once, on stdout
    line = json.loads((state / "patterns.jsonl").read_text())
    assert line["bead_id"] is None and line["pattern_count"] == 1


def test_a_day_whose_bead_failed_is_tried_again_and_said_in_json(run_argus, argus_env, tmp_path):
    registry = write_registry(tmp_path / "p.jsonl", _spike(3, _last_hour()))
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    argus_env["ARGUS_BD_BIN"] = str(tmp_path / "no-such-bd")
    failed = run_argus("patterns", "detect", "--json", env=argus_env)
    assert failed.returncode == 0, failed.stderr
    outcome = json.loads(failed.stdout)
    assert (outcome["status"], outcome["bead_id"], outcome["retry_next_run"]) == ("reported", None, True)
    assert outcome["pattern_count"] == 1 and outcome["window_days"] == 7 and len(outcome["signature"]) == 64
    log = _bd(tmp_path)  # bd is back
    argus_env["ARGUS_BD_BIN"] = str(tmp_path / "bin" / "bd")
    again = json.loads(run_argus("patterns", "detect", "--json", env=argus_env).stdout)
    assert (again["status"], again["bead_id"], again["retry_next_run"]) == ("reported", "pol-0001", False)
    assert again["signature"] == outcome["signature"] and len(log.read_text().splitlines()) == 1
    third = json.loads(run_argus("patterns", "detect", "--json", env=argus_env).stdout)
    assert (third["status"], third["bead_id"]) == ("already-reported", "pol-0001")  # one bead a day
    state = Path(argus_env["ARGUS_STATE_DIR"])
    assert [json.loads(x)["bead_id"] for x in (state / "patterns.jsonl").read_text().splitlines()] == [
        None, "pol-0001"]


_KINDS = st.sampled_from([("service", "restart_service:gw", "down"), ("service", "alert:telegram", "down"),
                          ("disk", "clean_disk:safelist", "disk full"), ("memory", "alert:telegram", "hog"),
                          ("process", "log:observation", "load")])
_RECORD = st.builds(
    lambda ts, kind, hog, offset: problem(
        iso(ts) if not offset else iso(ts)[:-1] + "+00:00", kind[0], action=kind[1],
        description=HOG.format(hog) if kind[2] == "hog" else kind[2]),
    st.integers(int(NOW) - 12 * DAY, int(NOW)), _KINDS, st.sampled_from(["node", "java", "claude"]), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_RECORD, max_size=80), days=st.integers(1, 10))
def test_any_registry_matches_the_reference(tmp_path, records, days):
    analysis, _ = compute_seed_patterns(write_registry(tmp_path / "p.jsonl", records), NOW, days)
    assert _shape(analysis) == expected_patterns(records, NOW, days)


_HOG_NAMES = st.sampled_from(["node", "java", "openclaw-gatewa", "openclaw-gateway", "[/x]", "a b"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_RECORD, max_size=120), days=st.integers(1, 10), hog=_HOG_NAMES)
def test_any_registry_gives_the_reference_findings(tmp_path, records, days, hog):
    """The default detectors (no metrics.jsonl: the disk finding is the unmeasured one) against
    helpers_patterns, which shares no code with them."""
    records = [{**r, "description": r["description"].replace("node,", f"{hog},")} for r in records]
    analysis, _ = compute_patterns(write_registry(tmp_path / "p.jsonl", records), tmp_path / "state", NOW, days)
    assert [(p["id"], p["type"], p["severity"]) for p in analysis["patterns"]] == expected_findings(records, NOW, days)
    hours = [p["data"]["hours_utc"] for p in analysis["patterns"] if p["type"] == "time_correlation"]
    assert hours == ([list(standing)] if (standing := standing_hours(in_window(records, NOW, days))) else [])
