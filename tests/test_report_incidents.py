"""Incident history in the reports: top recurring subjects (stats, patterns analyze) and the
incident counts of relay-summary, read from real incidents.jsonl files in temp state dirs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from helpers_reports import iso, problem, run_on_tty, to_utc, with_relay, write_registry

from argus_cli.reports.incidents import read_incidents
from argus_cli.reports.summary import MAX_BODY, body_size, build_payload, fit
from argus_cli.state.files import append_jsonl

DAY = 86400
NOW = 1_775_000_000.0  # 2026-03-31T23:33:20Z, an injected clock
START = NOW - 7 * DAY  # the start of a 7-day window ending at NOW
SUBJECT_KEYS = ["subject", "count", "first_seen", "last_seen", "open_seconds"]


def opened(ident: str, subject: str, condition: str, at: float, severity: str = "critical") -> dict[str, Any]:
    return {"ts": iso(at), "event": "opened", "id": ident, "subject": subject, "condition": condition,
            "severity": severity}


def resolved(ident: str, subject: str, condition: str, since: float, at: float) -> dict[str, Any]:
    """The resolved line as the cycle writes it: the opened time, the duration, the actions."""
    return {"ts": iso(at), "event": "resolved", "id": ident, "subject": subject, "condition": condition,
            "severity": "critical", "opened": iso(since), "duration_seconds": int(at - since),
            "actions": [{"type": "restart_service", "target": "gateway.service", "at": iso(since + 60),
                         "outcome": "fixed"}], "notifications": 2}


def incident(ident: str, subject: str, since: float, until: float | None, condition: str = "down") -> list[dict]:
    lines = [opened(ident, subject, condition, since)]
    return lines if until is None else [*lines, resolved(ident, subject, condition, since, until)]


def write_log(path: Path, records: list[dict[str, Any]], raw: tuple[str, ...] = ()) -> Path:
    """Appended like the cycle appends (append_jsonl), then ``raw`` lines verbatim."""
    for record in records:
        append_jsonl(path, record)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(line + "\n" for line in raw)
    return path


def _log(env: dict[str, str]) -> Path:
    return Path(env["ARGUS_STATE_DIR"]) / "incidents.jsonl"


def _epoch(ts: str) -> float:
    return to_utc(ts).timestamp()


# --- the computation, with an injected clock ---------------------------------------------------

def test_counts_first_and_last_seen_and_ranking(tmp_path):
    path = write_log(tmp_path / "incidents.jsonl", [
        *incident("a1", "service:gateway", NOW - 3 * DAY, NOW - 3 * DAY + 2520),
        *incident("a2", "service:gateway", NOW - 2 * DAY, NOW - 2 * DAY + 600),
        *incident("a3", "service:gateway", NOW - DAY, NOW - DAY + 60),
        *incident("b1", "disk:/", NOW - 4 * DAY, NOW - 4 * DAY + 7200, "usage>=crit"),
        *incident("b2", "disk:/", NOW - DAY, NOW - DAY + 3600, "usage>=crit"),
        *incident("c1", "memory", NOW - 5 * DAY, NOW - 5 * DAY + 300, "usage>=warn"),
        *incident("d1", "swap", NOW - 6 * DAY, NOW - 6 * DAY + 9000, "usage>=warn"),
    ])
    history = read_incidents(path, NOW, 7)
    assert history.exists and history.skipped == 0
    assert (history.opened, history.resolved, history.open) == (7, 7, 0)
    assert history.counts() == {"opened": 7, "resolved": 7, "open": 0, "window_days": 7}
    assert history.top_subjects == [
        {"subject": "service:gateway", "count": 3, "first_seen": iso(NOW - 3 * DAY),
         "last_seen": iso(NOW - DAY + 60), "open_seconds": 2520 + 600 + 60},
        {"subject": "disk:/", "count": 2, "first_seen": iso(NOW - 4 * DAY),
         "last_seen": iso(NOW - DAY + 3600), "open_seconds": 7200 + 3600},
        # one incident each: the longer open time ranks first
        {"subject": "swap", "count": 1, "first_seen": iso(NOW - 6 * DAY),
         "last_seen": iso(NOW - 6 * DAY + 9000), "open_seconds": 9000},
        {"subject": "memory", "count": 1, "first_seen": iso(NOW - 5 * DAY),
         "last_seen": iso(NOW - 5 * DAY + 300), "open_seconds": 300},
    ]
    assert all(list(entry) == SUBJECT_KEYS for entry in history.top_subjects)


def test_an_open_incident_counts_up_to_the_window_end(tmp_path):
    path = write_log(tmp_path / "incidents.jsonl", [
        *incident("o1", "service:gateway", NOW - 3600, None),
        *incident("r1", "service:gateway", NOW - 2 * DAY, NOW - 2 * DAY + 100),
    ])
    history = read_incidents(path, NOW, 7)
    assert (history.opened, history.resolved, history.open) == (2, 1, 1)
    assert history.top_subjects == [{"subject": "service:gateway", "count": 2, "first_seen": iso(NOW - 2 * DAY),
                                     "last_seen": iso(NOW), "open_seconds": 3600 + 100}]


def test_open_time_is_clipped_to_the_window(tmp_path):
    path = write_log(tmp_path / "incidents.jsonl", [
        *incident("old", "memory", START - 3 * DAY, START - 2 * DAY),     # over before the window: absent
        *incident("edge", "disk:/", START - 7200, START + 600, "usage>=crit"),  # straddles the start
        *incident("long", "load", START - DAY, None, "high"),              # open all through the window
        *incident("in", "swap", START, START + 60, "usage>=warn"),          # opened exactly on the edge
    ])
    history = read_incidents(path, NOW, 7)
    by_subject = {entry["subject"]: entry for entry in history.top_subjects}
    assert set(by_subject) == {"disk:/", "load", "swap"}
    assert by_subject["disk:/"] == {"subject": "disk:/", "count": 0, "first_seen": iso(START - 7200),
                                    "last_seen": iso(START + 600), "open_seconds": 600}
    assert by_subject["load"]["open_seconds"] == 7 * DAY and by_subject["load"]["count"] == 0
    assert by_subject["load"]["last_seen"] == iso(NOW)
    assert by_subject["swap"]["count"] == 1  # the edge is inclusive, as in the registry reports
    assert (history.opened, history.resolved, history.open) == (1, 2, 1)
    assert [e["subject"] for e in history.top_subjects] == ["swap", "load", "disk:/"]  # count, then time


def test_overlapping_incidents_of_one_subject_count_their_time_once(tmp_path):
    path = write_log(tmp_path / "incidents.jsonl", [
        *incident("w", "disk:/", NOW - 7200, NOW - 1800, "usage>=warn"),
        *incident("c", "disk:/", NOW - 5400, NOW - 3600, "usage>=crit"),   # inside the warning
    ])
    [entry] = read_incidents(path, NOW, 7).top_subjects
    assert entry["count"] == 2 and entry["open_seconds"] == 5400


def test_malformed_lines_are_skipped_and_counted(tmp_path):
    path = write_log(tmp_path / "incidents.jsonl", incident("g", "service:gateway", NOW - 600, NOW - 60), raw=(
        "not json", "[1, 2]",
        json.dumps({"ts": iso(NOW - 500), "event": "opened", "id": "x"}),                       # no subject
        json.dumps({"ts": "yesterday", "event": "opened", "id": "y", "subject": "memory"}),     # bad ts
        json.dumps({"ts": iso(NOW - 500), "event": 7, "id": "z", "subject": "memory"}),         # bad event
        json.dumps({"ts": iso(NOW - 400), "event": "escalated", "id": "g", "subject": "x"}),    # newer: ignored
        '{"ts": "' + iso(NOW - 10) + '", "event": "ope'))                                      # torn tail
    history = read_incidents(path, NOW, 7)
    assert (history.lines, history.skipped) == (9, 6)
    assert history.warning() == f"argus: skipped 6 malformed line(s) of 9 in {path}"
    assert [e["subject"] for e in history.top_subjects] == ["service:gateway"]
    assert (history.opened, history.resolved, history.open) == (1, 1, 0)


def test_missing_file_is_no_history(tmp_path):
    history = read_incidents(tmp_path / "incidents.jsonl", NOW, 7)
    assert not history.exists and history.warning() is None
    assert history.top_subjects == [] and history.counts() == {"opened": 0, "resolved": 0, "open": 0,
                                                               "window_days": 7}


def test_resolved_line_alone_and_repeated_resolved_lines(tmp_path):
    """The opened line may predate the file; a resolved line written twice is one incident."""
    line = resolved("r", "service:gateway", "down", NOW - 1000, NOW - 100)
    path = write_log(tmp_path / "incidents.jsonl", [line, line])
    history = read_incidents(path, NOW, 7)
    assert (history.opened, history.resolved, history.open) == (1, 1, 0)
    assert history.top_subjects == [{"subject": "service:gateway", "count": 1, "first_seen": iso(NOW - 1000),
                                     "last_seen": iso(NOW - 100), "open_seconds": 900}]


def test_only_the_top_ten_subjects_are_listed(tmp_path):
    records = [line for n in range(12) for i in range(n + 1)
               for line in incident(f"s{n}-{i}", f"service:svc{n:02d}", NOW - DAY + i * 60, NOW - DAY + i * 60 + 30)]
    top = read_incidents(write_log(tmp_path / "incidents.jsonl", records), NOW, 7).top_subjects
    assert [(e["subject"], e["count"]) for e in top] == [(f"service:svc{n:02d}", n + 1) for n in range(11, 1, -1)]


# --- through the real CLI ----------------------------------------------------------------------

def _recent(now: float) -> list[dict[str, Any]]:
    return [*incident("g1", "service:gateway", now - 5 * 3600, now - 5 * 3600 + 2520),
            *incident("g2", "service:gateway", now - 3 * 3600, now - 3 * 3600 + 600),
            *incident("d1", "disk:/", now - 2 * 3600, None, "usage>=crit"),
            *incident("old", "memory", now - 20 * DAY, now - 20 * DAY + 60, "usage>=warn")]


def test_stats_json_has_top_subjects(run_argus, argus_env):
    now = time.time()
    write_log(_log(argus_env), _recent(now))
    result = run_argus("stats", "--json", env=argus_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert list(report)[9:] == ["top_subjects", "per_day", "disk_trends", "registry", "remediation", "notifications",
                                "notes"]  # after the seed's keys
    gateway, disk = report["top_subjects"]
    assert gateway == {"subject": "service:gateway", "count": 2, "first_seen": iso(now - 5 * 3600),
                       "last_seen": iso(now - 3 * 3600 + 600), "open_seconds": 3120}
    assert list(disk) == SUBJECT_KEYS and disk["count"] == 1 and disk["first_seen"] == iso(now - 2 * 3600)
    assert disk["last_seen"] == report["generated_at"]  # still open: seen until the report's end
    assert 0 <= disk["open_seconds"] - (_epoch(report["generated_at"]) - int(now - 2 * 3600)) <= 1
    assert "incidents.jsonl" not in result.stderr


def test_stats_window_days_also_bounds_the_subjects(run_argus, argus_env):
    write_log(_log(argus_env), _recent(time.time()))
    wide = json.loads(run_argus("stats", "--json", "--window-days", "30", env=argus_env).stdout)
    assert [e["subject"] for e in wide["top_subjects"]] == ["service:gateway", "disk:/", "memory"]


def test_stats_out_file_carries_top_subjects(run_argus, argus_env, tmp_path):
    write_log(_log(argus_env), _recent(time.time()))
    out = tmp_path / "stats.json"
    result = run_argus("stats", "--out", str(out), env=argus_env)
    assert result.returncode == 0 and result.stdout == ""
    assert [e["subject"] for e in json.loads(out.read_text())["top_subjects"]] == ["service:gateway", "disk:/"]


def test_patterns_analyze_json_and_file_have_top_subjects(run_argus, argus_env):
    write_log(_log(argus_env), _recent(time.time()))
    argus_env["ARGUS_PATTERN_WINDOW_DAYS"] = "30"
    result = run_argus("patterns", "analyze", "--json", env=argus_env)
    assert result.returncode == 0, result.stderr
    analysis = json.loads(result.stdout)
    assert list(analysis) == ["generated_at", "window_days", "total_problems", "patterns", "hour_of_day",
                              "top_subjects"]
    assert [(e["subject"], e["count"]) for e in analysis["top_subjects"]] == [
        ("service:gateway", 2), ("disk:/", 1), ("memory", 1)]
    on_disk = json.loads((Path(argus_env["ARGUS_STATE_DIR"]) / "pattern-analysis.json").read_text())
    assert on_disk == analysis


def test_malformed_incident_lines_are_reported_not_fatal(run_argus, argus_env):
    log = write_log(_log(argus_env), _recent(time.time()), raw=("{garbage", '{"event": "opened"}'))
    for args in (("stats", "--json"), ("patterns", "analyze", "--json")):
        result = run_argus(*args, env=argus_env)
        assert result.returncode == 0, result.stderr
        assert f"skipped 2 malformed line(s) of 9 in {log}" in result.stderr
        assert len(json.loads(result.stdout)["top_subjects"]) == 2


def test_incident_log_that_is_a_directory_is_a_clear_error(run_argus, argus_env):
    _log(argus_env).mkdir(parents=True)
    result = run_argus("stats", "--json", env=argus_env)
    assert result.returncode == 1
    assert f"reading {_log(argus_env)} failed" in result.stderr and "Traceback" not in result.stderr
    assert _log(argus_env).is_dir()  # a report only reads: it leaves it for the cycle


def test_prometheus_output_ignores_the_incident_log(run_argus, argus_env):
    before = run_argus("stats", "--format", "prometheus", env=argus_env)
    _log(argus_env).mkdir(parents=True)  # even an unreadable log does not touch the textfile
    after = run_argus("stats", "--format", "prometheus", env=argus_env)
    assert after.returncode == 0 and after.stderr == before.stderr == ""
    assert after.stdout == before.stdout and "subject" not in after.stdout


@pytest.mark.parametrize("args", [("stats",), ("patterns", "analyze")])
def test_human_view_without_incident_history_says_so(argus_env, args):
    argus_env["COLUMNS"] = "300"  # the temp path stays on one line
    code, text = run_on_tty(argus_env, *args)
    assert code == 0
    assert f"no incident history yet: {_log(argus_env)}" in text


@pytest.mark.parametrize("args", [("stats",), ("patterns", "analyze")])
def test_human_view_lists_top_subjects(argus_env, args):
    write_log(_log(argus_env), [*_recent(time.time()),
                                *incident("t", "tmux:[bold]x", time.time() - 600, time.time() - 60, "stuck")])
    argus_env["COLUMNS"] = "160"
    code, text = run_on_tty(argus_env, *args)
    assert code == 0
    assert "top recurring subjects, last 7 days" in text
    for expected in ("service:gateway", "disk:/", "tmux:[bold]x", "52m"):
        assert expected in text
    assert "memory" not in text.split("top recurring subjects")[1]  # 20 days old: outside the window


def test_human_view_with_a_quiet_window(argus_env):
    write_log(_log(argus_env), incident("old", "memory", time.time() - 20 * DAY, time.time() - 20 * DAY + 60))
    code, text = run_on_tty(argus_env, "stats")
    assert code == 0 and "no incidents in the last 7 days" in text


# --- relay-summary -----------------------------------------------------------------------------

@pytest.fixture
def relay_env(argus_env, tmp_path) -> dict[str, str]:
    return with_relay(argus_env, tmp_path, ARGUS_STATS_WINDOW_DAYS="1", ARGUS_PATTERN_WINDOW_DAYS="30",
                      ARGUS_RELAY_TIMEOUT="5")


def test_relay_summary_reports_incidents_of_the_stats_window(run_argus, relay_env, tmp_path):
    now = time.time()
    write_log(_log(relay_env), [
        *_recent(now),                                                         # 2 resolved, 1 open, 1 too old
        *incident("y", "swap", now - 2 * DAY, now - 2 * DAY + 60, "usage>=warn"),  # in the 30-day window only
        *incident("s", "load", now - 3 * DAY, now - 3600, "high"),             # resolved in the window
    ])
    relay_env["ARGUS_PROBLEMS_FILE"] = str(write_registry(tmp_path / "p.jsonl", [problem(iso(now - 60))]))
    result = run_argus("relay-summary", env=relay_env)
    assert result.returncode == 0, result.stderr
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert result.stdout == ("Argus daily summary: problems=1, success_rate=100.0%, patterns=0, "
                             f"incidents opened=3 resolved=3, window_days=1, window_end={today}, "
                             "pattern_window_days=30\n")
    [argv] = [json.loads(line) for line in Path(relay_env["RELAY_LOG"]).read_text().splitlines()]
    payload = json.loads(argv[2])
    assert payload["incidents"] == {"opened": 3, "resolved": 3, "open": 1, "window_days": 1}
    assert payload["summary"] == result.stdout.strip()
    assert "top_subjects" not in payload["stats"] and "top_subjects" not in payload["patterns"]


def test_relay_summary_without_incident_history(run_argus, relay_env):
    result = run_argus("relay-summary", env=relay_env)
    assert result.returncode == 0, result.stderr
    assert "patterns=0, incidents opened=0 resolved=0, window_days=1, window_end=" in result.stdout
    payload = json.loads(json.loads(Path(relay_env["RELAY_LOG"]).read_text())[2])
    assert payload["incidents"] == {"opened": 0, "resolved": 0, "open": 0, "window_days": 1}


def test_relay_summary_malformed_incident_line_is_reported(run_argus, relay_env):
    write_log(_log(relay_env), incident("g", "service:gateway", time.time() - 600, None), raw=("{torn",))
    result = run_argus("relay-summary", env=relay_env)
    assert result.returncode == 0, result.stderr
    assert f"skipped 1 malformed line(s) of 2 in {_log(relay_env)}" in result.stderr
    assert "incidents opened=1 resolved=0, window_days=1, window_end=" in result.stdout


def test_fit_keeps_the_incident_counts(tmp_path):
    incidents = {"opened": 4, "resolved": 3, "open": 1, "window_days": 7}
    patterns = [{"id": f"memory-hog-{n:04d}" + "x" * 200, "type": "t", "severity": "warning", "summary": "s",
                 "recommendation": "r", "data": {"count": 3}} for n in range(600)]
    stats = {"generated_at": iso(NOW), "window_days": 7, "total_problems": 1800, "by_type": {},
             "by_severity": {}, "action_results": {}, "action_success_rate": 0.0, "hourly": [], "daily": []}
    analysis = {"generated_at": iso(NOW), "window_days": 7, "total_problems": 1800, "patterns": patterns}
    payload = build_payload(stats, analysis, incidents, NOW, "")
    assert body_size(payload) > MAX_BODY
    fitted, omitted = fit(payload)
    assert body_size(fitted) <= MAX_BODY and omitted["patterns"] > 0
    assert fitted["incidents"] == incidents
    assert fitted["summary"].endswith("incidents opened=4 resolved=3, window_days=7, window_end=2026-03-31")
    # the last resort keeps only headlines: the counts stay
    fitted, omitted = fit({**payload, "stats": {**stats, "by_type": {"x" * MAX_BODY: 1}}})
    assert omitted["detail"] == 1 and fitted["incidents"] == incidents
