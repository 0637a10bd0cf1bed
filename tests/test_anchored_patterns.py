"""Validation patterns end in \\Z: "$" also matches before a trailing newline (issue 9, item 14)."""

from __future__ import annotations

import pytest
from helpers_actions import actions_env, use_env

from argus_cli.actions.guardrails import PID_TEXT, TMUX_NAME, Rejection, parse
from argus_cli.config import UNIT_NAME


@pytest.mark.parametrize(("pattern", "good"), [(UNIT_NAME, "web"), (UNIT_NAME, "worker@1.service"),
                                               (TMUX_NAME, "web"), (PID_TEXT, "12")],
                         ids=["unit", "templated-unit", "tmux", "pid"])
def test_a_trailing_newline_is_refused(pattern, good):
    assert pattern.match(good)
    for bad in (good + "\n", good + "\r\n", "\n" + good):
        assert pattern.match(bad) is None, repr(bad)


@pytest.fixture
def config(argus_env, tmp_path, monkeypatch):
    return use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_ALLOWED_SERVICES="web"))


@pytest.mark.parametrize(("raw", "why"), [
    ({"type": "restart_service", "target": "web\n", "reason": "x"}, "not a systemd unit name"),
    ({"type": "kill_tmux", "target": "web\n", "reason": "x"}, "not a tmux session name"),
    ({"type": "kill_pid", "target": "12\n", "reason": "x"}, "not an integer PID"),
])
def test_actions_with_a_trailing_newline_are_rejected(config, raw, why):
    rejection = parse(raw, 0, config)
    assert isinstance(rejection, Rejection) and why in rejection.reason
