"""Never blind, never silent: what Argus could not see is said, confirmed blind spots and a
degraded decider page the operator once, and `argus status` grades the host by it.

Real cycles with an injected clock: a stand-in systemctl that cannot reach D-Bus, a watched
path that does not exist, a collector that hangs past its time limit, the local Messages API
stand-in answering 401, the local Telegram stand-in.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import write_executable
from helpers_anthropic import FakeAnthropic, error, llm_env, tool_use
from helpers_notify import telegram_env, telegram_server

from argus_cli.cycle import run_cycle
from argus_cli.model import iso_z
from argus_cli.snapshot import parse_snapshot

STEP = 300
START = float(int(time.time()))  # real collection measures uptime against the cycle's clock
SCENARIOS = Path(__file__).parent / "scenarios"
QUIET_HOST = {"ARGUS_DISK_WARN_PCT": "99", "ARGUS_DISK_CRIT_PCT": "100", "ARGUS_MEMORY_WARN_PCT": "99",
              "ARGUS_MEMORY_CRIT_PCT": "100", "ARGUS_SWAP_WARN_PCT": "100", "ARGUS_LOAD_FACTOR": "1000",
              "ARGUS_BOOT_GRACE_SECONDS": "0", "ARGUS_ORPHAN_SWEEP": "false", "ARGUS_TMUX_SOCKETS": "",
              "ARGUS_DECIDER": "rules"}
NO_BUS = f"""#!{sys.executable}
import sys, time
if "--hang" in open(__file__).read().splitlines()[-1]:
    time.sleep(30)
print("Failed to connect to bus: No such file or directory", file=sys.stderr)
sys.exit(1)
# mode: quick
"""


telegram = telegram_server


def no_bus_systemctl(bin_dir: Path, *, hang: bool = False) -> Path:
    body = NO_BUS.replace("# mode: quick", "# mode: --hang" if hang else "# mode: quick")
    return write_executable(bin_dir / "systemctl", body)


def run(config: Any, count: int, start: float = START, **kw: Any) -> list[dict[str, Any]]:
    return [run_cycle(config, now=start + i * STEP, install_signals=False, **kw) for i in range(count)]


# --- 2. a check that cannot answer ---------------------------------------------------------------

def test_a_service_unknown_for_three_cycles_is_one_alert_and_never_all_nominal(argus_env, config_of, tmp_path):
    systemctl = no_bus_systemctl(tmp_path / "bin")
    with telegram() as server:
        config = config_of(telegram_env({**argus_env, **QUIET_HOST, "ARGUS_SERVICES": "db=systemd:postgresql.service",
                                         "ARGUS_SYSTEMCTL_BIN": str(systemctl)}, server))
        lines = run(config, 5)
    assert not [line for line in lines if "All nominal" in (line["assessment"] or "")]
    assert all(line["assessment"].startswith("Argus could not see everything: Service db could not be checked")
               for line in lines)
    assert "(seen 1 of 3 cycles in a row)" in lines[0]["assessment"]
    assert [line["health"] for line in lines] == ["blind"] * 5
    assert [len(line["actions"]) for line in lines] == [0, 0, 1, 1, 1]  # confirmed on the third cycle
    assert len(server.order) == 1 and "Service db could not be checked: Failed to connect to bus" in server.order[0]
    assert lines[2]["incidents"]["opened"] == ["service:db unknown"]


def test_an_unknown_service_that_answers_again_resolves_and_a_hiccup_is_no_incident(argus_env, config_of,
                                                                                    tmp_path):
    bin_dir = tmp_path / "bin"
    systemctl = no_bus_systemctl(bin_dir)
    with telegram() as server:
        config = config_of(telegram_env({**argus_env, **QUIET_HOST, "ARGUS_SERVICES": "db=systemd:postgresql.service",
                                         "ARGUS_SYSTEMCTL_BIN": str(systemctl)}, server))
        hiccup = run(config, 2)
        write_executable(systemctl, f"#!{sys.executable}\nprint('active')\n")
        back = run(config, 2, start=START + 2 * STEP)  # two clean cycles end a streak (one keeps it)
        write_executable(systemctl, no_bus_systemctl(bin_dir).read_text())
        lines = run(config, 3, start=START + 4 * STEP)  # the streak starts again from nothing
        write_executable(systemctl, f"#!{sys.executable}\nprint('active')\n")
        lines += run(config, 2, start=START + 7 * STEP)
    assert not [line for line in hiccup + back if line["incidents"]["opened"]]
    assert [line["health"] for line in back] == ["ok", "ok"]
    assert back[0]["assessment"] == "All nominal: no rule matched."
    assert [line["incidents"]["open"] for line in lines] == [0, 0, 1, 1, 0]
    assert len(server.order) == 2 and "resolved after" in server.order[1]
    assert "service db answers its check again" in server.order[1]


# --- 4. a collector that fails or hangs ----------------------------------------------------------

def test_a_missing_disk_path_is_one_error_and_a_blind_spot_told_once(argus_env, config_of):
    with telegram() as server:
        config = config_of(telegram_env({**argus_env, **QUIET_HOST, "ARGUS_DISK_PATHS": "/,/nonexistent"}, server))
        lines = run(config, 3)
    assert all(line["errors"] == ["collector disks: /nonexistent: No such file or directory"] for line in lines)
    assert [line["health"] for line in lines] == ["blind"] * 3
    assert all("Collector disks failed, Argus could not see what it measures" in line["assessment"] for line in lines)
    assert [line["incidents"]["opened"] for line in lines] == [[], ["collector:disks error"], []]
    assert len(server.order) == 1 and "/nonexistent" in server.order[0]


def test_a_hung_collector_is_said_and_paged_after_two_cycles(argus_env, config_of, tmp_path):
    systemctl = no_bus_systemctl(tmp_path / "bin", hang=True)
    with telegram() as server:
        config = config_of(telegram_env({**argus_env, **QUIET_HOST, "ARGUS_SERVICES": "db=systemd:postgresql.service",
                                         "ARGUS_SYSTEMCTL_BIN": str(systemctl), "ARGUS_COLLECT_TIMEOUT": "1"},
                                        server))
        lines = run(config, 2)
    assert all(line["errors"] == ["collector services: timed out"] for line in lines), lines[0]["errors"]
    assert all("Collector services failed" in line["assessment"] for line in lines)
    assert len(server.order) == 1 and "Collector services failed" in server.order[0]


# --- 5. the LLM failing for good -----------------------------------------------------------------

def healthy(now: float) -> Any:
    snap = copy.deepcopy(json.loads((SCENARIOS / "healthy.json").read_text())["snapshot"])
    snap["ts"] = iso_z(now)
    return parse_snapshot(snap)


def test_a_revoked_key_is_one_decider_alert_and_one_resolved_notice_when_it_works_again(argus_env, config_of):
    answers: list[Callable[[], Any]] = []
    with telegram() as server, FakeAnthropic(lambda: answers[-1]()) as fake:  # noqa: PLW0108 - the last answer set
        answers.append(lambda: error(401, "authentication_error", "invalid x-api-key"))
        env = llm_env(telegram_env({**argus_env, "ARGUS_DECIDER_DEGRADED_SECONDS": "3600"}, server), fake,
                      ARGUS_LLM_EVERY_CYCLE="true")
        config = config_of(env)
        broken = run(config, 24, collect=healthy)  # two hours of 401
        answers.append(lambda: tool_use({"assessment": "All nominal.", "actions": []}))
        fixed = run(config, 24, start=START + 24 * STEP, collect=healthy)
    assert {line["decider"] for line in broken} == {"fallback"}
    opened = [i for i, line in enumerate(broken) if line["incidents"]["opened"] == ["decider degraded"]]
    assert len(opened) == 1 and 12 <= opened[0] <= 14  # an hour after the first failure
    decider_alerts = [t for t in server.order if "LLM decider degraded" in t]
    assert len(decider_alerts) == 1 and "invalid x-api-key" in decider_alerts[0]
    assert "rules engine is deciding" in decider_alerts[0]
    resolved = [t for t in server.order if "resolved after" in t]
    assert len(resolved) == 1 and "the LLM decider answers again" in resolved[0]
    assert any(line["decider"] == "llm" for line in fixed)
    assert broken[-1]["health"] == "warning" and fixed[-1]["health"] == "ok"


# --- 7. argus status -----------------------------------------------------------------------------

@pytest.mark.parametrize(("scenario", "health", "code"), [("healthy", "OK", 0), ("service_down", "CRITICAL", 2),
                                                          ("disk_92", "CRITICAL", 2), ("memory_85", "WARNING", 1)])
def test_status_is_one_line_with_an_exit_code_by_health(argus_env, config_of, run_argus, *, scenario, health, code):
    base = json.loads((SCENARIOS / f"{scenario}.json").read_text())["snapshot"]

    def collect(now: float) -> Any:
        snap = copy.deepcopy(base)
        snap["ts"] = iso_z(now)
        return parse_snapshot(snap)
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    run_cycle(config, now=time.time() - 120, collect=collect, install_signals=False)
    result = run_argus("status", env={**argus_env, "ARGUS_DECIDER": "rules"})
    assert result.returncode == code, result.stderr
    [line] = result.stdout.splitlines()
    assert line.split(" argus: ")[1].startswith(health)
    assert "last cycle 2 min ago · decider rules" in line
    as_json = json.loads(run_argus("status", "--json", env=argus_env).stdout)
    assert as_json["health"] == health.lower() and as_json["exit_code"] == code


def test_status_names_the_open_incidents(argus_env, config_of, run_argus):
    base = json.loads((SCENARIOS / "service_down.json").read_text())["snapshot"]
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    run_cycle(config, now=time.time(), collect=lambda now: parse_snapshot({**base, "ts": iso_z(now)}),
              install_signals=False)
    line = run_argus("status", env=argus_env).stdout
    assert "CRITICAL 1 open (service:web down)" in line
    # "status ok" says the cycle ran; the health in front of it says what the host looked like
    assert "  health CRITICAL  status ok  " in run_argus("last", env=argus_env).stdout


def test_status_without_a_recent_cycle_is_not_ok(argus_env, config_of, run_argus):
    none = run_argus("status", env=argus_env)
    assert none.returncode == 2 and "no cycle recorded: is the timer running?" in none.stdout
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    run_cycle(config, now=time.time() - 3600, collect=healthy, install_signals=False)
    stale = run_argus("status", env=argus_env)
    assert stale.returncode == 2 and "STALE" in stale.stdout and "last cycle 60 min ago" in stale.stdout
