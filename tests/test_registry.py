"""The problem registry: whole-line appends, recurrence counts with flat cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from helpers_actions import actions_env, registry, use_env

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.model import Decision, Problem, iso_z
from argus_cli.state.registry import key_for, recent_count, record_problem

T0 = 1_800_000_000.0


def _problem(ts: float, description: str = "memory at 91%", kind: str = "memory") -> Problem:
    return Problem(iso_z(ts), "warning", kind, description, "alert:telegram", "success", None, "host")


@pytest.fixture
def config(argus_env, config_of):
    return config_of(argus_env)


def test_record_appends_exactly_the_spec_keys(config):
    record_problem(config, _problem(T0))
    [line] = config.problems_file.read_text().splitlines()
    assert list(json.loads(line)) == ["ts", "severity", "type", "description", "action_taken", "action_result",
                                      "bead_id", "host"]


def test_recent_count_counts_the_key_inside_the_window_only(config):
    for ts, text in [(T0 - 7200, "memory at 80%"), (T0 - 100, "memory at 91%"), (T0 - 50, "disk at 91%"),
                     (T0 - 10, "Memory  at 92.5%"), (T0 + 500, "memory at 93%")]:
        record_problem(config, _problem(ts, text))
    key = key_for("memory", "memory at 1%")
    assert recent_count(config, key, 3600, T0) == 2  # the old one and the future one do not count
    assert recent_count(config, key, 86400, T0) == 3
    assert recent_count(config, key_for("disk", "memory at 1%"), 3600, T0) == 0


def test_the_hog_enrichment_does_not_change_the_key():
    plain = key_for("memory", "memory at 93%")
    assert key_for("memory", "memory at 94%; hog_process=node,hog_pid=12,hog_rss_kb=9,hog_mem_pct=1.0,"
                             "hog_runtime=01:00:00,hog_kill_candidate=yes") == plain


def test_malformed_and_torn_lines_are_skipped(config):
    record_problem(config, _problem(T0 - 5))
    with config.problems_file.open("ab") as handle:
        handle.write(b"not json\n[1,2]\n{\"ts\": 5}\n")
    record_problem(config, _problem(T0 - 1))
    with config.problems_file.open("ab") as handle:
        handle.write(b'{"ts": "2027-01-')  # a writer died mid-line
    assert recent_count(config, key_for("memory", "memory at 1%"), 3600, T0) == 2
    record_problem(config, _problem(T0))  # heals the torn tail before appending
    assert recent_count(config, key_for("memory", "memory at 1%"), 3600, T0) == 3


def test_missing_registry_counts_zero(config):
    assert recent_count(config, "memory:0", 3600, T0) == 0


def test_the_scan_never_reads_past_the_window(config):
    """A 64 GiB hole (sparse, reads as NULs) before the window: reading it would take minutes."""
    path = config.problems_file
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        handle.truncate(64 << 30)
    with path.open("ab") as handle:
        handle.write(b"\n" + json.dumps(_problem(T0 - 90_000).to_dict()).encode() + b"\n")
    for i in range(50):
        record_problem(config, _problem(T0 - i))
    started = time.monotonic()
    assert recent_count(config, key_for("memory", "memory at 1%"), 86400, T0) == 50
    assert time.monotonic() - started < 2.0


_WRITER = """
import sys
from argus_cli.config import load
from argus_cli.model import Problem
from argus_cli.state.registry import record_problem
config = load()
who = sys.argv[1]
for i in range(300):
    text = f"writer {who} line {i} " + "x" * (i * 37 % 3000)
    record_problem(config, Problem("2027-01-15T08:00:00Z", "info", "process", text, "log:observation",
                                   "success", None, "h"))
"""


def test_eight_concurrent_writers_leave_only_whole_lines(config, argus_env):
    env = {**argus_env, "PYTHONPATH": os.getcwd()}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(n)], env=env) for n in range(8)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 8
    lines = config.problems_file.read_bytes().splitlines()
    assert len(lines) == 8 * 300
    records = [json.loads(line) for line in lines]
    assert {r["description"].split(" line ")[0] for r in records} == {f"writer {n}" for n in range(8)}


# --- hostile strings in decisions --------------------------------------------------------------

def _act(config, *actions, snapshot=None):
    return execute_decision(config, Decision("t", list(actions), [], "llm"), snapshot, dry_run=False,
                            now=time.time(), tuning=Tuning(kill_grace=0.5, active_timeout=2.0, poll_interval=0.1))


def test_lone_surrogates_from_the_llm_are_recorded_not_crashed(argus_env, tmp_path, monkeypatch):
    # json.loads (what the SDK uses) turns "\\ud83d" into a lone surrogate that UTF-8 cannot encode.
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path))
    llm_reply = json.loads('{"actions": [{"type": "alert", "message": "disk full \\ud83d"},'
                           '{"type": "log", "observation": "swap high \\ud83d"},'
                           '{"type": "kill_tmux", "target": "nope", "reason": "stuck \\ud83d"}]}')
    results = _act(config, *llm_reply["actions"])
    assert [r.status for r in results] == ["skipped", "success", "rejected"], [r.detail for r in results]
    assert [line["action_taken"] for line in registry(config)] == ["alert:telegram", "log:observation",
                                                                   "kill_tmux:nope"]
