"""Pre-screen decisions and LLM backoff arithmetic, on real state files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from helpers_anthropic import FakeAnthropic, error, llm_env

from argus_cli.cycle import run_cycle
from argus_cli.decide import prescreen
from argus_cli.decide.rules import findings
from argus_cli.model import iso_z
from argus_cli.snapshot import Snapshot, parse_snapshot

SCENARIOS = Path(__file__).parent / "scenarios"
NOW = 1_771_590_000.0


def raw(name: str = "healthy") -> dict[str, Any]:
    return json.loads((SCENARIOS / f"{name}.json").read_text())["snapshot"]


def snap(name: str = "healthy") -> Snapshot:
    return parse_snapshot(raw(name))


def gate(config: Any, snapshot: Snapshot, override: str | None = None, now: float = NOW) -> prescreen.Gate:
    return prescreen.gate(config, snapshot, findings(snapshot, config), now=now, override=override)


@pytest.mark.parametrize(("extra", "override", "expected"), [
    ({}, None, ("no_api_key", False)),                        # auto without a key: the rules, by design
    ({}, "llm", ("no_api_key", True)),                        # llm asked for, no key: a fallback
    ({"ANTHROPIC_API_KEY": "k"}, "rules", ("decider_rules", False)),
    ({"ANTHROPIC_API_KEY": "k", "ARGUS_DECIDER": "rules"}, None, ("decider_rules", False)),
])
def test_who_decides_without_asking(extra: dict[str, str], override: str | None, expected: tuple[str, bool],
                                    argus_env: dict[str, str], config_of: Any) -> None:
    result = gate(config_of({**argus_env, **extra}), snap(), override)
    assert not result.call and (result.skip_reason, result.fallback) == expected


def test_reasons_to_ask(argus_env: dict[str, str], config_of: Any) -> None:
    env = {**argus_env, "ANTHROPIC_API_KEY": "k"}
    config = config_of(env)
    assert gate(config, snap()).reason == "first_call"
    prescreen.record_success(config, snap(), findings(snap(), config), NOW)
    assert gate(config, snap(), now=NOW + 300).reason == "nominal"
    assert gate(config, snap("memory_85"), now=NOW + 300).reason == "notable"
    assert gate(config, snap(), now=NOW + 21600).reason == "heartbeat"
    assert gate(config_of({**env, "ARGUS_LLM_EVERY_CYCLE": "true"}), snap(), now=NOW + 300).reason == "every_cycle"
    orphans = snap("orphans_present")  # swept deterministically: not a reason to ask
    assert gate(config, orphans, now=NOW + 300).reason == "nominal"


def test_jitter_is_not_a_material_change_but_drift_is(argus_env: dict[str, str], config_of: Any) -> None:
    config = config_of({**argus_env, "ANTHROPIC_API_KEY": "k"})
    prescreen.record_success(config, snap(), findings(snap(), config), NOW)  # memory 42%, disk 35%
    for memory, disk, expected in ((49.0, 39.0, "nominal"), (35.0, 31.0, "nominal"),
                                   (57.0, 35.0, "changed"), (42.0, 45.0, "changed")):
        later = raw()
        later["memory"]["percent"], later["disks"][0]["percent"] = memory, disk
        assert gate(config, parse_snapshot(later), now=NOW + 300).reason == expected, (memory, disk)
    service_state = raw()
    service_state["services"][1]["status"] = "unknown"  # a blind spot is a finding of its own
    assert gate(config, parse_snapshot(service_state), now=NOW + 300).reason == "notable"


def test_backoff_doubles_caps_and_respects_rate_limits(argus_env: dict[str, str], config_of: Any) -> None:
    config = config_of(argus_env)
    assert [prescreen.backoff_delay(config, n, False) for n in range(1, 8)] == [
        300, 600, 1200, 2400, 4800, 7200, 7200]
    assert prescreen.backoff_delay(config, 1, True) == 1800
    assert prescreen.backoff_delay(config, 6, True) == 7200
    assert prescreen.backoff_delay(config, 10_000, False) == 7200  # no overflow however long it lasts


def test_a_corrupt_backoff_file_is_set_aside_not_fatal(argus_env: dict[str, str], config_of: Any,
                                                       capsys: Any, state_owner: None) -> None:
    config = config_of({**argus_env, "ANTHROPIC_API_KEY": "k"})
    config.state_dir.mkdir(parents=True)
    (config.state_dir / "llm-backoff.json").write_text("{torn")
    assert gate(config, snap()).reason == "first_call"
    assert list(config.state_dir.glob("llm-backoff.json.corrupt-*"))
    assert "corrupt" in capsys.readouterr().err


# --- backoff only holds back a call the pre-screen wanted: whole cycles, in-process -------------

START = 1_771_545_600.0  # 2026-02-20T00:00:00Z
STEP = 300


@pytest.fixture
def env(argus_env: dict[str, str]) -> dict[str, str]:
    return argus_env  # its ARGUS_HOST_ROOT is a temp dir: clean_disk may really run


def state(env: dict[str, str]) -> Path:
    return Path(env["ARGUS_STATE_DIR"])


def snapshot_source(*names: str) -> Any:
    """run_cycle(collect=...) source: the n-th cycle gets scenario names[n], stamped with the clock."""
    snaps = iter([raw(name) for name in names])

    def collect(now: float) -> Snapshot:
        snap = copy.deepcopy(next(snaps))
        snap["ts"] = iso_z(now)
        return parse_snapshot(snap)
    return collect


def test_a_nominal_cycle_during_llm_backoff_is_nominal_not_fallback(env: dict[str, str], config_of: Any,
                                                                    anthropic_api: FakeAnthropic) -> None:
    collect = snapshot_source("healthy", "disk_92", "healthy")
    config = config_of(llm_env(env, anthropic_api))
    first = run_cycle(config, now=START, collect=collect)          # first call: answered
    anthropic_api.queue(error(500))
    failed = run_cycle(config, now=START + STEP, collect=collect)  # notable: asked, fails
    calm = run_cycle(config, now=START + STEP + 60, collect=collect)  # as at the last answer
    assert first["decider"] == "llm" and failed["decider"] == "fallback" and failed["status"] == "fallback"
    assert len(anthropic_api.requests) == 2
    assert calm["llm_called"] is False and calm["llm_skip_reason"] == "nominal"
    assert calm["decider"] == "rules" and calm["status"] == "ok"


def test_a_notable_cycle_during_llm_backoff_still_falls_back(env: dict[str, str], config_of: Any,
                                                             anthropic_api: FakeAnthropic) -> None:
    collect = snapshot_source("disk_92", "disk_92")
    anthropic_api.default = lambda: error(500)
    config = config_of(llm_env(env, anthropic_api))
    run_cycle(config, now=START, collect=collect)
    again = run_cycle(config, now=START + 60, collect=collect)  # within the 300 s rest
    assert len(anthropic_api.requests) == 1
    assert again["llm_skip_reason"] == "backoff" and again["decider"] == "fallback"
    assert [a["type"] for a in again["actions"]] == ["clean_disk", "alert"]


def test_hand_edited_llm_state_with_wrong_types_does_not_stop_the_watchdog(env: dict[str, str], config_of: Any,
                                                                           anthropic_api: FakeAnthropic) -> None:
    state(env).mkdir(parents=True)
    (state(env) / "llm-backoff.json").write_text('{"until": null, "failures": "many"}')
    (state(env) / "prescreen.json").write_text('{"last_call": "yesterday", "coarse": [], "signature": ""}')
    collect = snapshot_source("healthy", "disk_92")
    config = config_of(llm_env(env, anthropic_api))
    line = run_cycle(config, now=START, collect=collect)
    anthropic_api.queue(error(500))
    failed = run_cycle(config, now=START + STEP, collect=collect)
    assert line["status"] == "ok" and line["decider"] == "llm", line["detail"]
    assert failed["status"] == "fallback" and failed["decider"] == "fallback", failed["detail"]
