"""Every number in VARIABLES has a range the code can handle (issue 9, item 11).

ARGUS_BEAD_REPEAT_WINDOW_SECONDS=100000000000 was accepted and made every recurrence count fail
("year -1142 is out of range"). Here the whole configuration is set to the low edges, then to the
high edges, and real cycles run on it, in-process, with every integration a stand-in: the LLM,
Telegram, bd, relay and systemctl. Then the state the numbers drive is exercised directly:
recurrence counting, dedup, restart backoff, LLM backoff, reports.
"""

from __future__ import annotations

import copy
import json
import math
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from helpers_actions import install_systemctl
from helpers_anthropic import FakeAnthropic, error, llm_env, tool_use
from helpers_notify import FakeTelegram, install_bd, install_relay, running, stop, telegram_env

from argus_cli.config import VARIABLES, Config, ConfigError, Var, _range_text, load
from argus_cli.cycle import run_cycle
from argus_cli.model import iso_z
from argus_cli.snapshot import Snapshot, parse_snapshot

NUMERIC = [var for var in VARIABLES if var.kind in ("int", "float")]
SCENARIOS = Path(__file__).parent / "scenarios"
START = 1_771_545_600.0  # 2026-02-20T00:00:00Z
STEP = 300
SCRIPT = ["several_at_once", "service_down", "memory_95_node_hog", "disk_92", "stale_freshness",
          "several_at_once", "disk_92", "healthy"]
RESTART = {"type": "restart_service", "target": "web.service", "reason": "web is down"}
LLM_ACTIONS = [RESTART, {"type": "alert", "message": "Service web is down"},
               {"type": "log", "observation": "web flapping"}, {"type": "clean_disk", "reason": "disk 92%"}]


def edge_value(var: Var, edge: str) -> str:
    """The smallest or largest value ``var`` accepts (a float's low bound is exclusive)."""
    assert var.lo is not None and var.hi is not None
    if var.kind == "float":
        return repr(math.nextafter(var.lo, math.inf)) if edge == "lo" else repr(float(var.hi))
    return str(int(var.lo if edge == "lo" else var.hi))


def past_edge(var: Var, edge: str) -> str:
    assert var.lo is not None and var.hi is not None
    if var.kind == "float":
        return repr(float(var.lo)) if edge == "lo" else repr(math.nextafter(var.hi, math.inf))
    return str(int(var.lo) - 1 if edge == "lo" else int(var.hi) + 1)


def at_edge(edge: str) -> dict[str, str]:
    # every number at the same edge: the warn <= crit pairs are then equal, which is allowed
    return {var.name: edge_value(var, edge) for var in NUMERIC}


def test_every_number_has_a_range_around_its_default() -> None:
    for var in NUMERIC:
        assert var.lo is not None and var.hi is not None, var.name
        assert var.lo <= float(var.default) <= var.hi, var.name


@pytest.mark.parametrize("edge", ["lo", "hi"])
def test_each_edge_is_accepted(argus_env: dict[str, str], edge: str) -> None:
    config = load({**argus_env, **at_edge(edge)})
    for var in NUMERIC:
        assert config.values[var.name] == (float if var.kind == "float" else int)(edge_value(var, edge))


@pytest.mark.parametrize("edge", ["lo", "hi"])
@pytest.mark.parametrize("var", NUMERIC, ids=lambda var: var.name)
def test_one_past_each_edge_is_a_config_error(argus_env: dict[str, str], var: Var, edge: str) -> None:
    with pytest.raises(ConfigError) as err:
        load({**argus_env, var.name: past_edge(var, edge)})
    assert err.value.name == var.name and _range_text(var) in str(err.value)


def test_the_readme_table_states_each_range() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- config-table:start -->")[1].split("<!-- config-table:end -->")[0]
    allowed = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([A-Z_]+)` \| `[^`]*` \| ([^|]*) \|", table, re.M)}
    for var in NUMERIC:
        assert allowed[var.name] == _range_text(var), var.name


# --- real cycles at the edges ------------------------------------------------------------------

def scenario(name: str) -> dict[str, Any]:
    return json.loads((SCENARIOS / f"{name}.json").read_text())


def scripted_host(names: list[str]) -> Any:
    snaps = iter([scenario(name)["snapshot"] for name in names])

    def collect(now: float) -> Snapshot:
        snap = copy.deepcopy(next(snaps))
        snap["ts"] = iso_z(now)
        return parse_snapshot(snap)
    return collect


def edge_env(argus_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edge: str,
             **extra: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    install_bd(bin_dir)
    install_relay(bin_dir)
    install_systemctl(bin_dir)
    monkeypatch.setenv("PATH", argus_env["PATH"])  # bd, relay and systemctl are looked up in-process
    return {**argus_env, **at_edge(edge), **scenario("stale_freshness")["env"],
            "ARGUS_ALLOWED_SERVICES": "web.service",
            # a pattern no process has: with a threshold of 1 the sweep would kill real test runs
            "ARGUS_ORPHAN_PATTERN": f"argus-edge-{uuid.uuid4().hex}",
            "ARGUS_TMUX_SOCKETS": str(tmp_path / "no-tmux.sock"), **extra}


def run_script(config: Config, fake: FakeAnthropic, names: list[str], start: float) -> list[dict[str, Any]]:
    # the LLM restarts web, is then rate limited, then restarts web again whenever it is asked
    fake.queue(tool_use({"assessment": "web down", "actions": LLM_ACTIONS}), error(429, "rate_limit_error"))
    fake.default = lambda: tool_use({"assessment": "still down", "actions": [RESTART]})
    collect = scripted_host(names)
    # CYCLE_TIMEOUT=1 is a real 1 s alarm a busy test machine may miss; test_cycle covers the alarm
    return [run_cycle(config, now=start + i * STEP, collect=collect, install_signals=False)
            for i in range(len(names))]


def assert_survived(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        assert line["status"] in ("ok", "fallback"), line
        assert not any("unexpected" in str(e) or "Error" in str(e) for e in line["errors"]), line
        # an alert past the Telegram budget waits in the outbox: that is the budget working
        failed = [a for a in line["actions"] if a["status"] == "failure" and "queued in outbox" not in a["detail"]]
        assert not failed, failed


@pytest.mark.parametrize("edge", ["lo", "hi"])
def test_cycles_registry_dedup_and_backoff_work_at_each_edge(argus_env: dict[str, str], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch, edge: str) -> None:
    # MIN_FREE_MB at its top (1 TiB) trips the disk guard on any real disk: that cycle is below
    env = edge_env(argus_env, tmp_path, monkeypatch, edge, ARGUS_MIN_FREE_MB="1")
    telegram = running(FakeTelegram())
    try:
        with FakeAnthropic() as fake:
            config = load(telegram_env(llm_env(env, fake), telegram))
            lines = run_script(config, fake, SCRIPT, START)
    finally:
        stop(telegram)
    assert_survived(lines)
    assert any(line["llm_called"] for line in lines) and telegram.requests
    kinds = {a["type"] for line in lines for a in line["actions"]}
    assert {"restart_service", "alert", "log", "clean_disk"} <= kinds
    now = START + len(SCRIPT) * STEP
    exercise_registry(config, now)
    exercise_dedup(config, now)
    exercise_restart_backoff(config, now)
    exercise_llm_backoff(config)
    exercise_reports(config, now)


def test_the_disk_guard_at_its_top_edge_fails_the_cycle_cleanly(argus_env: dict[str, str], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    env = edge_env(argus_env, tmp_path, monkeypatch, "hi")
    telegram = running(FakeTelegram())
    try:
        with FakeAnthropic() as fake:
            config = load(telegram_env(llm_env(env, fake), telegram))
            line = run_cycle(config, now=START, collect=scripted_host(["healthy"]), install_signals=False)
    finally:
        stop(telegram)
    assert line["status"] == "failed" and line["detail"].startswith("disk guard: "), line
    assert line["disk_guard"]["alert"]["status"] == "success" and not line["errors"]


def exercise_registry(config: Config, now: float) -> None:
    from argus_cli.state.registry import key_for, recent_count
    problems = [json.loads(x) for x in config.problems_file.read_text().splitlines()]
    assert problems
    def key_of(problem: dict[str, Any]) -> str:  # the incident's fingerprint, else the wording's hash
        return problem.get("key") or key_for(problem["type"], problem["description"])

    key = key_of(problems[-1])
    window = config.bead_repeat_window_seconds
    expected = sum(1 for p in problems if key_of(p) == key and iso_z(now - window) <= p["ts"] <= iso_z(now))
    assert recent_count(config, key, window, now) == expected


def exercise_dedup(config: Config, now: float) -> None:
    from argus_cli.state import dedup
    window, retention = config.dedup_window, config.dedup_retention_seconds
    dedup.note(config, "edge:a", now, sent=True)
    assert dedup.is_suppressed(config, "edge:a", now + window - 0.5)
    assert not dedup.is_suppressed(config, "edge:a", now + window)
    dedup.note(config, "edge:b", now + retention + 1, sent=True)  # compacts edge:a away
    assert not dedup.is_suppressed(config, "edge:a", now + retention + 1)


def exercise_restart_backoff(config: Config, now: float) -> None:
    from argus_cli.state import backoff
    second, third = config.restart_backoff_second_delay, config.restart_backoff_third_delay
    unit, t = "edge.service", now
    for attempt, wait in ((1, 0), (2, second), (3, third)):
        t += wait
        verdict = backoff.check(config, unit, t)
        assert verdict.allowed and verdict.attempt == attempt, verdict
        backoff.record_attempt(config, unit, t)
    assert not backoff.check(config, unit, t + 1).allowed or second + third == 0
    loop = backoff.check(config, unit, t + max(second, third))
    assert loop.loop and not loop.allowed
    until = backoff.start_cooldown(config, unit, t)
    assert until == t + config.restart_cooldown_seconds
    assert "cooldown until" in backoff.check(config, unit, until - 1).detail
    assert backoff.check(config, unit, until).allowed


def exercise_llm_backoff(config: Config) -> None:
    from argus_cli.decide.prescreen import backoff_delay
    base, cap = config.llm_backoff_base_seconds, config.llm_backoff_max_seconds
    for failures in (1, 2, 10, 31, 1000):
        assert backoff_delay(config, failures, False) == min(cap, base * 2 ** min(failures - 1, 30))
        assert backoff_delay(config, failures, True) >= config.llm_rate_limit_min_seconds


def exercise_reports(config: Config, now: float) -> None:
    from argus_cli.reports.summary import collect
    stats, analysis, _ = collect(config, now)
    assert stats and isinstance(analysis, dict)
