"""kill_tmux against a real tmux server on a private socket."""

from __future__ import annotations

import shutil
import time

import pytest
from conftest import write_executable
from helpers_actions import actions_env, registry, tmux_new, tmux_sessions, tmux_stop, use_env
from helpers_children import group_killed, install_hanging

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.collectors.tmux import list_sessions
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


def _kill(config, target, dry_run=False, tuning=None):
    decision = Decision("t", [{"type": "kill_tmux", "target": target, "reason": "stuck session"}])
    return execute_decision(config, decision, None, dry_run=dry_run, now=time.time(), tuning=tuning)[0]


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


def test_the_configured_tmux_runs_with_no_tmux_on_path(argus_env, tmp_path, monkeypatch, sock):
    real = shutil.which("tmux")
    calls = tmp_path / "tmux.calls"
    wrapper = write_executable(tmp_path / "opt" / "my-tmux", f'#!/bin/sh\necho "$*" >> {calls}\nexec {real} "$@"\n')
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_TMUX_SOCKETS=str(sock),
                                              ARGUS_TMUX_BIN=str(wrapper)))
    with monkeypatch.context() as patch:  # undone before the fixture stops the server with `tmux`
        (tmp_path / "empty-bin").mkdir()
        patch.setenv("PATH", str(tmp_path / "empty-bin"))
        listed = list_sessions(config, str(sock))
        result = _kill(config, "web")
    assert {s.name for s in listed.sessions} == {"web", "web-2", "api"}
    assert result.status == "success", result.detail
    assert tmux_sessions(sock) == {"web-2", "api"}
    lines = calls.read_text().splitlines()
    assert all(line.startswith(f"-S {sock} ") for line in lines)  # the server named, as configured
    assert [line.split()[2] for line in lines] == ["list-sessions", "has-session", "kill-session", "has-session"]


def test_a_hung_tmux_is_killed_with_its_group_at_the_timeout(argus_env, tmp_path, monkeypatch, sock):
    hung = install_hanging(tmp_path / "opt", "tmux")
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_TMUX_SOCKETS=str(sock),
                                              ARGUS_TMUX_BIN=str(hung)))
    started = time.monotonic()
    result = _kill(config, "web", tuning=Tuning(command_timeout=0.5))
    assert time.monotonic() - started < 5
    assert result.status == "failure"
    assert result.detail == f"tmux did not answer: {hung} timed out after 0.5s"
    assert group_killed(hung)  # the stand-in and its `sleep 30` grandchild
    assert tmux_sessions(sock) == {"web", "web-2", "api"}


# --- tmux target syntax ------------------------------------------------------------------------

def _act(config, *actions, snapshot=None):
    return execute_decision(config, Decision("t", list(actions), [], "llm"), snapshot, dry_run=False,
                            now=time.time(), tuning=Tuning(kill_grace=0.5, active_timeout=2.0, poll_interval=0.1))


@pytest.mark.parametrize("target", ["0.0", "web.0", "api."])
def test_kill_tmux_dotted_target_never_kills_a_session_of_another_name(argus_env, tmp_path, monkeypatch, sock, target):
    # tmux reads "=0.0" as window "=0", pane 0 of the current session: it killed a real session.
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_TMUX_SOCKETS=str(sock)))
    [result] = _act(config, {"type": "kill_tmux", "target": target, "reason": "stuck"})
    assert result.status == "rejected", result.detail
    assert tmux_sessions(sock) == {"web", "web-2", "api"}
