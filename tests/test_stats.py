"""`argus stats`: SPEC §8 schema, real registry numbers, edge cases, Prometheus text, views."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import REAL_REGISTRY
from helpers_reports import (
    expected_stats,
    iso,
    load_records,
    problem,
    real_registry,
    run_on_tty,
    to_utc,
    write_registry,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argus_cli.reports.stats import compute_stats

# The original argus-stats.sh's keys, compared with the independent count; then Argus's own.
SEED_KEYS = ["generated_at", "window_days", "total_problems", "by_type", "by_severity", "action_results",
             "action_success_rate", "hourly", "daily"]
KEYS = [*SEED_KEYS, "top_subjects", "per_day", "disk_trends", "registry", "remediation", "notifications", "notes"]
NOW = 1_775_000_000.0  # 2026-03-31T23:33:20Z, an injected clock


def _stats_json(run_argus, env, *args: str) -> tuple[dict, str]:
    result = run_argus("stats", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def _without_generated(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "generated_at"}


def _seed_part(report: dict) -> dict:
    """What the original script printed (without generated_at): the part parity is checked on."""
    return {k: report[k] for k in SEED_KEYS if k != "generated_at"}


def test_real_registry_matches_independent_count(run_argus, argus_env):
    registry = real_registry()
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    report, stderr = _stats_json(run_argus, argus_env, "--window-days", "3650")
    assert list(report) == KEYS
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", report["generated_at"])
    expected = expected_stats(load_records(registry), time.time(), 3650)
    assert _seed_part(report) == expected
    assert report["top_subjects"] == []  # no incidents.jsonl in this state dir
    assert report["total_problems"] == len(load_records(registry)) > 100
    assert "malformed" not in stderr


def test_real_registry_remediations_apart_from_notifications(run_argus, argus_env):
    """The seed's 98.31 % counts 91 log lines and 24 alerts as successes; the real remediations
    were kill_pid 1 of 2. Counted here again from the raw lines, by the action_taken's prefix."""
    registry = real_registry()
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    report, _ = _stats_json(run_argus, argus_env, "--window-days", "3650")
    records = load_records(registry)
    by_action: dict[str, Counter] = {}
    for record in records:
        by_action.setdefault(record["action_taken"].split(":")[0], Counter())[record["action_result"]] += 1
    host_changing = {"restart_service", "kill_pid", "kill_tmux", "clean_disk", "orphan_sweep", "monitor_orphan_tests"}
    expected = {}
    for action, results in sorted(by_action.items()):
        if action in host_changing:
            tried = results["success"] + results["failure"]
            expected[action] = {"attempted": tried, "succeeded": results["success"],
                                "success_rate": round(100 * results["success"] / tried, 2) if tried else None,
                                "results": dict(sorted(results.items()))}
    assert report["remediation"]["by_action"] == expected
    assert report["remediation"]["by_action"]["kill_pid"]["success_rate"] == 50.0  # 1 of 2, as the issue read it
    assert (report["remediation"]["attempted"], report["remediation"]["succeeded"]) == (2, 1)
    assert report["notifications"] == {a: dict(r) for a, r in sorted(by_action.items()) if a not in host_changing}
    assert report["notifications"]["log"] == {"success": 91}
    assert round(report["action_success_rate"], 2) == 98.31
    assert "seed" in report["notes"]["action_success_rate"]


def test_the_human_view_leads_with_remediations_and_labels_the_seed_rate():
    text = _human(REAL_REGISTRY, time.time(), 3650)
    assert "remediations: kill_pid 1 of 2 succeeded (50%)" in text
    assert "monitor_orphan_tests not attempted (+ 1 skipped)" in text
    assert "notifications and observations: alert 24, log 91" in text
    assert "seed-compatible action success rate 98.31%" in text


def test_an_empty_window_says_what_the_history_holds(run_argus, argus_env, tmp_path):
    """A 7-day window over the real registry (February to April): 0 problems, but the JSON and the
    view say how many lines lie outside it and their range, counted without parsing."""
    registry = real_registry()
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    report, _ = _stats_json(run_argus, argus_env, "--window-days", "7")
    records = load_records(registry)
    assert report["total_problems"] == 0
    held = report["registry"]
    assert held["lines"] == len(records) and held["files"] == 1
    assert (held["oldest"], held["newest"]) == (records[0]["ts"], records[-1]["ts"])
    text = _human(registry, time.time())
    assert f"{len(records)} line(s) in the registry from {records[0]['ts']} to {records[-1]['ts']}" in text


def test_real_registry_window_with_injected_now():
    registry = real_registry()
    records = load_records(registry)
    last = max(to_utc(r["ts"]).timestamp() for r in records)
    now = last + 2 * 86400
    report, scan = compute_stats(registry, now, 7)
    expected = expected_stats(records, now, 7)
    assert 0 < expected["total_problems"] < len(records)  # the window really cuts
    assert _without_generated(report.to_dict()) == expected
    assert scan.skipped == 0


@pytest.mark.parametrize("content", [None, "", "\n\n"])
def test_empty_or_missing_registry_is_a_zero_report(run_argus, argus_env, tmp_path, content):
    registry = tmp_path / "problems.jsonl"
    if content is not None:
        registry.write_text(content)
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    report, _ = _stats_json(run_argus, argus_env)
    assert list(report) == KEYS
    assert {k: v for k, v in _without_generated(report).items() if k not in ("registry", "per_day")} == {
        "window_days": 7, "total_problems": 0, "by_type": {}, "by_severity": {}, "action_results": {},
        "action_success_rate": 0, "hourly": [], "daily": [], "top_subjects": [], "disk_trends": [],
        "remediation": {"attempted": 0, "succeeded": 0, "success_rate": None, "by_action": {}},
        "notifications": {}, "notes": report["notes"]}
    assert report["registry"]["path"] == str(registry) and report["registry"]["skipped"] == 0
    assert len(report["per_day"]) == 8 and {d["count"] for d in report["per_day"]} == {0}  # 7 days and today


def test_torn_and_garbage_lines_are_skipped_and_counted(run_argus, argus_env, tmp_path):
    now = time.time()
    good = [problem(iso(now - 3600), "disk", "warning"), problem(iso(now - 7200), "memory", "critical", "failure")]
    registry = write_registry(tmp_path / "p.jsonl", good, extra_lines=(
        "not json at all", "[1, 2, 3]", json.dumps({**good[0], "type": ["disk"]}),
        json.dumps({**good[0], "ts": "yesterday-ish"})), tail='{"ts": "2026-03-01T00:0')
    argus_env["ARGUS_PROBLEMS_FILE"] = str(registry)
    report, stderr = _stats_json(run_argus, argus_env)
    assert report["total_problems"] == 2
    assert report["by_type"] == {"disk": 1, "memory": 1}
    assert report["action_results"] == {"failure": 1, "success": 1}
    assert report["action_success_rate"] == 50.0
    assert f"skipped 5 malformed line(s) of 7 in {registry}" in stderr


def test_offsets_fractions_and_dateutil_only_forms_land_in_utc_buckets(tmp_path):
    registry = write_registry(tmp_path / "p.jsonl", [
        problem("2026-03-01T10:30:00+02:00"),        # 08:30Z
        problem("2026-03-01T23:59:59.999Z"),         # fraction
        problem("2026-03-02T00:30:00-01:00"),        # 01:30Z next... same day 2026-03-02
        problem("2026-03-01T24:00:00Z"),             # only dateutil reads 24:00 -> 2026-03-02T00Z
        problem("2026-03-01T05:00:00,5"),            # comma fraction, naive = UTC
        problem("2026-03-01T06:15:00Z"),             # canonical
    ])
    report, scan = compute_stats(registry, NOW, 60)
    data = report.to_dict()
    assert scan.skipped == 0
    assert data["hourly"] == [{"bucket": b, "count": 1} for b in (
        "2026-03-01T05:00Z", "2026-03-01T06:00Z", "2026-03-01T08:00Z", "2026-03-01T23:00Z",
        "2026-03-02T00:00Z", "2026-03-02T01:00Z")]
    assert data["daily"] == [{"bucket": "2026-03-01", "count": 4}, {"bucket": "2026-03-02", "count": 2}]


def test_window_edge_is_inclusive(tmp_path):
    edge = NOW - 7 * 86400
    registry = write_registry(tmp_path / "p.jsonl", [
        problem(iso(edge), "disk"),                              # exactly on the edge: counted
        problem(iso(edge - 1), "memory"),                        # one second before: not counted
        problem(iso(edge)[:-1] + ".000+00:00", "service"),       # edge again, slow path: counted
        problem(iso(edge - 1)[:-1] + ".999Z", "swap"),           # 1 ms before the edge: not counted
        problem(iso(edge + 60), "process"),                      # later in the straddling hour
        problem(iso(edge - 3600), "swap"),                       # an hour wholly outside
    ])
    report, _ = compute_stats(registry, NOW, 7)
    assert report.to_dict()["by_type"] == {"disk": 1, "process": 1, "service": 1}


def test_unreadable_registry_is_a_clear_error(run_argus, argus_env, tmp_path):
    argus_env["ARGUS_PROBLEMS_FILE"] = str(tmp_path)  # a directory
    result = run_argus("stats", env=argus_env)
    assert result.returncode == 1
    assert f"reading {tmp_path} failed" in result.stderr and "Traceback" not in result.stderr


def test_bad_window_days_is_a_usage_error(run_argus, argus_env):
    result = run_argus("stats", "--window-days", "0", env=argus_env)
    assert result.returncode == 2
    assert "--window-days" in result.stderr


def test_json_out_file_is_written_and_stdout_stays_empty(run_argus, argus_env, tmp_path):
    argus_env["ARGUS_PROBLEMS_FILE"] = str(write_registry(tmp_path / "p.jsonl", [problem(iso(time.time()))]))
    out = tmp_path / "out" / "stats.json"
    result = run_argus("stats", "--out", str(out), env=argus_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert json.loads(out.read_text())["total_problems"] == 1
    assert not [p for p in out.parent.iterdir() if p.name != "stats.json"]  # no temp file left behind


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def _parse_prometheus(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, dict[str, str], float]]]:
    """Families {name: (help, type)} and samples, checking HELP/TYPE precede every sample."""
    families: dict[str, list[str]] = {}
    samples = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            families[name] = [help_text]
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert name in families, f"TYPE before HELP for {name}"
            families[name].append(kind)
        else:
            match = _SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, _, raw_labels, value = match.groups()
            assert name in families and len(families[name]) == 2, f"sample before HELP/TYPE: {line!r}"
            labels = {}
            for key, raw, _sep in _LABEL.findall(raw_labels or ""):
                labels[key] = re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m[1], m[1]), raw)
            samples.append((name, labels, float(value)))
    return {k: (v[0], v[1]) for k, v in families.items()}, samples


def test_prometheus_text_parses_back(run_argus, argus_env, tmp_path):
    now = time.time()
    weird = 'we"ird\\type\nx'
    argus_env["ARGUS_PROBLEMS_FILE"] = str(write_registry(tmp_path / "p.jsonl", [
        problem(iso(now - 60), "disk", "warning"), problem(iso(now - 120), "disk", "warning"),
        problem(iso(now - 180), weird, "critical", "failure"), problem(iso(now - 30 * 86400), "disk")]))
    state = Path(argus_env["ARGUS_STATE_DIR"])
    write_registry(state / "cycles.jsonl", [
        {"ts": iso(now - 900), "status": "ok", "llm_called": True,
         "usage": {"input_tokens": 1200, "output_tokens": 80}},
        {"ts": iso(now - 600), "status": "failed", "llm_called": False, "usage": None},
        {"ts": iso(now - 300), "status": "ok", "llm_called": True,
         "usage": {"input_tokens": 1000, "output_tokens": 20}},
        {"ts": iso(now - 10), "status": "skipped", "llm_called": False}], tail='{"ts": "torn')
    (state / "cycle-state.json").write_text(json.dumps(
        {"status": "ok", "timestamp": iso(now - 300), "detail": "", "consecutive_failures": 2}))
    result = run_argus("stats", "--format", "prometheus", env=argus_env)
    assert result.returncode == 0, result.stderr
    families, samples = _parse_prometheus(result.stdout)
    assert {k: v[1] for k, v in families.items()} == {
        "argus_problems": "gauge", "argus_cycles_total": "counter", "argus_llm_calls_total": "counter",
        "argus_llm_tokens_total": "counter", "argus_last_cycle_timestamp_seconds": "gauge",
        "argus_last_cycle_status": "gauge", "argus_consecutive_failures": "gauge",
        "argus_cycles_by_mode_total": "counter", "argus_last_cycle_mode": "gauge",
        "argus_disk_fill_rate_percent_per_day": "gauge", "argus_disk_days_to_full": "gauge",
        "argus_health": "gauge", "argus_llm_degraded": "gauge", "argus_open_incidents": "gauge"}
    values = {(name, tuple(sorted(labels.items()))): value for name, labels, value in samples}
    assert values[("argus_problems", (("result", "success"), ("severity", "warning"), ("type", "disk")))] == 2
    assert values[("argus_problems", (("result", "failure"), ("severity", "critical"), ("type", weird)))] == 1
    assert sum(v for (name, _), v in values.items() if name == "argus_problems") == 3  # 30-day-old one is out
    assert values[("argus_cycles_total", (("status", "ok"),))] == 2
    assert values[("argus_cycles_total", (("status", "skipped"),))] == 1
    assert values[("argus_llm_calls_total", ())] == 2
    # lines from before modes were recorded count as act, the last one too
    assert values[("argus_cycles_by_mode_total", (("mode", "act"),))] == 4
    assert values[("argus_last_cycle_mode", (("mode", "act"),))] == 1
    assert values[("argus_llm_tokens_total", (("direction", "input"),))] == 2200
    assert values[("argus_llm_tokens_total", (("direction", "output"),))] == 100
    assert values[("argus_last_cycle_timestamp_seconds", ())] == int(now - 10)
    assert values[("argus_last_cycle_status", (("status", "skipped"),))] == 1
    assert values[("argus_consecutive_failures", ())] == 2
    assert "cycles.jsonl" in result.stderr  # the torn cycles line was reported


def test_prometheus_out_is_written_atomically(run_argus, argus_env, tmp_path):
    out = tmp_path / "textfile" / "argus.prom"
    result = run_argus("stats", "--format", "prometheus", "--out", str(out), env=argus_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    families, samples = _parse_prometheus(out.read_text())
    assert "argus_problems" in families
    assert ("argus_consecutive_failures", {}, 0.0) in samples


def test_terminal_view_has_tables_and_a_daily_chart(argus_env, tmp_path):
    now = time.time()
    argus_env["ARGUS_PROBLEMS_FILE"] = str(write_registry(tmp_path / "p.jsonl", [
        problem(iso(now - 100), "disk", "critical"), problem(iso(now - 86400), "memory", "warning"),
        problem(iso(now - 86400), "memory", "info")]))
    argus_env["COLUMNS"] = "120"
    returncode, text = run_on_tty(argus_env, "stats")
    assert returncode == 0
    assert not text.lstrip().startswith("{")
    for expected in ("3 problems", "by type", "by severity", "by result", "problems per day", "█", "▓", "░"):
        assert expected in text
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", text)  # NO_COLOR: no colours (bold may stay)


_TS = st.integers(min_value=int(NOW) - 20 * 86400, max_value=int(NOW) + 3600)
_RECORD = st.builds(lambda ts, kind, sev, res, form: problem(
    iso(ts) if form == 0 else iso(ts)[:-1] + "+00:00", kind, sev, res), _TS,
    st.sampled_from(["disk", "memory", "service", "process", "swap"]), st.sampled_from(["critical", "warning", "info"]),
    st.sampled_from(["success", "failure", "skipped", "suppressed", "rejected"]), st.integers(0, 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_RECORD, max_size=60), days=st.integers(1, 15))
def test_any_registry_matches_the_reference(tmp_path, records, days):
    registry = write_registry(tmp_path / "p.jsonl", records)
    report, _ = compute_stats(registry, NOW, days)
    assert _without_generated(report.to_dict()) == expected_stats(records, NOW, days)


def _human(registry: Path, now: float, days: int = 7) -> str:
    import io

    from rich.console import Console

    from argus_cli.cli.render_reports import render_stats
    out = io.StringIO()
    report, scan = compute_stats(registry, now, days)
    render_stats(Console(file=out, no_color=True, width=200), report, scan)
    return out.getvalue()


def test_an_empty_window_says_whether_the_host_was_quiet_or_the_file_is_wrong(tmp_path, run_argus, argus_env):
    """The real registry ends in March: this week is empty, and says where its 118 lines are."""
    text = _human(REAL_REGISTRY, time.time())
    assert f"Argus registry {REAL_REGISTRY}, 7 days to {time.strftime('%Y-%m-%d', time.gmtime())}" in text
    assert "0 problems" in text
    assert ("118 line(s) in the registry from 2026-02-25T19:21:24Z to 2026-04-04T08:54:32Z, "
            "none in the last 7 days") in text
    wrong = tmp_path / "no-such" / "problems.jsonl"
    assert "no registry at" in _human(wrong, time.time()) and "is ARGUS_PROBLEMS_FILE right?" in _human(
        wrong, time.time())
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert "the registry is empty" in _human(empty, time.time())
    argus_env["ARGUS_PROBLEMS_FILE"] = str(wrong)
    data = json.loads(run_argus("stats", "--json", env=argus_env).stdout)
    assert data["registry"] == {"path": str(wrong), "exists": False, "lines_read": 0, "skipped": 0, "lines": 0,
                                "files": 0, "oldest": None, "newest": None}


def test_per_day_has_every_day_of_the_window_and_the_chart_shows_the_gaps(run_argus, argus_env):
    """The real registry: its per-day counts, zero days included, against an independent count."""
    from collections import Counter
    from datetime import date, timedelta
    records = [json.loads(line) for line in REAL_REGISTRY.read_text().splitlines() if line.strip()]
    days = {r["ts"][:10] for r in records}
    first = min(days)
    window = (date.today() - date.fromisoformat(first)).days + 1
    argus_env["ARGUS_PROBLEMS_FILE"] = str(REAL_REGISTRY)
    data = json.loads(run_argus("stats", "--json", "--window-days", str(window), env=argus_env).stdout)
    per_day = {d["day"]: d for d in data["per_day"]}
    expected = Counter(r["ts"][:10] for r in records)
    span = [(date.fromisoformat(first) + timedelta(days=n)).isoformat()
            for n in range((date.fromisoformat(max(days)) - date.fromisoformat(first)).days + 1)]
    assert {day: per_day[day]["count"] for day in span} == {day: expected.get(day, 0) for day in span}
    gaps = [day for day in span if not expected.get(day)]
    assert gaps and all(per_day[day]["count"] == 0 for day in gaps)  # the gap in March is there
    assert sum(d["count"] for d in data["per_day"]) == data["total_problems"] == len(records)
    assert data["daily"] == [{"bucket": d, "count": n} for d, n in sorted(expected.items())]  # seed shape kept
    for day in span:
        severities = Counter(r["severity"] for r in records if r["ts"].startswith(day))
        assert per_day[day]["by_severity"] == dict(severities)
    text = _human(REAL_REGISTRY, time.time(), window)
    rows = [[t for t in line.split() if t != "│"] for line in text.splitlines()
            if line.strip()[:4] == first[:4] and line.strip()[4:5] == "-"]
    shown = {row[0]: row[-1] for row in rows if "…" not in row}
    folded = [row for row in rows if "…" in row]
    short_gaps = [d for d in gaps if d not in {x for row in folded for x in _between(row[0], row[2])}]
    assert all(shown[d] == "0" for d in short_gaps)  # a day without a problem is a row of its own
    last = folded[-1]  # since the registry's last day: one row
    assert last[0] > max(days) and last[4] == "days" and int(last[3]) == len(_between(last[0], last[2]))
    assert f"{max(days)}" in shown and shown[max(days)] == str(expected[max(days)])


def _between(start: str, end: str) -> list[str]:
    from datetime import date, timedelta
    a, b = date.fromisoformat(start), date.fromisoformat(end)
    return [(a + timedelta(days=n)).isoformat() for n in range((b - a).days + 1)]
