"""Parsing and rejection of requested actions; how a decision runs as a whole."""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

import pytest
from helpers_actions import actions_env, registry, use_env

from argus_cli.actions.execute import execute_decision
from argus_cli.actions.guardrails import (
    REASON_MAX,
    TEXT_MAX,
    Alert,
    CleanDisk,
    KillPid,
    KillTmux,
    Log,
    Rejection,
    RestartService,
    parse,
)
from argus_cli.actions.registry import SPECS
from argus_cli.decide.schema import DECISION_SCHEMA
from argus_cli.model import ACTION_TYPES, ACTIONS, PROBLEM_TYPES, Decision


@pytest.fixture
def config(argus_env, tmp_path, monkeypatch):
    return use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_ALLOWED_SERVICES="web.service"))


@pytest.mark.parametrize(("raw", "expected"), [
    ({"type": "restart_service", "target": "web.service", "reason": " down ", "extra": "$(x)"},
     RestartService("web.service", "down", "service:web")),  # no subject named: the one its target implies
    ({"type": "kill_pid", "target": "4242", "reason": "hog"}, KillPid(4242, "hog", "process:4242")),
    ({"type": "kill_pid", "target": 4242, "reason": "hog"}, KillPid(4242, "hog", "process:4242")),
    ({"type": "kill_tmux", "target": "web-2.x_y", "reason": "stuck"}, KillTmux("web-2.x_y", "stuck", "tmux:web-2.x_y")),
    ({"type": "clean_disk", "reason": "disk 95%", "target": "/etc"}, CleanDisk("disk 95%", "disk:/")),
    ({"type": "alert", "message": "hi"}, Alert("hi")),
    ({"type": "log", "observation": "load high"}, Log("load high")),
])
def test_valid_actions_are_rebuilt_from_checked_fields(config, raw, expected):
    assert parse(raw, 0, config) == expected


@pytest.mark.parametrize(("raw", "why"), [
    ("kill everything", "must be an object"),
    ({"type": "shell", "target": "rm -rf /"}, "unknown action type"),
    ({"type": ["alert"]}, "unknown action type"),
    ({"target": "web"}, "unknown action type"),
    ({"type": "restart_service", "target": "web.service"}, "reason is required"),
    ({"type": "restart_service", "target": "web.service", "reason": "   "}, "non-empty"),
    ({"type": "restart_service", "target": "ssh.service", "reason": "x"}, "ARGUS_ALLOWED_SERVICES"),
    ({"type": "kill_pid", "target": 1, "reason": "x"}, "out of range"),
    ({"type": "kill_pid", "target": "1e3", "reason": "x"}, "not an integer"),
    ({"type": "kill_pid", "target": 12.0, "reason": "x"}, "not an integer"),
    ({"type": "kill_pid", "target": False, "reason": "x"}, "not an integer"),
    ({"type": "kill_pid", "target": 99, "reason": 5}, "non-empty string"),
    ({"type": "kill_tmux", "target": "a;touch x", "reason": "x"}, "not a tmux session name"),
    ({"type": "kill_tmux", "target": "web"}, "reason is required"),
    ({"type": "clean_disk"}, "reason is required"),
    ({"type": "alert", "message": ""}, "non-empty"),
    ({"type": "alert"}, "non-empty"),
    ({"type": "log", "observation": {"a": 1}}, "non-empty"),
])
def test_invalid_actions_are_rejected_with_a_reason(config, raw, why):
    rejection = parse(raw, 0, config)
    assert isinstance(rejection, Rejection)
    assert why in rejection.reason


def test_only_the_first_ten_actions_may_run(config):
    actions = [{"type": "log", "observation": f"note {i}"} for i in range(13)]
    results = execute_decision(config, Decision("t", actions), None, dry_run=False, now=time.time())
    assert [r.status for r in results] == ["success"] * 10 + ["rejected"] * 3
    assert "beyond the first 10" in results[12].detail
    assert [p["action_result"] for p in registry(config)].count("rejected") == 3


def test_valid_actions_of_a_decision_still_run_beside_rejected_ones(config):
    actions = [{"type": "reboot"}, {"type": "log", "observation": "disk at 85%"},
               {"type": "kill_pid", "target": "abc", "reason": "x"}]
    results = execute_decision(config, Decision("t", actions), None, dry_run=False, now=time.time())
    assert [r.status for r in results] == ["rejected", "success", "rejected"]
    lines = registry(config)
    assert [p["action_result"] for p in lines] == ["rejected", "success", "rejected"]
    assert lines[0]["action_taken"] == "reboot:-" and lines[2]["action_taken"] == "kill_pid:abc"
    assert lines[2]["type"] == "process" and lines[2]["severity"] == "warning"


def test_should_stop_skips_the_rest_as_interrupted(config):
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 1
    actions = [{"type": "log", "observation": f"n{i}"} for i in range(3)]
    results = execute_decision(config, Decision("t", actions), None, dry_run=False, now=time.time(),
                               should_stop=stop)
    assert [(r.status, r.detail) for r in results][1:] == [("skipped", "interrupted")] * 2
    assert len(registry(config)) == 1


def test_dry_run_validates_everything_and_writes_nothing(config):
    actions = [{"type": "log", "observation": "x"}, {"type": "nope"}, {"type": "alert", "message": "down"},
               {"type": "clean_disk", "reason": "disk"}, {"type": "restart_service", "target": "web.service",
                                                         "reason": "down"}]
    results = execute_decision(config, Decision("t", actions), None, dry_run=True, now=time.time())
    assert [r.status for r in results] == ["skipped", "rejected", "skipped", "skipped", "skipped"]
    assert all(r.dry_run for r in results)
    assert not config.state_dir.exists() or list(config.state_dir.iterdir()) == []


def test_problem_types_and_severities_are_inferred_from_alert_text(config):
    texts = {"Disk space low on /": ("disk", "info"), "OOM killer fired, rss high": ("memory", "warning"),
             "swap usage": ("swap", "info"), "gateway unreachable": ("service", "critical"),
             "something odd": ("process", "info")}
    actions = [{"type": "log", "observation": text} for text in texts]
    execute_decision(config, Decision("t", actions), None, dry_run=False, now=time.time())
    assert [(p["type"], p["severity"]) for p in registry(config)] == list(texts.values())


def test_a_rejected_action_is_typed_from_its_own_fields_never_from_the_reason(config):
    # The reason for an unknown type lists "clean_disk"; a hostile decider must not be able to
    # file garbage as disk problems (and so feed the disk-pressure pattern).
    typed = [({"type": "bogus"}, "process"), ({"type": "shell", "target": "rm -rf /tmp"}, "process"),
             ({"type": "bogus", "message": "disk full"}, "process"), ({"type": ["alert"]}, "process"),
             ("kill everything", "process"), ({"type": "log", "observation": {"a": 1}}, "process"),
             ({"type": "alert", "message": "   "}, "process"), ({"type": "clean_disk"}, "disk"),
             ({"type": "restart_service", "target": "ssh.service", "reason": "x"}, "service"),
             ({"type": "kill_tmux", "target": "a;b", "reason": "cache"}, "process"),
             ({"type": "alert", "message": "swap nearly full"}, "swap")]  # the 11th: beyond the limit
    results = execute_decision(config, Decision("t", [raw for raw, _ in typed]), None, dry_run=False,
                               now=time.time())
    assert [r.status for r in results] == ["rejected"] * len(typed)
    assert [p["type"] for p in registry(config)] == [kind for _, kind in typed]


def test_the_action_table_is_complete():
    """One entry per action type: a kind the decider sees, a request type, a parser, a runner."""
    assert list(SPECS) == list(ACTIONS) == list(ACTION_TYPES)
    for name, spec in SPECS.items():
        fields = {f.name for f in dataclasses.fields(spec.request)}
        assert spec.kind is ACTIONS[name] and spec.request.type == name, name
        assert callable(spec.request.parse) and callable(spec.run), name
        assert spec.kind.problem_type in PROBLEM_TYPES and spec.kind.description, name
        assert spec.kind.changes_host == ("reason" in fields), name  # a host change must say why
        assert spec.kind.text_field is None or spec.kind.text_field in fields, name
        assert spec.kind.changes_host != bool(spec.kind.text_field and spec.kind.text), name


def test_the_decider_schema_is_built_from_the_table():
    items = DECISION_SCHEMA["properties"]["actions"]["items"]["properties"]
    assert items["type"]["enum"] == list(ACTION_TYPES)
    assert all(f"{name}: {kind.description}" in items["type"]["description"] for name, kind in ACTIONS.items())
    assert items["reason"]["description"] == "Required for restart_service, kill_pid, kill_tmux, clean_disk"
    assert items["target"]["description"] == "restart_service: unit; kill_pid: PID; kill_tmux: session name"
    assert {kind.text_field for kind in ACTIONS.values() if kind.text_field} == {"message", "observation"}


def test_the_prompt_lists_every_action_type():
    prompt = (Path(__file__).resolve().parent.parent / "argus_cli" / "prompt.md").read_text()
    assert re.findall(r"^\| `([a-z_]+)` \|", prompt, re.MULTILINE) == list(ACTION_TYPES)


@pytest.mark.parametrize(("build", "why"), [
    (lambda: RestartService("-web.service", "x"), "not a systemd unit name"),
    (lambda: RestartService("web.service", None), "reason is required for restart_service"),
    (lambda: KillPid(1, "x"), "out of range"),
    (lambda: KillPid("42", "x"), "not an integer PID"),
    (lambda: KillPid(True, "x"), "not an integer PID"),
    (lambda: KillTmux("web\n", "x"), "not a tmux session name"),
    (lambda: KillTmux("web", " stuck "), "must be trimmed"),
    (lambda: KillTmux("web", "x" * (REASON_MAX + 1)), "at most 500"),
    (lambda: CleanDisk("   "), "non-empty"),
    (lambda: Alert(""), "non-empty"),
    (lambda: Alert("\ud83d"), "valid UTF-8"),
    (lambda: Log("x" * (TEXT_MAX + 1)), "at most 4096"),
])
def test_a_request_with_an_invalid_field_cannot_be_built(build, why):
    """The request types check themselves: an unchecked request cannot reach a runner."""
    with pytest.raises(ValueError, match=why):
        build()


def test_a_request_cannot_claim_another_type():
    with pytest.raises(TypeError):
        CleanDisk("disk full", type="kill_pid")  # type: ignore[call-arg]
