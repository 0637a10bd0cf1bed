"""The hostile-decisions property, shared by tests/test_act_property.py (100 examples in the default
run) and bench/bench_hostile_decisions.py (10,000 on demand): what a hostile decider may send, the
bystanders that must survive it, and the check of one decision."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.config import Config
from argus_cli.model import ACTION_TYPES, Decision

HOSTILE = ["web", "web-2", "=web", "web;kill-server", "a;touch x", "$(touch x)", "`id`", "../x", "-t", "--help",
           "", " ", "web\n", "allowed.service", "allowed.service; reboot", "/etc", "*", "%s%n", "\x00", "ü" * 70]
FAST = Tuning(kill_grace=0.2, active_timeout=0.2, poll_interval=0.05, command_timeout=5)
World = dict[str, Any]


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


@contextmanager
def bystanders(root: Path) -> Iterator[World]:
    """Bystanders that must survive every decision: processes outside the allowlist, a node
    process whose snapshot create_time is wrong, tmux sessions on a server Argus is not told about."""
    other = root / "other.sock"
    tmux_new(other, "web", "web-2")
    try:
        with spawned("sleep", "600") as sleeper, \
                spawned(sys.executable, "-c", "import time; time.sleep(600)") as py, \
                spawned("node", "-e", NODE_IDLE) as node:
            yield {"root": root, "other": other, "sleep": sleeper, "python": py, "node": node,
                   "snapshot": snapshot_with(node.pid, create_time(node.pid) - 100)}
    finally:
        tmux_stop(other)


def guarded_env(argus_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """An Argus environment under ``tmp_path`` with one allowed service and its own tmux server, and a
    precious file outside the host root that a symlink in its /tmp points at."""
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    os.utime(outside / "keep.txt", (1, 1))
    (tmp_path / "host" / "tmp").mkdir(parents=True)
    (tmp_path / "host" / "tmp" / "link").symlink_to(outside)
    install_systemctl(tmp_path / "bin")
    return actions_env(argus_env, tmp_path, ARGUS_ALLOWED_SERVICES="allowed.service",
                       ARGUS_TMUX_SOCKETS=str(tmp_path / "tmux.sock"))


def bystander_pids(world: World) -> list[int]:
    return [world["sleep"].pid, world["python"].pid, world["node"].pid, 1, 0, -1, os.getpid(), os.getppid(),
            4194305, 2**40]


@dataclass
class Progress:
    decisions: int = 0  # executed so far, shrinking included: still right when the property fails


def check_hostile_decisions(world: World, config: Config, tmp: Path, max_examples: int,
                            progress: Progress | None = None) -> int:
    """Run the property on ``max_examples`` generated decisions; the number of decisions executed.
    Raises what Hypothesis raises for a falsifying decision (``progress`` still has the count)."""
    sock = tmp / "tmux.sock"
    progress = progress or Progress()

    @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(action_strategy(bystander_pids(world)), max_size=14))
    def check(actions: list[Any]) -> None:
        n = progress.decisions
        progress.decisions += 1
        config.problems_file.unlink(missing_ok=True)
        (tmp / "bin" / "systemctl.calls.jsonl").unlink(missing_ok=True)
        tmux_new(sock, *({"anchor", "web", "web-2"} - tmux_sessions(sock)))  # recreate what a valid action killed
        results = execute_decision(config, Decision("p", actions), world["snapshot"], dry_run=False,
                                   now=time.time() + n * 100_000, tuning=FAST)
        assert len(results) == len(actions)
        _assert_guarded(world, sock, tmp, actions, results)
        rejected = [r for r in results if r.status == "rejected"]
        assert [p["action_result"] for p in registry(config)].count("rejected") == len(rejected)

    try:
        check()
    finally:
        tmux_stop(sock)
    return progress.decisions


def _valid(actions: list[Any], kind: str, target: str) -> bool:
    return any(isinstance(a, dict) and a.get("type") == kind and a.get("target") == target
               and isinstance(a.get("reason"), str) and a["reason"].strip() for a in actions[:10])


def _assert_guarded(world: World, sock: Path, tmp: Path, actions: list[Any], results: list[Any]) -> None:
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
