"""One repair policy (ARCHITECTURE.md §4): a command that only reads reports a bad state file and
leaves it byte for byte; the commands that own the state (cycle, act) move it aside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Every JSON state file, each unusable: not JSON, not an object, or a field of the wrong type.
BAD = {
    "cycle-state.json": '{"status": 5}',
    "last_decision.json": '{"actions": 5}',
    "dedup.json": '{"keys": {"k": {"last_seen": "yesterday"}}}',
    "restart-backoff.json": '{"services": []}',
    "llm-backoff.json": '{"failures": "many"}',
    "prescreen.json": '{"last_call": 1, "coarse": {"memory": "n/a"}}',
    "orphans.json": '{"pids": {"1": {"seen": [1]}}}',
    "cpu-times.json": "[1, 2]",
    "pattern-detect-state.json": '{"signatures": [1]',
    "approvals.json": '{"requests": {"x": {"id": 1}}}',
    "silences.json": '{"silences": []}',
    "incidents.json": '{"open": 5}',
}
ALERT = json.dumps({"assessment": "x", "actions": [{"type": "alert", "message": "disk full on /"}]})
READ_ONLY = [("collect", "--json"), ("last",), ("last", "--json"), ("stats", "--json"),
             ("stats", "--format", "prometheus"), ("patterns", "analyze", "--json"), ("doctor", "--json"),
             ("decide", "--decider", "rules", "--json"), ("act", "--decision", "-", "--dry-run", "--json"),
             ("status", "--json"), ("pending", "--json"), ("history", "--since", "7d", "--json"), ("explain", "last"),
             ("silence", "list", "--json"), ("report", "--html", "-")]


REPORTS_ON_IT = ("pending", "silence")  # `argus pending` lists approvals.json, `silence list` silences.json


@pytest.fixture
def bad_state(argus_env: dict[str, str]) -> Path:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    for name, text in BAD.items():
        (state / name).write_text(text)
    (state / "cycles.jsonl").write_text(json.dumps({"ts": "2026-11-30T00:00:00Z", "status": "ok"}) + "\n")
    return state


def moved_aside(state: Path) -> dict[str, str]:
    return {p.name.split(".corrupt-")[0]: p.read_text() for p in state.iterdir() if ".corrupt-" in p.name}


@pytest.mark.parametrize("args", READ_ONLY, ids="-".join)
def test_a_command_that_only_reads_leaves_every_bad_state_file_as_it_is(
        args: tuple[str, ...], bad_state: Path, argus_env: dict[str, str], run_argus: Any) -> None:
    proc = run_argus(*args, env=argus_env, input=ALERT if args[0] == "act" else None)
    assert "Traceback" not in proc.stderr, proc.stderr
    if args[0] in REPORTS_ON_IT:  # the file is what it reports on: no answer is better than a guess
        assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1 and "left as it is" not in proc.stderr
        assert "unusable" in proc.stderr
    else:
        # status exits by the host's health (2: its last cycle is long ago): it must still not fail
        assert proc.returncode in ((0, 2) if args[0] == "status" else (0,)), proc.stderr
        assert proc.stdout.strip()  # it still did its job
    assert {name: (bad_state / name).read_text() for name in BAD} == BAD
    assert moved_aside(bad_state) == {}
    if args[0] in ("collect", "last", "decide"):
        assert "left as it is" in proc.stderr


def test_the_cycle_moves_the_bad_files_it_reads_aside(bad_state: Path, argus_env: dict[str, str],
                                                      run_argus: Any) -> None:
    proc = run_argus("cycle", "--decider", "rules", env=argus_env)
    assert proc.returncode == 0, proc.stderr
    moved = moved_aside(bad_state)
    assert {"cycle-state.json", "orphans.json", "cpu-times.json"} <= set(moved), proc.stderr
    assert all(text == BAD[name] for name, text in moved.items())  # kept whole, never deleted
    assert "pattern-detect-state.json" not in moved  # the cycle never reads it
    assert json.loads((bad_state / "cycle-state.json").read_text())["status"] == "ok"


def test_act_moves_a_bad_file_it_reads_aside(bad_state: Path, argus_env: dict[str, str], run_argus: Any) -> None:
    proc = run_argus("act", "--decision", "-", "--json", env=argus_env, input=ALERT)
    assert proc.returncode == 0, proc.stderr
    assert moved_aside(bad_state) == {"dedup.json": BAD["dedup.json"]}
    assert "dedup.json is corrupt" in proc.stderr
