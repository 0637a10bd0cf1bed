"""``argus act`` through the real CLI."""

from __future__ import annotations

import json

import pytest
from helpers_actions import actions_env

DECISION = {"assessment": "t", "actions": [
    {"type": "log", "observation": "load elevated"},
    {"type": "kill_pid", "target": "not-a-pid", "reason": "x"},
    {"type": "format_disk", "target": "/"},
]}


@pytest.fixture
def env(argus_env, tmp_path):
    return actions_env(argus_env, tmp_path)


def test_json_results_one_per_action_and_exit_0_with_rejections(run_argus, env, tmp_path):
    path = tmp_path / "decision.json"
    path.write_text(json.dumps(DECISION))
    proc = run_argus("act", "--decision", str(path), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert [(r["index"], r["type"], r["status"]) for r in results] == [
        (0, "log", "success"), (1, "kill_pid", "rejected"), (2, "format_disk", "rejected")]
    lines = (tmp_path / "state" / "problems.jsonl").read_text().splitlines()
    assert [json.loads(line)["action_result"] for line in lines] == ["success", "rejected", "rejected"]


def test_human_output_from_stdin_in_dry_run(run_argus, env, tmp_path):
    proc = run_argus("act", "--decision", "-", "--dry-run", env=env, input=json.dumps(DECISION))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("#0 log observation: skipped - dry run: would log observation")
    assert out[1].startswith("#1 kill_pid not-a-pid: rejected - target 'not-a-pid' is not an integer PID")
    assert "dry run" in out[-1]
    assert not (tmp_path / "state" / "problems.jsonl").exists()


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read decision file"), ("{not json", "not valid JSON"), ("[1, 2]", "\"actions\" list"),
    ('{"actions": "kill"}', "\"actions\" list"),
])
def test_unusable_decision_files_exit_2(run_argus, env, tmp_path, content, message):
    path = tmp_path / "decision.json"
    if content is not None:
        path.write_text(content)
    proc = run_argus("act", "--decision", str(path), env=env)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stdout == ""


def test_help_has_an_example(run_argus, env):
    proc = run_argus("act", "--help", env=env)
    assert proc.returncode == 0 and "Example:" in proc.stdout
