"""Property: whatever a decider asks for, nothing outside the guardrails runs, and every
rejected action is in the registry with action_result "rejected"."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest
from helpers_actions import (
    NODE_IDLE,
    actions_env,
    create_time,
    install_systemctl,
    recorded,
    registry,
    running,
    snapshot_with,
    spawned,
    tmux_new,
    tmux_sessions,
    tmux_stop,
    use_env,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.model import ACTION_TYPES, Decision

HOSTILE = ["web", "web-2", "=web", "web;kill-server", "a;touch x", "$(touch x)", "`id`", "../x", "-t", "--help",
           "", " ", "web\n", "allowed.service", "allowed.service; reboot", "/etc", "*", "%s%n", "\x00", "ü" * 70]
FAST = Tuning(kill_grace=0.2, active_timeout=0.2, poll_interval=0.05, command_timeout=5)


def _not_a_pid(text: str) -> bool:
    return not re.fullmatch(r"\s*[0-9]{1,10}\s*", text)


def action_strategy(pids: list[int]) -> st.SearchStrategy:
    texts = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=80).filter(_not_a_pid))
    # PIDs only from a controlled set: a random one could be some other user's node process
    targets = st.one_of(texts, st.sampled_from(pids), st.sampled_from([str(p) for p in pids]), st.none(),
                        st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=3))
    values = st.one_of(texts, st.none(), st.integers(), st.lists(texts, max_size=2))
    kinds = st.one_of(st.sampled_from(ACTION_TYPES), texts, st.integers(), st.none())
    fields = st.fixed_dictionaries({"type": kinds}, optional={
        "target": targets, "reason": values, "message": values, "observation": values,
        "extra": values})
    return st.one_of(fields, texts, st.integers(), st.lists(texts, max_size=2))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Bystanders that must survive every decision: processes outside the allowlist, a node
    process whose snapshot create_time is wrong, tmux sessions on a server Argus is not told about."""
    root = tmp_path_factory.mktemp("world")
    other = root / "other.sock"
    tmux_new(other, "web", "web-2")
    with spawned("sleep", "600") as sleeper, spawned(sys.executable, "-c", "import time; time.sleep(600)") as py, \
            spawned("node", "-e", NODE_IDLE) as node:
        yield {"root": root, "other": other, "sleep": sleeper, "python": py, "node": node,
               "snapshot": snapshot_with(node.pid, create_time(node.pid) - 100)}
    tmux_stop(other)


@pytest.fixture
def setup(world, argus_env, tmp_path, monkeypatch):
    sock = tmp_path / "tmux.sock"
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    os.utime(outside / "keep.txt", (1, 1))
    (tmp_path / "host" / "tmp").mkdir(parents=True)
    (tmp_path / "host" / "tmp" / "link").symlink_to(outside)
    install_systemctl(tmp_path / "bin")
    env = actions_env(argus_env, tmp_path, ARGUS_ALLOWED_SERVICES="allowed.service", ARGUS_TMUX_SOCKETS=str(sock))
    config = use_env(monkeypatch, env)
    yield config, sock, tmp_path
    tmux_stop(sock)


def _pids(world) -> list[int]:
    return [world["sleep"].pid, world["python"].pid, world["node"].pid, 1, 0, -1, os.getpid(), os.getppid(),
            4194305, 2**40]


@pytest.mark.slow
def test_nothing_outside_the_guardrails_ever_runs(world, setup):
    config, sock, tmp = setup
    counter = iter(range(10**6))

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(action_strategy(_pids(world)), max_size=14))
    def check(actions):
        n = next(counter)
        config.problems_file.unlink(missing_ok=True)
        (tmp / "bin" / "systemctl.calls.jsonl").unlink(missing_ok=True)
        tmux_new(sock, *({"anchor", "web", "web-2"} - tmux_sessions(sock)))  # recreate what a valid action killed
        results = execute_decision(config, Decision("p", actions), world["snapshot"], dry_run=False,
                                   now=time.time() + n * 100_000, tuning=FAST)
        assert len(results) == len(actions)
        _assert_guarded(world, sock, tmp, actions, results)
        rejected = [r for r in results if r.status == "rejected"]
        assert [p["action_result"] for p in registry(config)].count("rejected") == len(rejected)

    check()


def _valid(actions, kind: str, target) -> bool:
    return any(isinstance(a, dict) and a.get("type") == kind and a.get("target") == target
               and isinstance(a.get("reason"), str) and a["reason"].strip() for a in actions[:10])


def _assert_guarded(world, sock: Path, tmp: Path, actions, results) -> None:
    assert all(running(world[name]) for name in ("sleep", "python", "node"))
    assert tmux_sessions(world["other"]) == {"web", "web-2"}
    for name in ("anchor", "web", "web-2"):
        assert name in tmux_sessions(sock) or _valid(actions, "kill_tmux", name)
    for argv in recorded(tmp / "bin", "systemctl"):
        assert argv in (["restart", "allowed.service"], ["is-active", "allowed.service"])
        assert _valid(actions, "restart_service", "allowed.service")
    assert (tmp / "precious" / "keep.txt").read_text() == "keep"
    assert not (tmp / "x").exists() and not Path("x").exists()
    for result in results:
        assert result.status in ("success", "failure", "skipped", "suppressed", "rejected")
