"""A simulated day: 288 cycles at five-minute steps, in-process, with an injected clock.

Everything is real (state files, lock, orphan sweep, the anthropic SDK against a local Messages
API stand-in) except the snapshot, which is supplied per cycle so the host's condition can be
scripted; that is what ``run_cycle(collect=...)`` is for.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers_anthropic import FakeAnthropic, error, llm_env

from argus_cli.cycle import run_cycle
from argus_cli.model import iso_z
from argus_cli.snapshot import Snapshot, parse_snapshot
from argus_cli.state.files import iter_jsonl

STEP = 300
CYCLES = 288
START = 1_771_545_600.0  # 2026-02-20T00:00:00Z
SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.fixture
def sandbox(argus_env: dict[str, str]) -> dict[str, str]:
    return argus_env  # clean_disk really runs when the disk is full: its host root is a temp dir


def scenario(name: str) -> dict[str, Any]:
    return json.loads((SCENARIOS / f"{name}.json").read_text())["snapshot"]


def host(script: Callable[[int], str]) -> Callable[[float], Snapshot]:
    """A snapshot source: cycle number -> scenario name, with the clock's timestamp."""
    snaps = {name: scenario(name) for name in ("healthy", "disk_92")}

    def collect(now: float) -> Snapshot:
        snap = copy.deepcopy(snaps[script(int((now - START) // STEP))])
        snap["ts"] = iso_z(now)
        return parse_snapshot(snap)
    return collect


def run_day(env: dict[str, str], config_of: Any, script: Callable[[int], str]) -> list[dict[str, Any]]:
    config = config_of(env)
    collect = host(script)
    return [run_cycle(config, now=START + i * STEP, collect=collect) for i in range(CYCLES)]


def called_at(lines: list[dict[str, Any]]) -> list[int]:
    return [i for i, line in enumerate(lines) if line["llm_called"]]


def test_healthy_day_asks_the_llm_only_at_heartbeats(sandbox: dict[str, str], config_of: Any) -> None:
    with FakeAnthropic() as fake:
        lines = run_day(llm_env(sandbox, fake), config_of, lambda i: "healthy")
    calls = called_at(lines)
    assert calls == [0, 72, 144, 216]  # first cycle, then every 21600 s
    assert len(calls) <= 6 and len(fake.requests) == len(calls)
    assert [lines[i]["llm_reason"] for i in calls] == ["first_call", "heartbeat", "heartbeat", "heartbeat"]
    assert all(line["status"] == "ok" for line in lines)
    assert {line["llm_skip_reason"] for i, line in enumerate(lines) if i not in calls} == {"nominal"}
    assert lines[0]["decider"] == "llm" and lines[0]["usage"] == {"input_tokens": 1200, "output_tokens": 85}
    on_disk = list(iter_jsonl(Path(sandbox["ARGUS_STATE_DIR"]) / "cycles.jsonl"))
    assert len(on_disk) == CYCLES and on_disk[-1]["ts"] == iso_z(START + (CYCLES - 1) * STEP)


def test_a_condition_appearing_mid_day_is_asked_about_that_cycle(sandbox: dict[str, str],
                                                                  config_of: Any) -> None:
    # Disk fills at cycle 100 and is fixed at cycle 106.
    with FakeAnthropic() as fake:
        lines = run_day(llm_env(sandbox, fake), config_of, lambda i: "disk_92" if 100 <= i < 106 else "healthy")
    calls = called_at(lines)
    assert 100 in calls and lines[100]["llm_reason"] == "notable"
    assert all(i in calls for i in range(100, 106))  # notable: asked while it lasts
    assert lines[106]["llm_reason"] == "changed"  # the recovery is a material change too
    # Back to nominal: the next call is the heartbeat, 21600 s after the last call.
    assert [i for i in calls if i > 106] == [106 + 72, 106 + 144]
    assert calls[:3] == [0, 72, 100] and len(fake.requests) == len(calls)


def test_with_the_llm_down_every_cycle_falls_back_and_backs_off(sandbox: dict[str, str],
                                                                config_of: Any) -> None:
    with FakeAnthropic(default=lambda: error(500)) as fake:
        lines = run_day(llm_env(sandbox, fake), config_of, lambda i: "disk_92" if i >= 200 else "healthy")
    assert {line["status"] for line in lines} == {"fallback"}  # the cycle itself never fails
    assert {line["decider"] for line in lines} == {"fallback"}
    calls = called_at(lines)
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    # 300 s doubling to the 7200 s cap, in five-minute cycles: 1, 2, 4, 8, 16, then 24 for good.
    assert gaps[:5] == [1, 2, 4, 8, 16] and set(gaps[5:]) == {24}
    assert len(fake.requests) == len(calls)
    assert {lines[i]["llm_skip_reason"] for i in range(CYCLES) if i not in calls} == {"backoff"}
    # The rules kept guarding the host: the full disk got its clean_disk + alert without the LLM.
    assert [a["type"] for a in lines[200]["actions"]] == ["clean_disk", "alert"]


def test_rate_limit_rests_at_least_the_minimum(sandbox: dict[str, str], config_of: Any) -> None:
    with FakeAnthropic() as fake:
        fake.queue(error(429, "rate_limit_error"))
        config = config_of(llm_env(sandbox, fake))
        collect = host(lambda i: "disk_92")
        lines = [run_cycle(config, now=START + i * STEP, collect=collect) for i in range(8)]
    assert called_at(lines) == [0, 6, 7]  # 1800 s = six cycles of rest after the 429
    assert lines[0]["status"] == "fallback" and lines[6]["status"] == "ok" and lines[6]["decider"] == "llm"
