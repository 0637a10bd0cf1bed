"""SPEC conformance and operator experience, found in review: real CLI, real state, real servers."""

from __future__ import annotations

import copy
import fcntl
import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_actions import NODE_IDLE, install_systemctl, recorded, spawned, tmux, tmux_new, tmux_stop
from helpers_anthropic import FakeAnthropic, error, llm_env, tool_use
from helpers_notify import FakeTelegram, calls, install_bd, install_relay, running, stop, telegram_env

from argus_cli.cycle import run_cycle
from argus_cli.model import iso_z
from argus_cli.state.files import iter_jsonl

SCENARIOS = Path(__file__).parent / "scenarios"
START = 1_771_545_600.0  # 2026-02-20T00:00:00Z
STEP = 300


@pytest.fixture
def env(argus_env: dict[str, str]) -> dict[str, str]:
    return argus_env  # its ARGUS_HOST_ROOT is a temp dir: clean_disk may really run


def state(env: dict[str, str]) -> Path:
    return Path(env["ARGUS_STATE_DIR"])


def snapshot_source(*names: str) -> Any:
    """run_cycle(collect=...) source: the n-th cycle gets scenario names[n], stamped with the clock."""
    snaps = iter([json.loads((SCENARIOS / f"{name}.json").read_text())["snapshot"] for name in names])

    def collect(now: float) -> dict[str, Any]:
        snap = copy.deepcopy(next(snaps))
        snap["ts"] = iso_z(now)
        return snap
    return collect


# --- human output: host strings are data, never rich markup --------------------------------------

@pytest.fixture
def tmux_socket(tmp_path: Path) -> Iterator[Path]:
    sock = tmp_path / "tmux.sock"
    try:
        yield sock
    finally:
        tmux_stop(sock)


def test_collect_human_view_prints_markup_like_session_names_verbatim(env: dict[str, str], run_argus: Any,
                                                                      tmux_socket: Path) -> None:
    tmux_new(tmux_socket, "[/oops]", "[bold]x")
    assert tmux(tmux_socket, "has-session", "-t", "=[/oops]").returncode == 0
    proc = run_argus("collect", env={**env, "ARGUS_TMUX_SOCKETS": str(tmux_socket)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "[/oops](1)" in proc.stdout and "[bold]x(1)" in proc.stdout


def test_patterns_human_view_prints_markup_like_hog_names_verbatim(tmp_path: Path) -> None:
    from rich.console import Console

    from argus_cli.cli.render_reports import render_patterns, render_stats
    from argus_cli.reports.patterns import compute_patterns
    from argus_cli.reports.stats import compute_stats

    registry = tmp_path / "problems.jsonl"
    line = {"ts": iso_z(START), "severity": "critical", "type": "memory", "action_taken": "alert:telegram",
            "description": "memory 95%; hog_process=[/x],hog_pid=7", "action_result": "[/r]",
            "bead_id": None, "host": "h"}
    registry.write_text("".join(json.dumps(line) + "\n" for _ in range(3)))
    out = io.StringIO()
    console = Console(file=out, no_color=True, width=200)
    render_patterns(console, compute_patterns(registry, START + 60, 7)[0])
    render_stats(console, compute_stats(registry, START + 60, 7)[0])
    assert "memory-hog-[/x]" in out.getvalue() and "[/r]" in out.getvalue()


def test_piped_human_output_keeps_one_line_per_result(env: dict[str, str], run_argus: Any) -> None:
    decision = {"actions": [{"type": "bogus"}, {"type": "log", "observation": "x" * 150}]}
    proc = run_argus("act", "--decision", "-", "--dry-run", env=env, input=json.dumps(decision))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith("#0 bogus: rejected") and lines[1].startswith("#1 log")
    assert "x" * 150 in lines[1]


def test_a_skipped_cycle_reads_plainly(env: dict[str, str], run_argus: Any) -> None:
    state(env).mkdir(parents=True)
    fd = os.open(state(env) / "cycle.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        proc = run_argus("cycle", env=env)
    finally:
        os.close(fd)
    assert proc.returncode == 0 and "status skipped" in proc.stdout
    assert "None" not in proc.stdout


# --- pre-screen: backoff only holds back a call the pre-screen wanted ------------------------------

def test_a_nominal_cycle_during_llm_backoff_is_nominal_not_fallback(env: dict[str, str], config_of: Any) -> None:
    collect = snapshot_source("healthy", "disk_92", "healthy")
    with FakeAnthropic() as fake:
        config = config_of(llm_env(env, fake))
        first = run_cycle(config, now=START, collect=collect)          # first call: answered
        fake.queue(error(500))
        failed = run_cycle(config, now=START + STEP, collect=collect)  # notable: asked, fails
        calm = run_cycle(config, now=START + STEP + 60, collect=collect)  # as at the last answer
    assert first["decider"] == "llm" and failed["decider"] == "fallback" and failed["status"] == "fallback"
    assert len(fake.requests) == 2
    assert calm["llm_called"] is False and calm["llm_skip_reason"] == "nominal"
    assert calm["decider"] == "rules" and calm["status"] == "ok"


def test_a_notable_cycle_during_llm_backoff_still_falls_back(env: dict[str, str], config_of: Any) -> None:
    collect = snapshot_source("disk_92", "disk_92")
    with FakeAnthropic(default=lambda: error(500)) as fake:
        config = config_of(llm_env(env, fake))
        run_cycle(config, now=START, collect=collect)
        again = run_cycle(config, now=START + 60, collect=collect)  # within the 300 s rest
    assert len(fake.requests) == 1
    assert again["llm_skip_reason"] == "backoff" and again["decider"] == "fallback"
    assert [a["type"] for a in again["actions"]] == ["clean_disk", "alert"]


def test_hand_edited_llm_state_with_wrong_types_does_not_stop_the_watchdog(env: dict[str, str],
                                                                           config_of: Any) -> None:
    state(env).mkdir(parents=True)
    (state(env) / "llm-backoff.json").write_text('{"until": null, "failures": "many"}')
    (state(env) / "prescreen.json").write_text('{"last_call": "yesterday", "coarse": [], "signature": ""}')
    collect = snapshot_source("healthy", "disk_92")
    with FakeAnthropic() as fake:
        config = config_of(llm_env(env, fake))
        line = run_cycle(config, now=START, collect=collect)
        fake.queue(error(500))
        failed = run_cycle(config, now=START + STEP, collect=collect)
    assert line["status"] == "ok" and line["decider"] == "llm", line["detail"]
    assert failed["status"] == "fallback" and failed["decider"] == "fallback", failed["detail"]


# --- --dry-run changes nothing, whatever state is there ---------------------------------------------

# What a dry run may write: its audit line, its decision, its log, the CPU baseline, the lock's PID.
# A dry run records what it decided, and an LLM call it made (tokens were spent: llm.jsonl, marked dry_run).
MAY_CHANGE = {"cycles.jsonl", "last_decision.json", "logs/argus.log", "cpu-times.json", "cycle.lock", "llm.jsonl"}


def _digest(root: Path, ignore: set[str]) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and str(p.relative_to(root)) not in ignore}


def _restarts(bin_dir: Path) -> list[list[str]]:
    return [argv for argv in recorded(bin_dir, "systemctl") if argv[:1] == ["restart"]]


def test_dry_run_cycle_leaves_every_state_file_and_integration_untouched(env: dict[str, str], tmp_path: Path,
                                                                         run_argus: Any) -> None:
    bin_dir = tmp_path / "bin"
    bd, relay = install_bd(bin_dir), install_relay(bin_dir)
    install_systemctl(bin_dir)
    telegram = running(FakeTelegram())
    telegram.default = "500"  # the first cycle's alert waits in the outbox
    marker = "argus-spec-review-orphan"
    try:
        with FakeAnthropic() as fake, spawned("node", "-e", NODE_IDLE, marker) as orphan:
            env = telegram_env(llm_env(env, fake, ARGUS_ALLOWED_SERVICES="web", ARGUS_ORPHAN_PATTERN=marker,
                                       ARGUS_ORPHAN_KILL_THRESHOLD="2", ARGUS_LLM_EVERY_CYCLE="true"), telegram)
            act = [{"type": "alert", "message": "Service web is down"},
                   {"type": "restart_service", "target": "web", "reason": "down"},
                   {"type": "log", "observation": "web flapping"}]
            fake.queue(tool_use({"assessment": "web down", "actions": act}))
            assert run_argus("cycle", env=env).returncode == 0
            assert (state(env) / "outbox.jsonl").stat().st_size > 0
            assert {"dedup.json", "restart-backoff.json", "problems.jsonl"} <= {
                p.name for p in state(env).iterdir()}
            (state(env) / "cycle-state.json").write_text(json.dumps(  # a self-monitor alert is due
                {"status": "failed", "timestamp": iso_z(START), "detail": "x", "consecutive_failures": 3}))
            (state(env) / "llm-backoff.json").write_text(json.dumps(
                {"failures": 2, "until": 0, "last_error": "old", "last_failure": 0}))
            telegram.default = "ok"
            before = _digest(state(env), MAY_CHANGE)
            seen = (len(telegram.requests), len(calls(bd)), len(calls(relay)), len(_restarts(bin_dir)))
            fake.queue(tool_use({"assessment": "again", "actions": [
                *act, {"type": "kill_pid", "target": orphan.pid, "reason": "hog"},
                {"type": "clean_disk", "reason": "full"}]}))
            proc = run_argus("cycle", "--dry-run", "--json", env=env)
            assert proc.returncode == 0, proc.stderr
            assert orphan.poll() is None  # neither the sweep nor kill_pid touched it
    finally:
        stop(telegram)
    line = json.loads(proc.stdout)
    assert line["dry_run"] is True and line["llm_called"] is True and line["decider"] == "llm"
    assert line["orphan_sweep"]["killed"] == []  # its parent (this test) lives: never an orphan
    assert "self_monitor" in line and "outbox" not in line
    # kill_pid is refused when this test's node is not among the snapshot's processes, else skipped
    assert {a["status"] for a in line["actions"] if a["type"] != "kill_pid"} <= {"skipped", "suppressed"}
    assert {a["status"] for a in line["actions"] if a["type"] == "kill_pid"} <= {"skipped", "rejected"}
    assert (len(telegram.requests), len(calls(bd)), len(calls(relay)), len(_restarts(bin_dir))) == seen
    after = _digest(state(env), MAY_CHANGE)
    assert after == before
    assert json.loads((state(env) / "last_decision.json").read_text())["dry_run"] is True
    assert list(iter_jsonl(state(env) / "llm.jsonl"))[-1]["dry_run"] is True
    assert list(iter_jsonl(state(env) / "cycles.jsonl"))[-1]["dry_run"] is True


def test_cycle_json_is_only_json_even_when_integrations_complain(env: dict[str, str], run_argus: Any) -> None:
    env = {**env, "ARGUS_DISK_WARN_PCT": "1", "ARGUS_DISK_CRIT_PCT": "1", "ARGUS_BD_BIN": "no-such-bd"}
    proc = run_argus("cycle", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "ok"
    assert proc.stdout.count("\n") == 1


def test_a_hand_edited_cpu_baseline_costs_one_sample_not_the_system_section(env: dict[str, str],
                                                                             run_argus: Any) -> None:
    state(env).mkdir(parents=True)
    (state(env) / "cpu-times.json").write_text('{"ts": null, "busy": "x", "idle": 1}')
    for _ in range(2):
        snap = json.loads(run_argus("collect", "--json", env=env).stdout)
        assert snap["errors"] == [] and 0.0 <= snap["system"]["cpu_percent"] <= 100.0
    assert isinstance(json.loads((state(env) / "cpu-times.json").read_text())["ts"], float)
