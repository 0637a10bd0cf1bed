"""Watch first: ARGUS_AUTONOMY=observe (and `install.sh --observe`) records what would run and
changes nothing; every tool reads an observe or dry-run cycle as a real cycle, marked as such.
Also the ARGUS_AUTONOMY and ARGUS_MAINTENANCE settings themselves."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest
from helpers_actions import install_systemctl, recorded, registry
from helpers_anthropic import FakeAnthropic, llm_env, tool_use
from helpers_deploy import run_install

from argus_cli.config import Autonomy, ConfigError, load
from argus_cli.control.maintenance import active, next_start
from argus_cli.cycle import run_cycle
from argus_cli.state.layout import INCIDENTS


def test_observe_restarts_nothing_and_says_what_it_would_have_done(argus_env, config_of, tmp_path):
    bin_dir = tmp_path / "bin"
    systemctl = install_systemctl(bin_dir, state="failed")
    junk = Path(argus_env["ARGUS_HOST_ROOT"]) / "tmp" / "old.bin"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"x" * 4096)
    later = time.time() + 8 * 86400  # every time of the file is older than the 7-day age by then
    with FakeAnthropic() as fake:
        fake.default = lambda: tool_use({"assessment": "web is down", "actions": [
            {"type": "restart_service", "subject": "service:web", "target": "web.service", "reason": "down"},
            {"type": "clean_disk", "subject": "disk:/", "reason": "tidy up"},
            {"type": "log", "observation": "web down, restart observed only"}]})
        env = llm_env({**argus_env, "ARGUS_AUTONOMY": "observe", "ARGUS_SERVICES": "web=systemd:web.service",
                       "ARGUS_ALLOWED_SERVICES": "web.service", "ARGUS_LLM_EVERY_CYCLE": "true",
                       "ARGUS_SYSTEMCTL_BIN": str(systemctl)}, fake)
        config = config_of(env)
        line = run_cycle(config, now=later, install_signals=False)
    assert (line["mode"], line["autonomy"], line["dry_run"]) == ("observe", "observe", False)
    restart, clean, log = line["actions"]
    assert restart["status"] == "observed" and "would run systemctl restart web.service" in restart["detail"]
    assert clean["status"] == "observed" and "would remove 1 entries" in clean["detail"], clean
    assert log["status"] == "success"  # log (and alert) always act
    assert junk.exists()
    assert not [argv for argv in recorded(bin_dir, "systemctl") if argv[:1] in (["restart"], ["reset-failed"])]
    assert not (config.state_dir / "restart-backoff.json").exists()  # nothing attempted, nothing to back off
    assert "web down, restart observed only" in (config.state_dir / "observations.md").read_text()
    book = INCIDENTS.read(config.state_dir)
    assert book is not None and all(not i.actions for i in book.open.values())  # nothing done, nothing to judge
    assert not [p for p in registry(config) if p["action_taken"].startswith(("restart_service", "clean_disk"))]


def test_an_observe_install_is_read_as_real_cycles_by_every_tool(tmp_path, argus_env, run_argus):
    stage = tmp_path / "stage"
    result = run_install("--destdir", str(stage), "--skip-pip", "--observe")
    assert result.returncode == 0, result.stderr
    assert "set ARGUS_AUTONOMY=observe in /etc/argus/argus.env" in result.stdout
    env_file = stage / "etc" / "argus" / "argus.env"
    lines = env_file.read_text().splitlines()
    assert lines.count("ARGUS_AUTONOMY=observe") == 1 and not [x for x in lines if x == "ARGUS_AUTONOMY=act"]
    assert env_file.stat().st_mode & 0o777 == 0o600
    again = run_install("--destdir", str(stage), "--skip-pip")  # an upgrade leaves the operator's choice
    assert again.returncode == 0 and env_file.read_text().splitlines() == lines

    env = {**argus_env, "ARGUS_ENV_FILE": str(env_file), "ARGUS_LOG_DIR": str(tmp_path / "logs"),
           "ARGUS_PROBLEMS_FILE": str(tmp_path / "problems.jsonl")}
    cycle = run_argus("cycle", env=env)
    assert cycle.returncode == 0, cycle.stderr
    assert "OBSERVE (actions recorded, not run)" in cycle.stdout
    last = run_argus("last", env=env)
    assert "OBSERVE (actions recorded, not run)" in last.stdout
    status = run_argus("status", "--json", env=env)
    shown = json.loads(status.stdout)
    assert shown["last_cycle"]["mode"] == "observe"
    assert "observe: actions recorded, not run" in run_argus("status", env=env).stdout
    doctor = run_argus("doctor", env=env)
    [line] = [x for x in doctor.stdout.splitlines() if "last cycle" in x]
    assert "observe mode: actions recorded, not run" in line and "is the timer running" not in line
    prom = run_argus("stats", "--format", "prometheus", env=env).stdout
    assert 'argus_last_cycle_mode{mode="observe"} 1' in prom
    assert 'argus_cycles_by_mode_total{mode="observe"} 1' in prom
    state = Path(env["ARGUS_STATE_DIR"])
    [line] = [json.loads(x) for x in (state / "cycles.jsonl").read_text().splitlines()]
    cycle_state = json.loads((state / "cycle-state.json").read_text())
    assert (cycle_state["mode"], cycle_state["timestamp"]) == ("observe", line["ts"])
    [stamp] = [x.split()[-1] for x in prom.splitlines() if x.startswith("argus_last_cycle_timestamp_seconds ")]
    assert float(stamp) == datetime.fromisoformat(line["ts"]).timestamp()  # one cycle, as every tool says


def test_a_dry_run_is_the_last_cycle_for_doctor_and_prometheus(argus_env, run_argus):
    proc = run_argus("cycle", "--dry-run", env=argus_env)
    assert proc.returncode == 0, proc.stderr
    doctor = run_argus("doctor", env=argus_env)
    [line] = [x for x in doctor.stdout.splitlines() if "last cycle" in x]
    assert "a dry run" in line and "none recorded" not in line
    prom = run_argus("stats", "--format", "prometheus", env=argus_env).stdout
    assert 'argus_last_cycle_mode{mode="dry-run"} 1' in prom
    assert "dry-run: actions recorded, not run" in run_argus("status", env=argus_env).stdout


@pytest.mark.parametrize(("raw", "levels"), [
    ("act", {"restart_service": "act", "kill_pid": "act", "kill_tmux": "act", "clean_disk": "act"}),
    ("observe", {"restart_service": "observe", "kill_pid": "observe", "kill_tmux": "observe",
                 "clean_disk": "observe"}),
    ("ask,clean_disk=act", {"restart_service": "ask", "kill_pid": "ask", "kill_tmux": "ask", "clean_disk": "act"}),
    ("restart_service=act,kill_pid=ask,kill_tmux=ask,clean_disk=act",
     {"restart_service": "act", "kill_pid": "ask", "kill_tmux": "ask", "clean_disk": "act"}),
    (" kill_pid = observe , ask ", {"restart_service": "ask", "kill_pid": "observe", "kill_tmux": "ask",
                                   "clean_disk": "ask"}),
])
def test_autonomy_levels(raw, levels):
    autonomy = load({"ARGUS_AUTONOMY": raw, "HOME": "/nonexistent"}).autonomy
    assert {kind: autonomy.level(kind) for kind in levels} == levels
    assert autonomy.level("alert") == autonomy.level("log") == "act"
    assert load({"ARGUS_AUTONOMY": str(autonomy), "HOME": "/nonexistent"}).autonomy.levels == autonomy.levels or \
        str(load({"ARGUS_AUTONOMY": str(autonomy), "HOME": "/nonexistent"}).autonomy) == str(autonomy)


@pytest.mark.parametrize("raw", ["", "ack", "ask,observe", "kill_pid=ask,kill_pid=act", "alert=ask", "log=observe",
                                 "kill_pid", "=ask", "kill_pid=", "restart=act", "ask;act", "ASK"])
def test_autonomy_refuses_what_it_cannot_read(raw, argus_env, run_argus):
    with pytest.raises(ConfigError):
        load({"ARGUS_AUTONOMY": raw, "HOME": "/nonexistent"})
    proc = run_argus("cycle", "--dry-run", env={**argus_env, "ARGUS_AUTONOMY": raw})
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "ARGUS_AUTONOMY" in proc.stderr and "alert and log always act" in proc.stderr


def test_the_default_is_act():
    assert load({"HOME": "/nonexistent"}).autonomy == Autonomy("act", ())


def epoch(text: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(("windows", "at", "inside"), [
    ("Sun 02:00-04:00 UTC", "2026-11-29T02:00:00+00:00", True),
    ("Sun 02:00-04:00 UTC", "2026-11-29T03:59:59+00:00", True),
    ("Sun 02:00-04:00 UTC", "2026-11-29T04:00:00+00:00", False),
    ("Sun 02:00-04:00 UTC", "2026-11-29T01:59:59+00:00", False),
    ("Sun 02:00-04:00", "2026-11-29T02:30:00+00:00", True),  # no zone: UTC
    ("Sat 23:00-01:00 UTC", "2026-11-29T00:30:00+00:00", True),  # runs into Sunday
    ("Sat 23:00-01:00 UTC", "2026-11-30T00:30:00+00:00", False),  # Sunday night is not Saturday's
    ("Mon-Fri 12:00-12:30 Europe/Paris", "2026-11-30T11:15:00+00:00", True),  # 12:15 in Paris (UTC+1)
    ("Mon-Fri 12:00-12:30 Europe/Paris", "2026-11-29T11:15:00+00:00", False),  # a Sunday
    ("Mon-Fri 12:00-12:30 Europe/Paris", "2026-07-01T10:15:00+00:00", True),  # summer time: UTC+2
    ("Fri-Mon 22:00-23:00 UTC", "2026-11-30T22:30:00+00:00", True),  # the range wraps past Sunday
    ("daily 03:00-03:15 UTC; Sun 02:00-04:00 UTC", "2026-12-02T03:10:00+00:00", True),
    # the night the clocks go back (1 Nov 2026 in New York): 01:30-02:30 on the wall clock is two hours
    ("Sun 01:30-02:30 America/New_York", "2026-11-01T05:40:00+00:00", True),   # 01:40 EDT
    ("Sun 01:30-02:30 America/New_York", "2026-11-01T06:40:00+00:00", True),   # 01:40 EST, the second time
    ("Sun 01:30-02:30 America/New_York", "2026-11-01T07:20:00+00:00", True),   # 02:20 EST
    ("Sun 01:30-02:30 America/New_York", "2026-11-01T07:40:00+00:00", False),  # 02:40 EST
])
def test_maintenance_windows(windows, at, inside):
    config = load({"ARGUS_MAINTENANCE": windows, "HOME": "/nonexistent"})
    assert (active(config.maintenance, epoch(at)) is not None) is inside


def test_the_next_window_and_the_end_of_this_one():
    config = load({"ARGUS_MAINTENANCE": "Sun 02:00-04:00 UTC", "HOME": "/nonexistent"})
    found = active(config.maintenance, epoch("2026-11-29T03:00:00+00:00"))
    assert found is not None and found[1] == epoch("2026-11-29T04:00:00+00:00")
    upcoming = next_start(config.maintenance, epoch("2026-11-30T10:00:00+00:00"))
    assert upcoming is not None and upcoming[1] == epoch("2026-12-06T02:00:00+00:00")


@pytest.mark.parametrize("raw", ["Sun 02:00-02:00", "Sun 25:00-04:00", "Sun 02:60-04:00", "Funday 02:00-03:00",
                                 "Sun 02:00-04:00 Mars/Base", "Sun 2:00-4:00", "02:00-04:00", "Sun 02:00 04:00",
                                 "Sun 02:00-04:00 UTC extra", "Sun-Sat-Mon 02:00-03:00"])
def test_maintenance_refuses_what_it_cannot_read(raw, argus_env, run_argus):
    with pytest.raises(ConfigError):
        load({"ARGUS_MAINTENANCE": raw, "HOME": "/nonexistent"})
    proc = run_argus("cycle", "--dry-run", env={**argus_env, "ARGUS_MAINTENANCE": raw})
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "ARGUS_MAINTENANCE" in proc.stderr


def test_doctor_says_what_may_run_and_when_the_next_window_is(argus_env, run_argus):
    env = {**argus_env, "ARGUS_AUTONOMY": "ask,clean_disk=act", "ARGUS_MAINTENANCE": "Sun 02:00-04:00 UTC"}
    [line] = [x for x in run_argus("doctor", env=env).stdout.splitlines() if " autonomy " in x]
    assert line.startswith("warn") and "ARGUS_AUTONOMY=ask,clean_disk=act" in line
    assert "next maintenance window Sun 02:00-04:00 UTC at " in line and "Telegram is not configured" in line
    [line] = [x for x in run_argus("doctor", env=argus_env).stdout.splitlines() if " autonomy " in x]
    assert line.startswith("ok") and line.endswith("ARGUS_AUTONOMY=act")


def test_doctor_warns_that_a_group_without_approvers_refuses_every_press(argus_env, run_argus):
    env = {**argus_env, "ARGUS_AUTONOMY": "kill_pid=ask", "TELEGRAM_BOT_TOKEN": "123:abc",
           "TELEGRAM_CHAT_ID": "-100424242"}
    [line] = [x for x in run_argus("doctor", env=env).stdout.splitlines() if " autonomy " in x]
    assert line.startswith("warn") and "ARGUS_APPROVERS is unset, so every button press is refused" in line
    for fixed in ({"ARGUS_APPROVERS": "7001"}, {"TELEGRAM_CHAT_ID": "7001"}):  # listed, or a private chat
        [line] = [x for x in run_argus("doctor", env={**env, **fixed}).stdout.splitlines() if " autonomy " in x]
        assert line.startswith("ok"), line
