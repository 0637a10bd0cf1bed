"""alert (prefix, cap, hog enrichment, dedup, delivery through a local Telegram) and log (escalation)."""

from __future__ import annotations

import socket

import pytest
from helpers_actions import actions_env, beads, install_bd, registry, use_env
from helpers_notify import FakeTelegram, running, stop, telegram_env

from argus_cli.actions.enrich import hog_suffix
from argus_cli.actions.execute import execute_decision
from argus_cli.model import Decision
from argus_cli.snapshot import Snapshot, parse_snapshot

HOST = socket.gethostname()
T0 = 1_800_000_000.0
HOG = {"pid": 4242, "name": "pt_main thread", "rss_kb": 2760196, "mem_percent": 11.23, "runtime": "1-18:08:53",
       "create_time": 1.0, "kill_candidate": False}


def critical_snapshot(percent: float = 93.0) -> Snapshot:
    return parse_snapshot({"memory": {"percent": percent}, "memory_hog": HOG, "top_processes": [HOG]})


@pytest.fixture
def telegram():
    fake = running(FakeTelegram())
    yield fake
    stop(fake)


@pytest.fixture
def config(argus_env, tmp_path, monkeypatch, telegram):
    install_bd(tmp_path / "bin")
    env = telegram_env(actions_env(argus_env, tmp_path, ARGUS_BD_BIN="bd"), telegram)
    return use_env(monkeypatch, env)


def _run(config, actions, now=T0, snapshot=None, dry_run=False):
    return execute_decision(config, Decision("t", actions), snapshot, dry_run=dry_run, now=now)


def test_hog_suffix_has_the_exact_form(config):
    assert hog_suffix(critical_snapshot(), config) == (
        "; hog_process=pt_main_thread,hog_pid=4242,hog_rss_kb=2760196,hog_mem_pct=11.2,"
        "hog_runtime=1-18:08:53,hog_kill_candidate=no")
    assert hog_suffix(critical_snapshot(90.0), config).startswith("; hog_process=")  # at the threshold
    assert hog_suffix(critical_snapshot(89.9), config) == ""
    assert hog_suffix(None, config) == ""
    partial = parse_snapshot({"memory": {"percent": 95.0}, "memory_hog": {"pid": 4242, "name": "node"}})
    assert hog_suffix(partial, config) == ""  # no enrichment rather than a wrong one


def test_alert_is_prefixed_enriched_delivered_and_recorded(config, telegram, tmp_path):
    [result] = _run(config, [{"type": "alert", "message": "memory critical at 93%"}], snapshot=critical_snapshot())
    assert result.status == "success", result.detail
    [text] = telegram.order
    assert text == f"[{HOST}] memory critical at 93%" + hog_suffix(critical_snapshot(), config)
    [line] = registry(config)
    assert (line["type"], line["severity"], line["action_taken"]) == ("memory", "critical", "alert:telegram")
    assert line["description"] == text and line["bead_id"] == beads(tmp_path / "bin")[0]["id"]


def test_the_hog_goes_only_with_an_alert_about_memory(config, telegram):
    snap = parse_snapshot({"memory": {"percent": 93.0}, "memory_hog": HOG, "top_processes": [HOG],
                           "services": [{"name": "web", "status": "down"}]})
    _run(config, [{"type": "alert", "subject": "service:web", "message": "web down"},
                  {"type": "alert", "subject": "memory", "message": "memory critical at 93%"}], snapshot=snap)
    assert telegram.order == [f"[{HOST}] web down", f"[{HOST}] memory critical at 93%" + hog_suffix(snap, config)]


def test_an_existing_prefix_is_not_doubled_and_long_messages_are_capped(config, telegram):
    _run(config, [{"type": "alert", "message": f"[{HOST}] disk full " + "x" * 6000}])
    [text] = telegram.order
    assert text.startswith(f"[{HOST}] disk full") and not text.startswith(f"[{HOST}] [{HOST}]")
    assert len(text) == 4096


def test_the_same_alert_with_other_numbers_is_suppressed(config, telegram):
    first = _run(config, [{"type": "alert", "message": "memory at 91%"}])[0]
    second = _run(config, [{"type": "alert", "message": "memory at 92%"}], now=T0 + 60)[0]
    assert (first.status, second.status) == ("success", "suppressed")
    assert second.detail == "the same alert went out less than 3600s ago"  # not "suppressed suppressed: ..."
    assert len(telegram.order) == 1
    assert [p["action_result"] for p in registry(config)] == ["success", "suppressed"]
    later = _run(config, [{"type": "alert", "message": "memory at 95%"}], now=T0 + 3600)[0]
    assert later.status == "success"  # the window is over


def test_an_alert_never_sent_starts_no_suppression_window(argus_env, tmp_path, monkeypatch, telegram):
    unconfigured = use_env(monkeypatch, actions_env(argus_env, tmp_path))
    first = _run(unconfigured, [{"type": "alert", "message": "memory at 91%"}])[0]
    second = _run(unconfigured, [{"type": "alert", "message": "memory at 92%"}], now=T0 + 60)[0]
    assert (first.status, second.status) == ("skipped", "skipped"), second.detail
    configured = use_env(monkeypatch, telegram_env(actions_env(argus_env, tmp_path), telegram))
    third = _run(configured, [{"type": "alert", "message": "memory at 93%"}], now=T0 + 120)[0]
    assert third.status == "success" and len(telegram.order) == 1  # configured mid-window: it goes out
    fourth = _run(configured, [{"type": "alert", "message": "memory at 94%"}], now=T0 + 180)[0]
    assert fourth.status == "suppressed"  # from the alert that went out, not from the skipped ones
    import json
    [entry] = json.loads((configured.state_dir / "dedup.json").read_text())["keys"].values()
    assert entry["count"] == 4 and entry["last_seen"] == T0 + 120


def test_a_queued_alert_starts_the_suppression_window(config, telegram):
    telegram.default = "500"
    first = _run(config, [{"type": "alert", "message": "gateway down"}])[0]
    assert first.status == "failure" and "queued in outbox" in first.detail
    telegram.default = "ok"
    second = _run(config, [{"type": "alert", "message": "gateway down"}], now=T0 + 60)[0]
    assert second.status == "suppressed"  # the queued copy goes out; no second copy
    assert len(telegram.order) == 0


def test_dedup_compacts_keys_older_than_the_retention(config):
    import json
    _run(config, [{"type": "alert", "message": "disk full on /"}])
    _run(config, [{"type": "alert", "message": "swap at 70%"}], now=T0 + 200_000)
    keys = json.loads((config.state_dir / "dedup.json").read_text())["keys"]
    assert len(keys) == 1


def test_undeliverable_alert_never_fails_the_run(config, telegram):
    telegram.default = "500"
    [result] = _run(config, [{"type": "alert", "message": "gateway down"}])
    assert result.status == "failure" and "outbox" in result.detail
    assert registry(config)[0]["action_result"] == "failure"


def test_log_appends_and_escalates_on_the_third_repeat(config, tmp_path):
    observations = [f"load elevated at {n}.5 per core" for n in (3, 4, 5)]
    results = [_run(config, [{"type": "log", "observation": o}], now=T0 + i)[0] for i, o in enumerate(observations)]
    assert [r.extra["escalated"] for r in results] == [False, False, True]
    lines = (config.state_dir / "observations.md").read_text().splitlines()
    assert len(lines) == 3 and lines[0].endswith("load elevated at 3.5 per core")
    records = registry(config)
    assert [r["severity"] for r in records] == ["info", "info", "warning"]
    assert records[2]["bead_id"] is not None and records[2]["action_taken"] == "log:observation"


def test_a_different_observation_breaks_the_streak(config):
    for i, text in enumerate(["swap at 60%", "swap at 61%", "disk at 80%", "swap at 62%"]):
        result = _run(config, [{"type": "log", "observation": text}], now=T0 + i)[0]
    assert (result.extra["repeats"], result.extra["escalated"]) == (1, False)
    # a log has no automatic remediation (SPEC §7): each files a bead, one per problem key, reused
    bead_ids = [r["bead_id"] for r in registry(config)]
    assert None not in bead_ids
    assert bead_ids[0] == bead_ids[1] == bead_ids[3] != bead_ids[2]


def test_dry_run_sends_and_records_nothing(config, telegram):
    results = _run(config, [{"type": "alert", "message": "memory critical"}, {"type": "log", "observation": "x"}],
                   dry_run=True)
    assert [r.status for r in results] == ["skipped", "skipped"]
    assert telegram.order == []
    assert not config.state_dir.exists() or not any(config.state_dir.iterdir())
