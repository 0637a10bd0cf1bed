"""ARGUS_PROMETHEUS_TEXTFILE: real `argus cycle` processes write the textfile node_exporter reads,
the counters it carries survive cycles, rotations, a deleted or corrupt state file, and a textfile
that cannot be written is an error in the cycle's line, never a failed cycle."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers_anthropic import error, llm_env
from helpers_prometheus import Family, parse_exposition
from helpers_reports import iso, problem, write_registry
from test_trends import history, write

from argus_cli.config import VARS_BY_NAME
from argus_cli.reports.prometheus import HEALTH
from argus_cli.runtime.records import HEALTH_ORDER
from argus_cli.state.layout import LABELS

PROMTOOL = shutil.which("promtool")


@pytest.fixture
def env(argus_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    (tmp_path / "textfiles").mkdir()
    return {**argus_env, "ARGUS_PROMETHEUS_TEXTFILE": str(tmp_path / "textfiles" / "argus.prom")}


def state(env: dict[str, str]) -> Path:
    return Path(env["ARGUS_STATE_DIR"])


def textfile(env: dict[str, str]) -> Path:
    return Path(env["ARGUS_PROMETHEUS_TEXTFILE"])


def cycle(run_argus: Any, env: dict[str, str], *args: str) -> dict[str, Any]:
    """One real `argus cycle`; its cycles.jsonl line."""
    proc = run_argus("cycle", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return lines(env)[-1]


def lines(env: dict[str, str]) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (state(env) / "cycles.jsonl").read_text().splitlines()]


def families(env: dict[str, str]) -> dict[str, Family]:
    return parse_exposition(textfile(env).read_bytes())


def stats_text(run_argus: Any, env: dict[str, str]) -> str:
    proc = run_argus("stats", "--format", "prometheus", env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def statuses(found: dict[str, Family]) -> dict[str, float]:
    return {labels["status"]: value for labels, value in found["argus_cycles_total"].samples}


# --- every real cycle ----------------------------------------------------------------------------

def test_every_real_cycle_writes_what_the_stats_command_prints(env, run_argus):
    for _ in range(3):
        line = cycle(run_argus, env, "--decider", "rules")
        assert line["errors"] == []
        found = families(env)  # strictly valid after each cycle
    assert statuses(found) == {"ok": 3}
    assert found["argus_last_cycle_status"].value(status="ok") == 1
    assert found["argus_health"].value() == HEALTH[line["health"]]
    assert found["argus_llm_degraded"].value() == 0
    assert textfile(env).read_text() == stats_text(run_argus, env)  # one renderer, the same numbers
    assert textfile(env).stat().st_mode & 0o777 == 0o644  # node_exporter runs as another user
    assert [p.name for p in textfile(env).parent.iterdir()] == ["argus.prom"]  # no temp file left
    seeded = [x.get("prometheus_seeded") for x in lines(env)]
    assert seeded == [1, None, None]  # counted from the file once, then kept running


def test_a_dry_run_writes_nothing_and_the_next_cycle_counts_it(env, run_argus):
    cycle(run_argus, env, "--dry-run")
    assert not textfile(env).exists() and not (state(env) / "prometheus-counters.json").exists()
    cycle(run_argus, env, "--decider", "rules")
    found = families(env)
    assert {x["mode"]: x["value"] for x in
            ({"mode": labels["mode"], "value": v} for labels, v in found["argus_cycles_by_mode_total"].samples)} \
        == {"dry-run": 1, "act": 1}
    assert textfile(env).read_text() == stats_text(run_argus, env)


def test_a_skipped_cycle_is_counted_by_the_next_real_one(env, run_argus):
    cycle(run_argus, env, "--decider", "rules")
    fd = os.open(state(env) / "cycle.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # we are "the other cycle"
    try:
        assert cycle(run_argus, env, "--decider", "rules")["status"] == "skipped"
    finally:
        os.close(fd)
    cycle(run_argus, env, "--decider", "rules")
    found = families(env)
    assert statuses(found) == {"ok": 2, "skipped": 1}
    assert found["argus_last_cycle_status"].value(status="ok") == 1
    assert textfile(env).read_text() == stats_text(run_argus, env)


def test_unset_writes_nothing_and_loads_nothing(argus_env, run_argus):
    cycle(run_argus, argus_env, "--decider", "rules")
    assert not (state(argus_env) / "prometheus-counters.json").exists()
    probe = ("import sys\nfrom argus_cli.config import load\nfrom argus_cli.cycle import run_cycle\n"
             "run_cycle(load(), decider='rules', install_signals=False)\n"
             "print(sorted(m for m in sys.modules if m.endswith(('textfile', 'prometheus', 'counters'))))")
    proc = subprocess.run([sys.executable, "-c", probe], env=argus_env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"  # the default cycle pays nothing for it


# --- the counters ----------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["deleted", "not json", "wrong type"])
def test_counters_are_counted_afresh_when_their_file_is_lost(env, run_argus, damage):
    for _ in range(2):
        cycle(run_argus, env, "--decider", "rules")
    kept = state(env) / "prometheus-counters.json"
    if damage == "deleted":
        kept.unlink()
    else:
        kept.write_text("{not json" if damage == "not json" else '{"totals": {"llm_calls": "many"}}')
    line = cycle(run_argus, env, "--decider", "rules")
    assert line["prometheus_seeded"] == 3 and line["errors"] == []  # said, not silent
    assert statuses(families(env)) == {"ok": 3}
    assert textfile(env).read_text() == stats_text(run_argus, env)
    log = (state(env) / "logs" / "argus.log").read_text()
    assert "cycle counters counted afresh from cycles.jsonl (3 line(s))" in log
    if damage != "deleted":  # the cycle owns the state: the bad file is kept aside, not lost
        assert [p.name for p in state(env).glob("prometheus-counters.json.corrupt-*")]


def test_counters_go_on_across_a_rotation_and_never_go_down(env, run_argus):
    for _ in range(2):
        cycle(run_argus, env, "--decider", "rules")
    live = state(env) / "cycles.jsonl"
    os.replace(live, live.with_name("cycles.jsonl.1"))  # what state/records.rotate does at a cycle's start
    cycle(run_argus, env, "--decider", "rules")
    assert statuses(families(env)) == {"ok": 3}
    assert textfile(env).read_text() == stats_text(run_argus, env)  # the command reads the copies too
    live.with_name("cycles.jsonl.1").unlink()  # the oldest copy deleted (ARGUS_RECORDS_KEEP)
    cycle(run_argus, env, "--decider", "rules")
    assert statuses(families(env)) == {"ok": 4}  # a counter does not go down with the files
    assert "argus_cycles_total{status=\"ok\"} 2" in stats_text(run_argus, env)  # what the files hold now
    first = live.read_text().splitlines()[0]
    live.write_text(first + "\n")  # cut by hand
    cycle(run_argus, env, "--decider", "rules")
    assert statuses(families(env)) == {"ok": 5}


@pytest.mark.skipif("ARGUS_RECORDS_MAX_MB" not in VARS_BY_NAME, reason="records do not rotate in this tree")
def test_counters_follow_the_cycles_own_rotation(env, run_argus):
    cycle(run_argus, env, "--decider", "rules")
    big = {"ts": "2026-01-01T00:00:00Z", "status": "ok", "mode": "act", "pad": "x" * 1000}
    with (state(env) / "cycles.jsonl").open("a") as handle:
        handle.writelines(json.dumps(big) + "\n" for _ in range(1100))  # past 1 MB
    env = {**env, "ARGUS_RECORDS_MAX_MB": "1"}
    line = cycle(run_argus, env, "--decider", "rules")
    assert line.get("records_rotated") and (state(env) / "cycles.jsonl.1").exists()
    cycle(run_argus, env, "--decider", "rules")
    assert statuses(families(env)) == {"ok": 1103}
    assert textfile(env).read_text() == stats_text(run_argus, env)


def test_a_cycle_reads_only_what_was_appended_since_the_last(env, run_argus):
    """O(1) in the history: once counted, the old lines are never read again. Here they are
    overwritten with lines that would count as failed cycles if they were (the first line names
    the file; the last, appended after the count was kept, is read once)."""
    for _ in range(3):
        cycle(run_argus, env, "--decider", "rules")
    live = state(env) / "cycles.jsonl"
    old = live.read_text().splitlines()
    fake = json.dumps({"ts": "2026-01-01T00:00:00Z", "status": "failed"})
    live.write_text("\n".join([old[0], *(fake.ljust(len(x)) for x in old[1:-1]), old[-1]]) + "\n")
    cycle(run_argus, env, "--decider", "rules")
    assert statuses(families(env)) == {"ok": 4}


def test_label_values_from_hand_edited_lines_are_escaped_and_bounded(env, run_argus):
    weird = 'we"ird\\status\nline'
    hand = [{"ts": "2026-01-01T00:00:00Z", "status": weird}] + [
        {"ts": "2026-01-01T00:00:00Z", "status": f"s{i}"} for i in range(2 * LABELS)]
    write(state(env) / "cycles.jsonl", hand)
    cycle(run_argus, env, "--decider", "rules")
    found = families(env)
    counted = statuses(found)
    assert counted[weird] == 1 and counted["other"] >= LABELS and len(counted) == LABELS
    assert textfile(env).read_text() == stats_text(run_argus, env)


# --- what it says about the host -------------------------------------------------------------------

def test_open_incidents_health_and_a_degraded_llm(env, run_argus):
    # every disk is past 1 %: a critical incident; an LLM wanted without a key: the rules stand in
    env = {**env, "ARGUS_DISK_WARN_PCT": "1", "ARGUS_DISK_CRIT_PCT": "1", "ARGUS_DECIDER": "llm"}
    line = cycle(run_argus, env)
    assert (line["decider"], line["health"]) == ("fallback", "critical")
    found = families(env)
    book = json.loads((state(env) / "incidents.json").read_text())
    critical = sum(1 for i in book["open"].values() if i["severity"] == "critical")
    assert critical >= 1
    assert found["argus_open_incidents"].value(severity="critical") == critical
    assert found["argus_open_incidents"].value(severity="warning") == 0
    assert found["argus_health"].value() == 3
    assert found["argus_llm_degraded"].value() == 1
    assert textfile(env).read_text() == stats_text(run_argus, env)


def test_a_failing_llm_is_degraded_through_its_backoff(env, run_argus, anthropic_api):
    anthropic_api.default = lambda: error(500)
    env = llm_env(env, anthropic_api, ARGUS_LLM_EVERY_CYCLE="true")
    first = cycle(run_argus, env)
    assert first["llm_called"] and first["decider"] == "fallback"
    assert families(env)["argus_llm_degraded"].value() == 1
    second = cycle(run_argus, env)
    assert (second["llm_skip_reason"], second["decider"]) == ("backoff", "fallback")
    assert families(env)["argus_llm_degraded"].value() == 1


def test_the_disk_forecast_is_the_one_stats_gives(env, run_argus, tmp_path):
    # the cycle measures another path, so "/" holds only the made-up history
    env = {**env, "ARGUS_DISK_PATHS": str(tmp_path)}
    write(state(env) / "metrics.jsonl", history(time.time() - 60, 7, slope=2.0, start=60.0))
    cycle(run_argus, env, "--decider", "rules")
    days = families(env)["argus_disk_days_to_full"].value(path="/")
    assert 10 < days < 16
    assert textfile(env).read_text() == stats_text(run_argus, env)


def test_problems_in_a_hostile_registry_are_counted_as_stats_counts_them(env, run_argus, tmp_path):
    """A stretch written under a clock set back by two days, lines whose action_taken is not a
    string, a nested ts: the textfile's problem counts are the ones `argus stats` prints."""
    now = time.time()
    records = [problem(iso(now - 9 * 86400 + n * 260), severity=("info", "warning", "critical")[n % 3])
               for n in range(3000)]
    for record in records[2000:2600]:
        record["ts"] = iso(datetime.fromisoformat(record["ts"]).timestamp() - 2 * 86400)
    for record in records[::50]:
        record["action_taken"] = 5
    for record in records[1::7]:
        record["detail"] = {"ts": "2020-01-01T00:00:00Z"}
    env = {**env, "ARGUS_PROBLEMS_FILE": str(write_registry(tmp_path / "problems.jsonl", records))}
    cycle(run_argus, env, "--decider", "rules")
    found = families(env)["argus_problems"]
    assert sum(value for _, value in found.samples) > 1000
    assert textfile(env).read_text() == stats_text(run_argus, env)


def test_health_numbers_follow_the_cycles_order():
    assert sorted(HEALTH, key=HEALTH.__getitem__) == list(HEALTH_ORDER)


# --- when it cannot be written -------------------------------------------------------------------

def _missing(path: Path, immutable: Any) -> str:
    shutil.rmtree(path.parent)
    return "No such file or directory"


def _a_directory(path: Path, immutable: Any) -> str:
    path.mkdir()
    return "Is a directory"


def _immutable_directory(path: Path, immutable: Any) -> str:
    immutable(path.parent)  # chattr +i: refused even to root
    return "Operation not permitted"


@pytest.mark.parametrize("fault", [_missing, _a_directory, _immutable_directory], ids=lambda f: f.__name__[1:])
def test_a_textfile_that_cannot_be_written_never_fails_the_cycle(env, run_argus, immutable, fault):
    cycle(run_argus, env, "--decider", "rules")
    path = textfile(env)
    before = path.read_bytes()
    path.unlink()
    if fault is _immutable_directory:
        path.write_bytes(before)
    why = fault(path, immutable)
    line = cycle(run_argus, env, "--decider", "rules")
    assert line["status"] == "ok"
    assert line["errors"] == [f"prometheus textfile: cannot write {path}: {why}"]
    assert f"cannot write {path}: {why}" in (state(env) / "logs" / "argus.log").read_text()
    if fault is _immutable_directory:
        assert path.read_bytes() == before and [p.name for p in path.parent.iterdir()] == ["argus.prom"]
        subprocess.run(["chattr", "-i", str(path.parent)], check=True)
    elif fault is _missing:
        path.parent.mkdir()
    else:
        path.rmdir()
    cycle(run_argus, env, "--decider", "rules")
    assert statuses(families(env)) == {"ok": 3}  # the cycle it missed is counted


@pytest.mark.parametrize("value", ["argus.prom", "/var/lib/node/argus.txt", "/var/lib/node/", "/var/lib/node/.prom"])
def test_a_bad_path_is_a_configuration_error(argus_env, run_argus, value):
    proc = run_argus("cycle", env={**argus_env, "ARGUS_PROMETHEUS_TEXTFILE": value})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"argus: configuration error: ARGUS_PROMETHEUS_TEXTFILE={value!r} (from the environment) is invalid: "
        "expected an absolute path ending in .prom (node_exporter reads DIR/*.prom), or nothing for no textfile"]


def test_doctor_checks_the_textfile_directory(env, run_argus, tmp_path):
    def prometheus_check(environment: dict[str, str]) -> list[dict[str, str]]:
        proc = run_argus("doctor", "--json", env=environment)
        return [c for c in json.loads(proc.stdout) if c["name"] == "prometheus"]

    [check] = prometheus_check(env)
    assert check["level"] == "ok" and "not written yet" in check["detail"]
    cycle(run_argus, env, "--decider", "rules")
    [check] = prometheus_check(env)
    assert check["level"] == "ok" and "written " in check["detail"] and " ago" in check["detail"]
    missing = {**env, "ARGUS_PROMETHEUS_TEXTFILE": str(tmp_path / "nowhere" / "argus.prom")}
    [check] = prometheus_check(missing)
    assert check["level"] == "FAIL" and f"{tmp_path / 'nowhere'} does not exist" in check["detail"]
    assert prometheus_check({k: v for k, v in env.items() if k != "ARGUS_PROMETHEUS_TEXTFILE"}) == []


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing (.ci/run takes it out of Debian's `prometheus` "
                                             "package); the strict parser above checks the same file")
def test_promtool_accepts_a_real_cycles_textfile(env, run_argus):
    env = {**env, "ARGUS_DISK_WARN_PCT": "1", "ARGUS_DISK_CRIT_PCT": "1"}
    cycle(run_argus, env, "--decider", "rules")
    proc = subprocess.run([str(PROMTOOL), "check", "metrics"], input=textfile(env).read_bytes(),
                          capture_output=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
