"""kill_tmux against a real tmux server on a private socket."""

from __future__ import annotations

import time

import pytest
from helpers_actions import actions_env, registry, tmux_new, tmux_sessions, tmux_stop, use_env

from argus_cli.actions.execute import execute_decision
from argus_cli.model import Decision


@pytest.fixture
def sock(tmp_path):
    path = tmp_path / "tmux.sock"
    tmux_new(path, "web", "web-2", "api")
    assert tmux_sessions(path) == {"web", "web-2", "api"}
    yield path
    tmux_stop(path)


@pytest.fixture
def config(argus_env, tmp_path, monkeypatch, sock):
    return use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_TMUX_SOCKETS=str(sock)))


def _kill(config, target, dry_run=False):
    decision = Decision("t", [{"type": "kill_tmux", "target": target, "reason": "stuck session"}])
    return execute_decision(config, decision, None, dry_run=dry_run, now=time.time())[0]


def test_killing_web_never_kills_web_2(config, sock):
    result = _kill(config, "web")
    assert result.status == "success", result.detail
    assert tmux_sessions(sock) == {"web-2", "api"}
    assert registry(config)[0]["action_taken"] == "kill_tmux:web"


@pytest.mark.parametrize("name", ["a;touch x", "../x", "", "we", "web*", "=web", "-t", "web 2", "x" * 65, 5, None])
def test_hostile_or_unknown_names_are_rejected(config, sock, tmp_path, name):
    result = _kill(config, name)
    assert result.status == "rejected"
    assert tmux_sessions(sock) == {"web", "web-2", "api"}
    assert not (tmp_path / "x").exists()
    assert registry(config)[0]["action_result"] == "rejected"


def test_a_session_on_an_unconfigured_server_is_not_touched(argus_env, tmp_path, monkeypatch, sock):
    other = tmp_path / "other.sock"
    tmux_new(other, "db")
    try:
        config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_TMUX_SOCKETS=str(sock)))
        assert _kill(config, "db").status == "rejected"
        assert tmux_sessions(other) == {"db"}
    finally:
        tmux_stop(other)


def test_a_name_on_two_configured_servers_is_ambiguous(argus_env, tmp_path, monkeypatch, sock):
    other = tmp_path / "other.sock"
    tmux_new(other, "web")
    try:
        config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_TMUX_SOCKETS=f"{sock},{other}"))
        result = _kill(config, "web")
        assert result.status == "rejected" and "ambiguous" in result.detail
        assert "web" in tmux_sessions(other) and "web" in tmux_sessions(sock)
    finally:
        tmux_stop(other)


def test_dry_run_kills_nothing(config, sock):
    result = _kill(config, "web", dry_run=True)
    assert result.status == "skipped" and "would kill" in result.detail
    assert tmux_sessions(sock) == {"web", "web-2", "api"}
    assert not config.problems_file.exists()
