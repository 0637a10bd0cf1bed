"""Blind spots and health against a failing host, a careless operator and hand edits (from a
red-team review of issue 12): each test failed before its fix."""
from __future__ import annotations

import json
import time
from typing import Any

import msgspec
from helpers_anthropic import FakeAnthropic, error, llm_env
from helpers_notify import telegram_env
from test_blind_spots import QUIET_HOST, START, STEP, healthy, run, telegram

from argus_cli.cycle import run_cycle
from argus_cli.decide import prescreen
from argus_cli.model import iso_z
from argus_cli.snapshot import CollectorError
from argus_cli.state.layout import LLM_BACKOFF, LlmBackoff


def test_degraded_decider_never_ends_once_the_llm_is_switched_off(argus_env, config_of):
    """Operator answers 'decider degraded' by turning the LLM off: the incident must not stay open
    (health warning for ever, a reminder every ARGUS_REPEAT_INTERVAL)."""
    with telegram() as server, FakeAnthropic(lambda: error(401, "authentication_error", "invalid x-api-key")) as fake:
        env = llm_env(telegram_env({**argus_env}, server), fake, ARGUS_LLM_EVERY_CYCLE="true")
        broken = run(config_of(env), 16, collect=healthy)
        assert any(line["incidents"]["opened"] == ["decider degraded"] for line in broken)
        rules = run(config_of({**env, "ARGUS_DECIDER": "rules"}), 120, start=START + 16 * STEP, collect=healthy)
    reminders = [t for t in server.order if "LLM decider degraded" in t]
    assert (len(reminders), rules[-1]["health"]) == (1, "ok"), reminders


def test_stale_failing_since_pages_on_the_first_failure_weeks_later(argus_env, config_of):
    """failing_since outlives the failures when the LLM stops being asked (ARGUS_DECIDER=rules,
    key removed): re-enabled a month later, one failure is 'degraded for 720 h' at once."""
    config = config_of(argus_env)
    now = 2_000_000_000.0
    prescreen.record_failure(config, "401", False, now - 30 * 86400)
    prescreen.record_failure(config, "529 overloaded", False, now)
    assert prescreen.degraded(config, now) is None


def test_failing_since_in_the_future_silences_degraded_for_ever(argus_env, config_of):
    """A clock set back (or a hand edit) leaves failing_since ahead of now; record_failure keeps it,
    so hours of failures never make the decider degraded."""
    config = config_of(argus_env)
    now = 2_000_000_000.0
    LLM_BACKOFF.write(config.state_dir, LlmBackoff(1, now, 300, "x", now, False, now + 86400 * 365))
    for i in range(1, 30):
        prescreen.record_failure(config, "timeout", False, now + i * 300)
    assert prescreen.degraded(config, now + 29 * 300) is not None


def test_hostile_failing_since_values_do_not_crash(argus_env, config_of):
    config = config_of(argus_env)
    for since in (-(2**63), 2**63 - 1, 1e308, -1e308, 0):
        path = LLM_BACKOFF.path(config.state_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"failures": 2**63 - 1, "until": 0, "failing_since": since}))
        prescreen.degraded(config, 2_000_000_000.0)
        prescreen.record_failure(config, "x", False, 2_000_000_000.0)


def test_a_collector_failing_every_other_cycle_is_told(argus_env, config_of):
    """A collector that fails half the time never holds 2 cycles in a row; one clean cycle must
    not reset its streak, or it is blind half the time, for ever, and never told."""
    def collect(now: float) -> Any:
        snap = healthy(now)
        if int((now - START) / STEP) % 2:
            snap = msgspec.structs.replace(snap, disks=(),
                                           errors=(CollectorError(collector="disks", error="timed out"),))
        return snap
    with telegram() as server:
        config = config_of(telegram_env({**argus_env, **QUIET_HOST}, server))
        lines = run(config, 48, collect=collect)  # four hours
    assert [line["health"] for line in lines].count("blind") >= 24
    assert [t for t in server.order if "Collector disks failed" in t][:1], server.order


def test_status_with_a_future_cycle_is_never_stale(argus_env, config_of, run_argus):
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    run_cycle(config, now=time.time() + 30 * 86400, collect=healthy, install_signals=False)  # clock was ahead
    result = run_argus("status", env={**argus_env, "ARGUS_DECIDER": "rules"})
    assert result.returncode != 0, result.stdout


def test_status_prints_hostile_incident_subjects_raw(argus_env, config_of, run_argus):
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    run_cycle(config, now=time.time(), collect=healthy, install_signals=False)
    inc = {"id": "x", "subject": "service:\x1b]0;pwned\x07\x1b[2J", "condition": "down", "severity": "critical",
           "worst": "critical", "text": "t", "opened": 1, "last_seen": 1}
    (config.state_dir / "incidents.json").write_text(json.dumps({"open": {"k": inc}}))
    out = run_argus("status", env={**argus_env, "ARGUS_DECIDER": "rules"}).stdout
    assert "\x1b" not in out and "\x07" not in out


def test_status_hostile_cycle_lines(argus_env, config_of, run_argus):
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    config.state_dir.mkdir(parents=True, exist_ok=True)
    base = {"ts": iso_z(time.time()), "status": "ok", "actions": [], "errors": []}
    lines = [{**base, "health": ["critical"]}, {**base, "health": {"a": 1}}, {**base, "health": 1e308},
             {**base, "health": "ok", "ts": "0001-01-01T00:00:00"}, {**base, "health": "ok", "decider": "\x1b[31mllm"},
             {**base, "health": "x" * 10_000_000}]
    bad = []
    for line in lines:
        (config.state_dir / "cycles.jsonl").write_text(json.dumps(line) + "\n")
        r = run_argus("status", env={**argus_env, "ARGUS_DECIDER": "rules"})
        assert r.returncode in (0, 1, 2) and "Traceback" not in r.stderr, (line.get("health"), r.stderr[-500:])
        if "\x1b" in r.stdout:
            bad.append(("escape", r.stdout))
        if line.get("ts") == "0001-01-01T00:00:00" and (r.returncode != 2 or " OK" in r.stdout):
            bad.append(("unreadable ts", r.returncode, r.stdout))  # no time proves no recent cycle
    assert not bad, bad


def test_huge_error_list_bounds_the_incident_and_alert(argus_env, config_of):
    def collect(now: float) -> Any:
        errs = tuple(CollectorError(collector="disks", error=f"/mnt/{i}: " + "E" * 280) for i in range(2000))
        return msgspec.structs.replace(healthy(now), errors=errs)
    with telegram() as server:
        config = config_of(telegram_env({**argus_env, **QUIET_HOST}, server))
        run(config, 3, collect=collect)
    size = (config.state_dir / "incidents.json").stat().st_size
    cyc = (config.state_dir / "cycles.jsonl").stat().st_size
    assert size < 100_000 and cyc < 300_000, (size, cyc)
    assert max(map(len, server.order)) <= 4096
