"""restart_service through a recording systemctl stand-in; restart backoff over attempts 1-4+."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers_actions import actions_env, beads, install_bd, install_systemctl, recorded, registry, use_env
from helpers_children import group_killed, install_hanging

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.model import Decision

FAST = Tuning(active_timeout=0.3, poll_interval=0.05)
T0 = 1_800_000_000.0


@pytest.fixture
def bin_dir(tmp_path) -> Path:
    return tmp_path / "bin"


@pytest.fixture
def config(argus_env, tmp_path, monkeypatch, bin_dir):
    systemctl = install_systemctl(bin_dir)
    install_bd(bin_dir)
    env = actions_env(argus_env, tmp_path, ARGUS_SYSTEMCTL_BIN=str(systemctl),
                      ARGUS_ALLOWED_SERVICES="web.service,worker@1.service",
                      ARGUS_BD_BIN="bd", ARGUS_RESTART_BACKOFF_SECOND_DELAY="60",
                      ARGUS_RESTART_BACKOFF_THIRD_DELAY="300", ARGUS_RESTART_COOLDOWN_SECONDS="3600")
    return use_env(monkeypatch, env)


def _restart(config, now, target="web.service", dry_run=False):
    decision = Decision("t", [{"type": "restart_service", "target": target, "reason": "web is down"}])
    return execute_decision(config, decision, None, dry_run=dry_run, now=now, tuning=FAST)[0]


def _backoff(config) -> dict:
    return json.loads((config.state_dir / "restart-backoff.json").read_text())["services"]["web.service"]


def test_success_runs_restart_then_is_active(config, bin_dir):
    result = _restart(config, T0)
    assert result.status == "success", result.detail
    assert recorded(bin_dir, "systemctl") == [["restart", "web.service"], ["is-active", "web.service"]]
    state = _backoff(config)
    assert (state["attempts"], state["last_success"], state["cooldown_until"]) == (0, T0, None)
    assert registry(config)[0]["action_taken"] == "restart_service:web.service"


@pytest.mark.parametrize("target", ["ssh.service", "web", "web.service; reboot", "-H", "../web.service", 7, None,
                                    "web.service\n"])
def test_units_outside_the_allowlist_are_rejected(config, bin_dir, target):
    assert _restart(config, T0, target).status == "rejected"
    assert recorded(bin_dir, "systemctl") == []
    assert registry(config)[0]["action_result"] == "rejected"


def test_backoff_over_attempts_one_to_four_then_cooldown(config, bin_dir):
    (bin_dir / "systemctl.state").write_text("failed")  # the unit never comes back
    first = _restart(config, T0)
    assert first.status == "failure" and first.extra["attempt"] == 1
    assert _restart(config, T0 + 30).status == "skipped"  # attempt 2 needs SECOND_DELAY
    assert _restart(config, T0 + 60).extra["attempt"] == 2
    assert _restart(config, T0 + 200).status == "skipped"  # attempt 3 needs THIRD_DELAY
    assert _restart(config, T0 + 360).extra["attempt"] == 3
    loop = _restart(config, T0 + 10_000)
    assert loop.status == "skipped" and loop.extra["restart_loop"] is True
    assert _backoff(config)["cooldown_until"] == T0 + 10_000 + 3600
    assert _restart(config, T0 + 11_000).status == "skipped"  # cooling down
    restarts = [argv for argv in recorded(bin_dir, "systemctl") if argv[0] == "restart"]
    assert len(restarts) == 3
    critical = [p for p in registry(config) if "restart loop" in p["description"]]
    assert critical and critical[0]["severity"] == "critical" and critical[0]["bead_id"]
    (bin_dir / "systemctl.state").write_text("active")
    after = _restart(config, T0 + 10_000 + 3600)
    assert after.status == "success" and after.extra["attempt"] == 1  # a new sequence after the cooldown


def test_a_failure_creates_a_bead_and_success_closes_it(config, bin_dir):
    (bin_dir / "systemctl.state").write_text("restart-fails")
    failed = _restart(config, T0)
    assert failed.status == "failure"
    [bead] = beads(bin_dir)
    assert bead["status"] == "open" and failed.extra["bead_id"] == bead["id"]
    (bin_dir / "systemctl.state").write_text("active")
    assert _restart(config, T0 + 60).status == "success"
    assert beads(bin_dir)[0]["status"] == "closed"
    assert _backoff(config)["attempts"] == 0


def test_dry_run_changes_nothing(config, bin_dir):
    result = _restart(config, T0, dry_run=True)
    assert result.status == "skipped" and "would run systemctl restart web.service" in result.detail
    assert recorded(bin_dir, "systemctl") == []
    assert [argv[0] for argv in recorded(bin_dir, "systemctl-show")] == ["show"]  # it only read
    assert not (config.state_dir / "restart-backoff.json").exists()
    assert not config.problems_file.exists()


def test_missing_systemctl_is_a_failure_not_a_crash(config, bin_dir, monkeypatch):
    (bin_dir / "systemctl").unlink()
    monkeypatch.setenv("PATH", str(bin_dir))
    result = _restart(config, T0)
    assert result.status == "failure" and "not installed" in result.detail


def test_the_configured_systemctl_runs_not_the_one_on_path(argus_env, tmp_path, monkeypatch, bin_dir, config):
    opt = tmp_path / "opt"  # not on PATH; the fixture's stand-in in bin_dir is, as a decoy
    opt.mkdir()
    systemctl = install_systemctl(opt)
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_SYSTEMCTL_BIN=str(systemctl),
                                              ARGUS_ALLOWED_SERVICES="web.service"))
    assert _restart(config, T0).status == "success"
    assert recorded(opt, "systemctl") == [["restart", "web.service"], ["is-active", "web.service"]]
    assert recorded(bin_dir, "systemctl") == []


def test_a_hung_systemctl_is_killed_with_its_group_at_the_timeout(argus_env, tmp_path, monkeypatch):
    hung = install_hanging(tmp_path / "opt", "systemctl")
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_SYSTEMCTL_BIN=str(hung),
                                              ARGUS_ALLOWED_SERVICES="web.service"))
    decision = Decision("t", [{"type": "restart_service", "target": "web.service", "reason": "web is down"}])
    started = time.monotonic()
    result = execute_decision(config, decision, None, dry_run=False, now=T0,
                              tuning=Tuning(command_timeout=0.5, active_timeout=0.3, poll_interval=0.05))[0]
    assert time.monotonic() - started < 5
    assert result.status == "failure"
    assert result.detail == (f"systemctl restart web.service failed: {hung} timed out after 0.5s "
                             "(systemd state could not be read)")  # `show` timed out first
    assert group_killed(hung)  # the stand-in and its `sleep 30` grandchild


# --- systemd's own restart machinery ---------------------------------------------------------

SHOW = "ActiveState={}\nSubState={}\nResult={}\nNRestarts={}\n"


def _show(bin_dir, text, exit_code=0):
    install_systemctl(bin_dir, show=text, show_exit=exit_code)


def test_show_is_one_read_with_the_four_properties(config, bin_dir):
    result = _restart(config, T0)
    assert result.status == "success", result.detail
    assert recorded(bin_dir, "systemctl-show") == [["show", "web.service", "-p", "ActiveState", "-p", "SubState",
                                                    "-p", "Result", "-p", "NRestarts"]]
    assert result.extra["systemd"] == {"active_state": "active", "sub_state": "running", "result": "success",
                                       "n_restarts": 0}
    assert "reset_failed" not in result.extra and result.extra["attempt"] == 1


@pytest.mark.parametrize(("active", "sub"), [("activating", "auto-restart"), ("activating", "start"),
                                             ("failed", "auto-restart")])
def test_a_unit_systemd_is_restarting_is_left_to_it(config, bin_dir, active, sub):
    _show(bin_dir, SHOW.format(active, sub, "exit-code", 7))
    result = _restart(config, T0)
    assert result.status == "skipped" and "bead_id" not in result.extra
    assert result.detail == (f"web.service: systemd is already restarting it ({active}/{sub}, NRestarts=7); "
                             "re-checked next cycle")
    assert result.extra["systemd"] == {"active_state": active, "sub_state": sub, "result": "exit-code",
                                       "n_restarts": 7}
    assert recorded(bin_dir, "systemctl") == []  # no restart, no reset-failed
    assert not (config.state_dir / "restart-backoff.json").exists()  # no attempt counted
    assert registry(config) == []


def test_start_limit_hit_resets_the_failure_then_restarts(config, bin_dir):
    _show(bin_dir, SHOW.format("failed", "failed", "start-limit-hit", 5))
    result = _restart(config, T0)
    assert result.status == "success", result.detail
    assert recorded(bin_dir, "systemctl") == [["reset-failed", "web.service"], ["restart", "web.service"],
                                              ["is-active", "web.service"]]
    assert result.extra["reset_failed"] is True and result.extra["systemd"]["result"] == "start-limit-hit"
    assert "start limit hit, reset-failed run" in result.detail


def test_start_limit_hit_under_dry_run_neither_resets_nor_restarts(config, bin_dir):
    _show(bin_dir, SHOW.format("failed", "failed", "start-limit-hit", 5))
    result = _restart(config, T0, dry_run=True)
    assert result.status == "skipped" and "after systemctl reset-failed (start limit hit)" in result.detail
    assert result.extra["systemd"]["n_restarts"] == 5
    assert recorded(bin_dir, "systemctl") == [] and len(recorded(bin_dir, "systemctl-show")) == 1
    assert not (config.state_dir / "restart-backoff.json").exists()


@pytest.mark.parametrize(("show", "exit_code"), [
    ("", 1),  # a systemctl without `show`: "Unknown command verb show."
    (SHOW.format("activating", "auto-restart", "success", 1), 1),  # a failed read is not believed
    ("", 0),
    ("garbage\n=\nActiveState\nNRestarts=-1\n\x00\xff", 0),
])
def test_an_unreadable_state_still_restarts(config, bin_dir, show, exit_code):
    _show(bin_dir, show, exit_code)
    result = _restart(config, T0)
    assert result.status == "success", result.detail
    assert "systemd state could not be read" in result.detail
    assert result.extra["systemd"] == {"active_state": None, "sub_state": None, "result": None, "n_restarts": None}
    assert recorded(bin_dir, "systemctl") == [["restart", "web.service"], ["is-active", "web.service"]]


def test_missing_and_garbled_keys_are_none(config, bin_dir):
    _show(bin_dir, "SubState=dead\nNRestarts=many\nOther=x\n")
    result = _restart(config, T0)
    assert result.status == "success", result.detail
    assert result.extra["systemd"] == {"active_state": None, "sub_state": "dead", "result": None, "n_restarts": None}
    assert "?/dead, NRestarts=?" in result.detail


def test_a_failed_restart_carries_the_systemd_state(config, bin_dir):
    _show(bin_dir, SHOW.format("failed", "failed", "exit-code", 3))
    (bin_dir / "systemctl.state").write_text("restart-fails")
    result = _restart(config, T0)
    assert result.status == "failure" and "(failed/failed, NRestarts=3)" in result.detail
    assert result.extra["systemd"]["n_restarts"] == 3 and result.extra["attempt"] == 1


def test_hostile_values_are_cut_and_kept_on_one_line(config, bin_dir):
    huge = "x" * 10_000
    _show(bin_dir, f"ActiveState=activating\nSubState=\x1b[31m{huge}\rInjected: ok\nNRestarts={'9' * 5000}\n")
    result = _restart(config, T0)
    assert result.status == "skipped"  # ActiveState=activating is still read
    assert len(result.detail) < 200 and "\n" not in result.detail and "\r" not in result.detail
    assert "\x1b" not in result.detail
    state = result.extra["systemd"]
    assert len(state["sub_state"]) <= 64 and state["sub_state"].isprintable() and state["n_restarts"] is None
