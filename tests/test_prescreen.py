"""Pre-screen decisions and LLM backoff arithmetic, on real state files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from argus_cli.decide import prescreen
from argus_cli.decide.rules import findings

SCENARIOS = Path(__file__).parent / "scenarios"
NOW = 1_771_590_000.0


def snap(name: str = "healthy") -> dict[str, Any]:
    return json.loads((SCENARIOS / f"{name}.json").read_text())["snapshot"]


def gate(config: Any, snapshot: dict[str, Any], override: str | None = None, now: float = NOW) -> prescreen.Gate:
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
        later = snap()
        later["memory"]["percent"], later["disks"][0]["percent"] = memory, disk
        assert gate(config, later, now=NOW + 300).reason == expected, (memory, disk)
    service_state = snap()
    service_state["services"][1]["status"] = "unknown"
    assert gate(config, service_state, now=NOW + 300).reason == "changed"


def test_backoff_doubles_caps_and_respects_rate_limits(argus_env: dict[str, str], config_of: Any) -> None:
    config = config_of(argus_env)
    assert [prescreen.backoff_delay(config, n, False) for n in range(1, 8)] == [
        300, 600, 1200, 2400, 4800, 7200, 7200]
    assert prescreen.backoff_delay(config, 1, True) == 1800
    assert prescreen.backoff_delay(config, 6, True) == 7200
    assert prescreen.backoff_delay(config, 10_000, False) == 7200  # no overflow however long it lasts


def test_a_corrupt_backoff_file_is_set_aside_not_fatal(argus_env: dict[str, str], config_of: Any,
                                                       capsys: Any) -> None:
    config = config_of({**argus_env, "ANTHROPIC_API_KEY": "k"})
    config.state_dir.mkdir(parents=True)
    (config.state_dir / prescreen.BACKOFF_FILE).write_text("{torn")
    assert gate(config, snap()).reason == "first_call"
    assert list(config.state_dir.glob("llm-backoff.json.corrupt-*"))
    assert "corrupt" in capsys.readouterr().err
