"""kill_pid and the orphan sweep against real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers_actions import (
    NODE_IDLE,
    actions_env,
    create_time,
    registry,
    running,
    snapshot_with,
    spawned,
    use_env,
    wait_started,
)

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.model import Decision
from argus_cli.snapshot import parse_snapshot

FAST = Tuning(kill_grace=0.5)


def _kill(config, target, snapshot=None, dry_run=False):
    """kill_pid of ``target``, decided on ``snapshot`` (default: one that lists the live target)."""
    if snapshot is None and isinstance(target, int | str) and str(target).isdigit() and psutil.pid_exists(int(target)):
        snapshot = snapshot_with(int(target), create_time(int(target)))
    decision = Decision("test", [{"type": "kill_pid", "target": target, "reason": "runaway test process"}])
    return execute_decision(config, decision, snapshot, dry_run=dry_run, now=time.time(), tuning=FAST)[0]


@pytest.fixture
def config(argus_env, tmp_path, monkeypatch):
    return use_env(monkeypatch, actions_env(argus_env, tmp_path))


def test_kills_an_allowlisted_node_process(config):
    with spawned("node", "-e", NODE_IDLE) as node:
        result = _kill(config, node.pid, snapshot_with(node.pid, create_time(node.pid)))
        node.wait(timeout=5)
    assert result.status == "success", result.detail
    assert result.extra["signal"] == "SIGTERM"
    [line] = registry(config)
    assert (line["action_taken"], line["action_result"], line["type"]) == (f"kill_pid:{node.pid}", "success", "process")


def test_pid_given_as_text_is_accepted(config):
    with spawned("node", "-e", NODE_IDLE) as node:
        result = _kill(config, str(node.pid))
        node.wait(timeout=5)
    assert result.status == "success"


def test_sigkill_after_the_grace_when_sigterm_is_ignored(config):
    with spawned("node", "-e", "process.on('SIGTERM',()=>{});" + NODE_IDLE) as node:
        time.sleep(0.3)  # let node install its handler
        started = time.monotonic()
        result = _kill(config, node.pid)
        node.wait(timeout=5)
    assert result.status == "success"
    assert result.extra["signal"] == "SIGKILL"
    assert time.monotonic() - started >= 0.5


@pytest.mark.parametrize("argv", [("sleep", "60"), (sys.executable, "-c", "import time; time.sleep(60)")])
def test_refuses_processes_outside_the_allowlist(config, argv):
    with spawned(*argv) as proc:
        result = _kill(config, proc.pid)
        time.sleep(0.2)
        assert running(proc)
    assert result.status == "rejected"
    assert "ARGUS_KILL_ALLOWLIST" in result.detail
    assert registry(config)[0]["action_result"] == "rejected"


def test_refuses_a_pid_whose_create_time_differs_from_the_snapshot(config):
    with spawned("node", "-e", NODE_IDLE) as node:
        result = _kill(config, node.pid, snapshot_with(node.pid, create_time(node.pid) - 120))
        time.sleep(0.2)
        assert running(node)
    assert result.status == "rejected"
    assert "reused" in result.detail


@pytest.mark.parametrize("target", [1, 0, -5, "12a", "ls; rm -rf /", 3.0, True, None, [123], "", 4194305])
def test_refuses_malformed_or_reserved_targets(config, target):
    result = _kill(config, target)
    assert result.status == "rejected"
    assert registry(config)[0]["action_result"] == "rejected"


def test_refuses_argus_itself_and_its_ancestors(config):
    for pid in (os.getpid(), os.getppid()):
        result = _kill(config, pid)
        assert result.status == "rejected"
        assert "ancestors" in result.detail


def test_refuses_a_pid_that_does_not_exist(config):
    with spawned("node", "-e", NODE_IDLE) as node:
        pid, snapshot = node.pid, snapshot_with(node.pid, create_time(node.pid))
        node.kill()
        node.wait()
    result = _kill(config, pid, snapshot)
    assert result.status == "rejected"
    assert "does not exist" in result.detail


def test_dry_run_signals_nothing_and_records_nothing(config):
    with spawned("node", "-e", NODE_IDLE) as node:
        result = _kill(config, node.pid, dry_run=True)
        time.sleep(0.2)
        assert running(node)
    assert (result.status, result.dry_run) == ("skipped", True)
    assert not config.problems_file.exists()


def test_refuses_without_the_snapshot_the_decision_was_made_from(config):
    with spawned("node", "-e", NODE_IDLE) as node:
        result = execute_decision(config, Decision("t", [{"type": "kill_pid", "target": node.pid, "reason": "x"}]),
                                  None, dry_run=False, now=time.time(), tuning=FAST)[0]
        time.sleep(0.2)
        assert running(node)
    assert result.status == "rejected" and "--snapshot" in result.detail


def test_refuses_a_pid_the_snapshot_did_not_show(config):
    with spawned("node", "-e", NODE_IDLE) as shown, spawned("node", "-e", NODE_IDLE) as other:
        result = _kill(config, other.pid, snapshot_with(shown.pid, create_time(shown.pid)))
        time.sleep(0.2)
        assert running(other)
    assert result.status == "rejected" and "not a process the snapshot showed" in result.detail


def test_refuses_a_listed_pid_without_a_start_time(config):
    with spawned("node", "-e", NODE_IDLE) as node:
        result = _kill(config, node.pid, snapshot_with(node.pid, None))
        assert running(node)
    assert result.status == "rejected" and "no start time" in result.detail


# --- thread ids ------------------------------------------------------------------------------

def _act(config, *actions, snapshot=None):
    return execute_decision(config, Decision("t", list(actions), [], "llm"), snapshot, dry_run=False,
                            now=time.time(), tuning=Tuning(kill_grace=0.5, active_timeout=2.0, poll_interval=0.1))


_NODE_PARENT = """
const fs = require('fs'), {spawnSync} = require('child_process');
const tid = fs.readdirSync('/proc/self/task').map(Number).find(t => t !== process.pid);
// The snapshot lists the TID as a process, as a confused or hostile decider might claim it is.
const shown = {pid: tid, name: 'node', create_time: 0};
fs.writeFileSync(process.argv[1], JSON.stringify({actions: [{type: 'kill_pid', target: tid, reason: 'runaway'}],
                                                  snapshot: {top_processes: [shown]}}));
const r = spawnSync(process.argv[2], ['-m', 'argus_cli', 'act', '--decision', process.argv[1], '--json'],
                    {encoding: 'utf8', env: process.env});
process.stdout.write(r.stdout || '');
process.exit(0);
"""


def test_kill_pid_with_a_thread_id_of_an_ancestor_is_refused(argus_env, tmp_path):
    # Argus started from a node program (an agent CLI): the TID of one of node's threads is not
    # in the protected set, and kill() on a TID signals the whole process, Argus's ancestor.
    env = actions_env(argus_env, tmp_path)
    decision = tmp_path / "decision.json"
    proc = subprocess.run(["node", "-e", _NODE_PARENT, str(decision), sys.executable], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"argus signalled its own ancestor: rc={proc.returncode} {proc.stderr[-300:]}"
    [result] = json.loads(proc.stdout)
    assert result["status"] == "rejected", result["detail"]
    assert "thread" in result["detail"]


_RENAMED_THREAD = """
import ctypes, threading, time
def named():
    ctypes.CDLL(None).prctl(15, b"node", 0, 0, 0)  # PR_SET_NAME: this thread's comm
    time.sleep(60)
threading.Thread(target=named, daemon=True).start()
time.sleep(60)
"""


def test_kill_pid_with_a_renamed_thread_id_does_not_kill_an_unlisted_process(argus_env, tmp_path, monkeypatch):
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", _RENAMED_THREAD])
    try:
        wait_started(proc.pid, "python")
        tid = _thread_named(proc.pid, "node")
        started = psutil.Process(proc.pid).create_time()
        listed = parse_snapshot({"top_processes": [{"pid": tid, "name": "node", "create_time": started}]})
        [result] = _act(config, {"type": "kill_pid", "target": tid, "reason": "runaway"}, snapshot=listed)
        time.sleep(0.3)
        assert proc.poll() is None, "a python process was killed through its thread's comm"
        assert result.status == "rejected" and "thread" in result.detail
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _thread_named(pid: int, name: str) -> int:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for tid in os.listdir(f"/proc/{pid}/task"):
            if int(tid) != pid and Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip() == name:
                return int(tid)
        time.sleep(0.02)
    raise AssertionError("thread never renamed")


def test_a_refusal_quotes_a_hostile_process_name_safely(tmp_path):
    # a process may name itself with bytes that are not UTF-8, an escape and a newline; the refusal
    # that quotes it is recorded (problem key, registry) and printed, so it must be plain text
    from argus_cli.actions.signals import Refused, acquire

    code = ("import ctypes, time; ctypes.CDLL(None).prctl(15, b'\\xff\\x1b[31mev\\nil', 0, 0, 0); "
            "print('ready', flush=True); time.sleep(30)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        assert "\udcff" in psutil.Process(proc.pid).name()  # psutil hands the bytes on as surrogates
        with pytest.raises(Refused) as refused:
            acquire(proc.pid, expected_create_time=None, allowed_names=["node"], protected=())
        reason = str(refused.value)
        assert "not in ARGUS_KILL_ALLOWLIST" in reason and reason.isprintable(), reason
        reason.encode("utf-8")  # no lone surrogate left
    finally:
        proc.kill()
        proc.wait()
