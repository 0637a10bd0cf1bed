"""Silences and maintenance windows in real cycles: a local TCP listener as the service, the rules
decider, the local Telegram Bot API, an injected clock. Findings are still recorded while
notifications are held; the end is one notice with what is still open and what was resolved
meanwhile (the resolved notice an operator who was alerted must still get)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from helpers_actions import create_time, registry, running, spawned
from helpers_anthropic import FakeAnthropic, llm_env, tool_use
from test_approvals import hog_host, kill_decision
from test_incidents import Listener, incident_log, service_env, telegram

from argus_cli.config import Config
from argus_cli.control import silences
from argus_cli.cycle import run_cycle
from argus_cli.state.layout import SILENCES

STEP = 300
START = float(int(time.time()) // 60 * 60)  # on a minute: maintenance windows are written in minutes


def run(config: Config, listener: Listener, at: float, state: str) -> dict[str, Any]:
    listener.up() if state == "u" else listener.down()
    return run_cycle(config, now=at, install_signals=False)


def alerts(lines: list[dict[str, Any]]) -> list[str]:
    return [a["status"] for line in lines for a in line["actions"] if a["type"] == "alert"]


def test_a_silence_holds_the_outage_and_its_end_is_one_notice(argus_env, config_of, run_argus):
    listener = Listener()
    with telegram() as server:
        config = config_of(service_env(argus_env, listener, server, ARGUS_DECIDER="rules"))
        lines = [run(config, listener, START, "u")]
        silence = silences.add(config, "service:*", 1200, "deploy of web", now=START + 1, by="ops")
        lines += [run(config, listener, START + i * STEP, "d") for i in range(1, 5)]   # held
        assert server.order == []
        assert alerts(lines) == ["suppressed"] * 4
        assert all("notifications held by silence " + silence.id in a["detail"]
                   for line in lines for a in line["actions"] if a["type"] == "alert")
        # recorded all the same: the incident is open, the registry has every finding
        assert [e["event"] for e in incident_log(config)] == ["opened"]
        assert [p["action_result"] for p in registry(config) if p["type"] == "service"] == ["suppressed"] * 4
        shown = run_argus("status", env={**service_env(argus_env, listener, server), "ARGUS_DECIDER": "rules"})
        assert "service:web down" in shown.stdout and "notifications held for service:*" in shown.stdout
        lines += [run(config, listener, START + i * STEP, "d") for i in range(5, 8)]   # ended at +1201
    [notice] = server.order
    assert f"silence {silence.id} on service:* (deploy of web) ended." in notice
    assert "Still open: service:web down since" in notice and "Service web is down" in notice
    assert lines[5]["notices"][0]["kind"] == "quiet-ended" and lines[5]["notices"][0]["open"] == ["service:web down"]
    assert alerts(lines[5:]) == ["suppressed"] * 3  # the notice counted as the alert: no second message
    stored = SILENCES.read(config.state_dir)
    assert stored is not None and stored.silences[silence.id].announced


def test_an_outage_alerted_before_a_silence_and_resolved_during_it_gets_its_resolved_notice(argus_env, config_of):
    listener = Listener()
    with telegram() as server:
        config = config_of(service_env(argus_env, listener, server, ARGUS_DECIDER="rules"))
        lines = [run(config, listener, START, "u"), run(config, listener, START + STEP, "d")]
        assert len(server.order) == 1 and "Service web is down" in server.order[0]
        silence = silences.add(config, "service:web", 1800, "maintenance", now=START + STEP + 1, by="ops")
        lines += [run(config, listener, START + i * STEP, "u") for i in range(2, 7)]   # resolves during it
        assert [e["event"] for e in incident_log(config)] == ["opened", "resolved"]
        assert len(server.order) == 1  # the resolved notice is held, not lost
        lines += [run(config, listener, START + i * STEP, "u") for i in range(7, 9)]   # ended at +2101
    assert len(server.order) == 2, server.order
    notice = server.order[1]
    assert f"silence {silence.id} on service:web (maintenance) ended." in notice
    assert "Resolved meanwhile: resolved after 5 min: service web up again" in notice
    assert "Still open" not in notice
    assert sum(1 for line in lines for n in line.get("notices", []) if n["kind"] == "resolved") == 0


def test_an_outage_that_began_and_ended_within_a_silence_is_not_news(argus_env, config_of):
    listener = Listener()
    with telegram() as server:
        config = config_of(service_env(argus_env, listener, server, ARGUS_DECIDER="rules"))
        silences.add(config, "*", 1800, "planned", now=START - 1, by="ops")
        for i, state in enumerate("uddduuuuuu"):
            run(config, listener, START + i * STEP, state)
    [notice] = server.order
    assert "on * (planned) ended. Nothing it covered is open." in notice


def test_a_silence_of_one_subject_does_not_hold_another(argus_env, config_of):
    listener = Listener()
    with telegram() as server:
        config = config_of(service_env(argus_env, listener, server, ARGUS_DECIDER="rules"))
        silences.add(config, "disk:*", 3600, "resize", now=START, by="ops")
        run(config, listener, START, "d")
    assert len(server.order) == 1 and "Service web is down" in server.order[0]


def window_around(start: float, minutes: int) -> str:
    begin = datetime.fromtimestamp(start, UTC)
    end = datetime.fromtimestamp(start + minutes * 60, UTC)
    return f"daily {begin:%H:%M}-{end:%H:%M} UTC"


def test_a_maintenance_window_observes_actions_and_holds_notices_until_it_ends(argus_env, config_of, tmp_path):
    window = window_around(START, 15)  # START .. START+900
    with spawned("sleep", "600") as proc, FakeAnthropic() as fake, telegram() as server:
        fake.default = lambda: tool_use({**kill_decision(proc.pid), "actions": [
            *kill_decision(proc.pid)["actions"],
            {"type": "alert", "subject": "memory", "message": "CRITICAL: memory 95%, sleep holds 900 MB"}]})
        env = llm_env(service_env(argus_env, Listener(), server, ARGUS_KILL_ALLOWLIST="sleep",
                                  ARGUS_MAINTENANCE=window, ARGUS_MEMORY_WARN_PCT="80", ARGUS_MEMORY_CRIT_PCT="90"),
                      fake, ARGUS_LLM_EVERY_CYCLE="true")
        config = config_of(env)
        collect = hog_host(proc.pid, create_time(proc.pid))
        inside = [run_cycle(config, now=START + i * STEP, collect=collect, install_signals=False) for i in range(3)]
        assert running(proc) and server.order == []
        for line in inside:
            assert line["mode"] == "observe" and line["maintenance"] == window and line["autonomy"] == "observe"
            kill, alert = line["actions"]
            assert kill["status"] == "observed" and "would send SIGTERM" in kill["detail"]
            assert alert["status"] == "suppressed" and f"maintenance window {window}" in alert["detail"]
        after = run_cycle(config, now=START + 3 * STEP, collect=collect, install_signals=False)
        proc.wait(timeout=10)
    assert after["mode"] == "act" and "maintenance" not in after
    assert [a["status"] for a in after["actions"]] == ["success", "suppressed"], (after, server.order)
    [notice] = server.order
    assert f"maintenance window {window} ended. Still open: memory usage>=crit" in notice
