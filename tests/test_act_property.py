"""Property: whatever a decider asks for, nothing outside the guardrails runs, and every
rejected action is in the registry with action_result "rejected".

The strategies, bystanders and checks live in helpers_hostile, shared with
bench/bench_hostile_decisions.py, which runs the same property on 10,000 decisions."""

from __future__ import annotations

import pytest
from helpers_actions import use_env
from helpers_hostile import bystanders, check_hostile_decisions, guarded_env


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with bystanders(tmp_path_factory.mktemp("world")) as world:
        yield world


@pytest.mark.slow
def test_nothing_outside_the_guardrails_ever_runs(world, argus_env, tmp_path, monkeypatch):
    config = use_env(monkeypatch, guarded_env(argus_env, tmp_path))
    assert check_hostile_decisions(world, config, tmp_path, max_examples=100) >= 100
