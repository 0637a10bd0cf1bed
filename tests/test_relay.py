"""Relay publishing through a stand-in ``relay`` on PATH, and the fallback file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers_notify import calls, install_relay, set_mode, wait_dead

from argus_cli.config import Config, load
from argus_cli.model import Problem
from argus_cli.notify.relay import MAX_BODY_BYTES, SUMMARY_TAGS, publish_problem, send_relay

PROBLEM = Problem(ts="2026-02-20T10:00:00Z", severity="critical", type="service",
                  description="[web1] gateway down; $(touch pwned) `id` && rm -rf ~",
                  action_taken="restart_service:gateway", action_result="failure", bead_id=None, host="web1")


@pytest.fixture
def relay(tmp_path: Path, argus_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PATH", argus_env["PATH"])  # `relay` is found on PATH, as in production
    monkeypatch.chdir(tmp_path)
    return install_relay(tmp_path / "bin")


def config(argus_env: dict[str, str], **extra: str) -> Config:
    return load({**argus_env, "ARGUS_RELAY_TIMEOUT": "1", **extra})


def fallback_lines(cfg: Config) -> list[dict[str, object]]:
    path = Path(cfg.relay_fallback_file)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_problem_published_with_spec_argv_and_payload(relay: Path, argus_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    cfg = config(argus_env)
    assert publish_problem(cfg, PROBLEM) == "relay"
    (call,) = calls(relay)
    argv = call["argv"]
    assert argv[:2] == ["send", "athena"]
    assert argv[3:] == ["--agent", "argus", "--priority", "high", "--tag", "argus,problem,alert"]
    assert json.loads(argv[2]) == {
        "type": "alert", "source": "argus", "event": "argus.problem", "severity": "critical",
        "problem_type": "service", "message": PROBLEM.description, "action_taken": "restart_service:gateway",
        "host": "web1", "timestamp": "2026-02-20T10:00:00Z"}
    assert not (tmp_path / "pwned").exists()  # the message was data, never a shell command
    assert fallback_lines(cfg) == []


def test_route_and_sender_come_from_config(relay: Path, argus_env: dict[str, str]) -> None:
    cfg = config(argus_env, ARGUS_RELAY_TO="hermes", ARGUS_RELAY_FROM="argus-web1")
    assert publish_problem(cfg, PROBLEM) == "relay"
    argv = calls(relay)[0]["argv"]
    assert argv[1] == "hermes" and argv[argv.index("--agent") + 1] == "argus-web1"


def test_failing_relay_falls_back(relay: Path, argus_env: dict[str, str],
                                  capfd: pytest.CaptureFixture[str]) -> None:
    set_mode(relay, "fail")
    cfg = config(argus_env)
    assert publish_problem(cfg, PROBLEM) == "fallback"
    assert fallback_lines(cfg) == [json.loads(calls(relay)[0]["argv"][2])]
    err = capfd.readouterr().err
    assert "relay send failed (exit 1: relay: backend unavailable)" in err and len(err.splitlines()) == 1


def test_hanging_relay_is_killed_with_its_children(relay: Path, argus_env: dict[str, str]) -> None:
    set_mode(relay, "hang")
    cfg = config(argus_env)
    started = time.monotonic()
    assert publish_problem(cfg, PROBLEM) == "fallback"
    assert time.monotonic() - started < 5
    assert len(fallback_lines(cfg)) == 1
    pids = relay.with_name("relay.hang-pids").read_text().split()
    assert wait_dead([int(pid) for pid in pids])  # the wrapper and its `sleep 30` grandchild


@pytest.mark.parametrize("binary", ["no-such-relay", "/nowhere/relay"])
def test_missing_relay_falls_back_silently(argus_env: dict[str, str], binary: str,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    cfg = config(argus_env, ARGUS_RELAY_BIN=binary)
    assert publish_problem(cfg, PROBLEM) == "fallback"
    assert fallback_lines(cfg)[0]["event"] == "argus.problem"
    assert capfd.readouterr().err == ""  # not installed is doctor's news, not a line every cycle


def test_relay_that_exists_but_cannot_run_is_noted(relay: Path, argus_env: dict[str, str],
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    relay.chmod(0o644)
    cfg = config(argus_env)
    assert publish_problem(cfg, PROBLEM) == "fallback"
    assert len(fallback_lines(cfg)) == 1
    assert "relay send failed (relay could not start" in capfd.readouterr().err


def test_disabled_relay_writes_fallback_without_calling(relay: Path, argus_env: dict[str, str]) -> None:
    cfg = config(argus_env, ARGUS_RELAY_ENABLED="false")
    assert publish_problem(cfg, PROBLEM) == "disabled"
    assert calls(relay) == []
    assert fallback_lines(cfg)[0]["message"] == PROBLEM.description


def test_body_over_64_kib_is_refused_and_kept(relay: Path, argus_env: dict[str, str], tmp_path: Path) -> None:
    cfg = config(argus_env)
    target = tmp_path / "summary-fallback.jsonl"
    big = {"event": "argus.daily_summary", "summary": "x" * MAX_BODY_BYTES}
    assert send_relay(cfg, big, tags=SUMMARY_TAGS, fallback_file=target) is False
    assert calls(relay) == []
    assert json.loads(target.read_text()) == big


def test_body_at_the_limit_is_sent(relay: Path, argus_env: dict[str, str], tmp_path: Path) -> None:
    cfg = config(argus_env)
    payload = {"event": "argus.daily_summary", "summary": ""}
    payload["summary"] = "y" * (MAX_BODY_BYTES - len(json.dumps(payload, separators=(",", ":"))))
    target = tmp_path / "summary-fallback.jsonl"
    assert send_relay(cfg, payload, tags=SUMMARY_TAGS, fallback_file=target, priority="medium") is True
    argv = calls(relay)[0]["argv"]
    assert len(argv[2].encode()) == MAX_BODY_BYTES
    assert argv[-4:] == ["--priority", "medium", "--tag", "argus,summary,daily"]
    assert not target.exists()


def test_unwritable_fallback_never_raises(relay: Path, argus_env: dict[str, str], tmp_path: Path,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blocker").write_text("a file, not a directory")
    cfg = config(argus_env, ARGUS_RELAY_FALLBACK_FILE=str(tmp_path / "blocker" / "fallback.jsonl"))
    set_mode(relay, "fail")
    assert publish_problem(cfg, PROBLEM) == "fallback"
    assert "not writable" in capfd.readouterr().err
