"""kill_pid and the orphan sweep against real processes."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers_actions import NODE_IDLE, actions_env, create_time, registry, running, snapshot_with, spawned, use_env

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.actions.orphan_sweep import sweep_orphans
from argus_cli.model import Decision

FAST = Tuning(kill_grace=0.5)


def _kill(config, target, snapshot=None, dry_run=False):
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
        pid = node.pid
        node.kill()
        node.wait()
    result = _kill(config, pid)
    assert result.status == "rejected"
    assert "does not exist" in result.detail


def test_dry_run_signals_nothing_and_records_nothing(config):
    with spawned("node", "-e", NODE_IDLE) as node:
        result = _kill(config, node.pid, dry_run=True)
        time.sleep(0.2)
        assert running(node)
    assert (result.status, result.dry_run) == ("skipped", True)
    assert not config.problems_file.exists()


def test_orphan_sweep_kills_after_the_threshold_and_resets(argus_env, tmp_path, monkeypatch):
    marker = f"argus-orphan-{os.getpid()}-{tmp_path.name}"
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_ORPHAN_PATTERN=marker,
                                              ARGUS_ORPHAN_KILL_THRESHOLD="3"))
    now = time.time()
    with spawned("node", "-e", NODE_IDLE, marker) as orphan, spawned("node", "-e", NODE_IDLE) as bystander:
        reports = [sweep_orphans(config, now + i, dry_run=False, grace=0.5) for i in range(2)]
        assert [r["seen_cycles"] for r in reports] == [1, 2]
        assert reports[1]["killed"] == [] and running(orphan)
        assert sweep_orphans(config, now + 2, dry_run=True, grace=0.5)["due"] == [orphan.pid]
        assert running(orphan)
        third = sweep_orphans(config, now + 2, dry_run=False, grace=0.5)
        orphan.wait(timeout=5)
        assert third["killed"] == [orphan.pid]
        assert running(bystander)
    assert sweep_orphans(config, now + 3, dry_run=False)["seen_cycles"] == 0
    assert registry(config)[0]["action_taken"] == f"orphan_sweep:{marker}"


def test_orphan_sweep_spares_a_process_that_just_appeared(argus_env, tmp_path, monkeypatch):
    marker = f"argus-orphan-late-{os.getpid()}"
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_ORPHAN_PATTERN=marker,
                                              ARGUS_ORPHAN_KILL_THRESHOLD="2"))
    with spawned("node", "-e", NODE_IDLE, marker) as first:
        sweep_orphans(config, 1.0, dry_run=False, grace=0.5)
        with spawned("node", "-e", NODE_IDLE, marker) as late:
            report = sweep_orphans(config, 2.0, dry_run=False, grace=0.5)
            first.wait(timeout=5)
            assert report["killed"] == [first.pid]
            assert running(late)
    assert Path(config.state_dir / "orphans.json").exists()


def test_orphan_sweep_also_ends_the_orphans_children(argus_env, tmp_path, monkeypatch):
    """A `node --test` runner runs its test file in a child the pattern does not match: the sweep
    must not leave that child behind, reparented to init and unwatched."""
    marker = f"argus-orphan-tree-{os.getpid()}"
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_ORPHAN_PATTERN=marker,
                                              ARGUS_ORPHAN_KILL_THRESHOLD="1"))
    runner_code = ("require('child_process').spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'],"
                   " {stdio: 'ignore'}); setInterval(()=>{},1000)")
    with spawned("node", "-e", runner_code, marker) as runner:
        deadline = time.monotonic() + 5
        while not psutil.Process(runner.pid).children() and time.monotonic() < deadline:
            time.sleep(0.05)
        (child,) = psutil.Process(runner.pid).children()
        report = sweep_orphans(config, time.time(), dry_run=False, grace=0.5)
        runner.wait(timeout=5)
        child.wait(timeout=5)
    assert report["killed"] == [runner.pid] and report["children_killed"] == [child.pid]
    assert not child.is_running()
    assert "and 1 of their child processes" in registry(config)[0]["description"]


def test_orphan_sweep_counts_a_process_whose_start_time_jittered(argus_env, tmp_path, monkeypatch):
    """psutil's create_time moves with /proc/stat's btime (by up to a second between reads): the
    same process must keep its count, or a jittery clock would spare orphans for ever."""
    marker = f"argus-orphan-jitter-{os.getpid()}"
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_ORPHAN_PATTERN=marker,
                                              ARGUS_ORPHAN_KILL_THRESHOLD="2"))
    with spawned("node", "-e", NODE_IDLE, marker) as orphan:
        sweep_orphans(config, 1.0, dry_run=False, grace=0.5)
        state_file = config.state_dir / "orphans.json"
        state = json.loads(state_file.read_text())
        state["pids"][str(orphan.pid)]["create_time"] += 0.6
        state_file.write_text(json.dumps(state))
        report = sweep_orphans(config, 2.0, dry_run=False, grace=0.5)
        orphan.wait(timeout=5)
    assert report["killed"] == [orphan.pid]
