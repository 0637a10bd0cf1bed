"""Incidents against a hostile decider, a careless hand edit and a failing host (from a red-team
review of the incidents change): each test failed before its fix, or pins what held."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers_anthropic import FakeAnthropic, llm_env, tool_use
from helpers_notify import FakeTelegram, running, stop, telegram_env

from argus_cli.cycle import run_cycle
from argus_cli.model import iso_z
from argus_cli.snapshot import parse_snapshot
from argus_cli.state.layout import INCIDENTS

STEP = 300
START = float(int(time.time()))
SCENARIOS = Path(__file__).parent / "scenarios"
BASE = json.loads((SCENARIOS / "memory_95_node_hog.json").read_text())["snapshot"]


@pytest.fixture
def argus_env(argus_env):
    """Nothing here may kill a real process: no orphan sweep, a kill allowlist no process matches."""
    return {**argus_env, "ARGUS_ORPHAN_SWEEP": "false", "ARGUS_KILL_ALLOWLIST": "argus-redteam-none",
            "ARGUS_TMUX_SOCKETS": ""}


def host(plan: list[dict[str, Any]]) -> Callable[[float], Any]:
    """One snapshot per cycle: memory percent, disk percent, web status."""
    left = iter(plan)

    def collect(now: float) -> Any:
        p = next(left)
        snap = copy.deepcopy(BASE)
        snap["ts"] = iso_z(now)
        snap["memory"]["percent"] = p.get("mem", 40.0)
        snap["disks"][0]["percent"] = p.get("disk", 35.0)
        snap["services"][0]["status"] = p.get("web", "up")
        for collector in p.get("failed", ()):  # that collector timed out: nothing measured
            snap[collector] = None if collector in ("memory", "swap") else []
            snap["errors"].append({"collector": collector, "error": "timed out after 5s"})
        return parse_snapshot(snap)
    return collect


def incident(subject: str, condition: str = "reported") -> Any:
    from argus_cli.state.layout import Incident
    return Incident(id="i", subject=subject, condition=condition, severity="critical", worst="critical", text="t",
                    opened=START, last_seen=START)


def cycles(config: Any, plan: list[dict[str, Any]], start: float = START) -> list[dict[str, Any]]:
    collect = host(plan)
    return [run_cycle(config, now=start + i * STEP, collect=collect, install_signals=False)
            for i in range(len(plan))]


# --- F1: a hand-edited time that is a number but no date fails every cycle ------------------------

@pytest.mark.parametrize("field,value", [("opened", 1e12), ("last_seen", -1e15), ("notified", 1e300)])
def test_an_incident_time_past_year_9999_does_not_fail_every_cycle(argus_env, config_of, field, value):
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    cycles(config, [{"web": "down"}])
    path = config.state_dir / "incidents.json"
    data = json.loads(path.read_text())
    [incident] = data["open"].values()
    incident[field] = value
    if field == "notified":
        incident["notified_severity"] = "critical"
    path.write_text(json.dumps(data))
    lines = cycles(config, [{"web": "down"}] * 3, start=START + STEP)
    assert "failed" not in [line["status"] for line in lines], [line.get("detail") for line in lines]
    details = [a["detail"] for line in lines for a in line["actions"]]
    assert not [d for d in details if "failed unexpectedly" in d], details



# --- F2: one label silences a different, critical problem --------------------------------------

@pytest.fixture
def tg():
    server = running(FakeTelegram())
    try:
        yield server
    finally:
        stop(server)


def llm_config(argus_env, config_of, server, fake, **extra):
    return config_of(llm_env(telegram_env({**argus_env, **extra}, server), fake, ARGUS_LLM_EVERY_CYCLE="true"))


def test_an_alert_about_memory_labelled_with_the_web_subject_still_reaches_the_operator(argus_env, config_of, tg):
    with FakeAnthropic() as fake:
        fake.queue(tool_use({"assessment": "web down", "actions": [
            {"type": "alert", "subject": "service:web", "message": "web is down"}]}))
        fake.queue(tool_use({"assessment": "memory", "actions": [
            {"type": "alert", "subject": "service:web", "message": "CRITICAL: memory at 97%, OOM imminent"}]}))
        config = llm_config(argus_env, config_of, tg, fake)
        lines = cycles(config, [{"web": "down"}, {"web": "down", "mem": 97.0}])
    # the mislabelled alert is held back with web's incident, but the critical memory finding is
    # never silent: the cycle tells the operator itself
    assert [a["status"] for a in lines[1]["actions"]] == ["suppressed"]
    assert [n["kind"] for n in lines[1]["notices"]] == ["opened"]
    assert any("Memory critical: 97% used" in t for t in tg.order), tg.order


def test_labelling_every_alert_decider_does_not_hold_back_distinct_critical_problems(argus_env, config_of, tg):
    texts = ["web is down", "CRITICAL: memory at 97%", "CRITICAL: disk / at 99%, writes failing"]
    with FakeAnthropic() as fake:
        for text in texts:
            fake.queue(tool_use({"assessment": "x", "actions": [
                {"type": "alert", "subject": "decider", "message": text}]}))
        config = llm_config(argus_env, config_of, tg, fake)
        lines = cycles(config, [{"web": "down"}, {"web": "down", "mem": 97.0},
                                {"web": "down", "mem": 97.0, "disk": 99.0}])
    # "decider" is Argus's own subject: each alert goes out keyed by its words, and each critical
    # finding is told as its incident opens
    assert [line["incidents"]["unkeyed"] for line in lines] == [1, 1, 1]
    for words in ("web is down", "memory at 97%", "disk / at 99%", "Service web is down", "Memory critical",
                  "Disk critical"):
        assert any(words in t for t in tg.order), (words, tg.order)


# --- F3: warning -> critical announces "back below the warning threshold" -----------------------

def test_memory_rising_from_warning_to_critical_is_not_announced_as_resolved(argus_env, config_of, tg):
    with FakeAnthropic(lambda: tool_use({"assessment": "memory", "actions": [
            {"type": "alert", "subject": "memory", "message": "memory is high"}]})) as fake:
        config = llm_config(argus_env, config_of, tg, fake)
        cycles(config, [{"mem": 85.0}, {"mem": 97.0}, {"mem": 97.0}, {"mem": 97.0}])
    assert not [t for t in tg.order if "resolved" in t], tg.order


# --- F4: a log keeps a reported incident open for ever ---------------------------------------------

def test_a_log_saying_all_is_well_does_not_keep_a_reported_incident_open(argus_env, config_of, tg):
    with FakeAnthropic() as fake:
        fake.queue(tool_use({"assessment": "x", "actions": [
            {"type": "alert", "subject": "process:node", "message": "node is spinning at 100% CPU"}]}))
        fake.default = lambda: tool_use({"assessment": "ok", "actions": [
            {"type": "log", "subject": "process:node", "observation": "node back to normal, nothing to do"}]})
        config = llm_config(argus_env, config_of, tg, fake)
        lines = cycles(config, [{}] * 6)
    assert lines[-1]["incidents"]["open"] == 0, INCIDENTS.read(config.state_dir)


# --- F5: a clock set back holds every reminder until it catches up -----------------------------------

def test_a_clock_corrected_backwards_does_not_mute_reminders_until_it_catches_up(argus_env, config_of, tg):
    config = config_of(telegram_env({**argus_env, "ARGUS_DECIDER": "rules", "ARGUS_REPEAT_INTERVAL": "900"}, tg))
    cycles(config, [{"web": "down"}], start=START + 86400)  # RTC a day ahead; NTP then corrects it
    cycles(config, [{"web": "down"}] * 8, start=START)  # 40 min down, reminder every 15
    assert len(tg.order) >= 2, tg.order


# --- F6: a decider that raises ten subjects every third cycle --------------------------------------

SUBJECTS = ["memory", "swap", "load", "decider", "disk:/", "service:web", "service:db", "process:node",
            "process:postgres", "tmux:agents"]


def test_ten_reported_subjects_raised_every_third_cycle_do_not_multiply_the_messages(argus_env, config_of, tg):
    burst = tool_use({"assessment": "x", "actions": [
        {"type": "alert", "subject": s, "message": f"{s} looks wrong"} for s in SUBJECTS]})
    quiet = tool_use({"assessment": "fine", "actions": []})
    with FakeAnthropic() as fake:
        for i in range(12):
            fake.queue(burst if i % 3 == 0 else quiet)
        config = llm_config(argus_env, config_of, tg, fake)
        cycles(config, [{}] * 12)  # one hour
    # one message per subject, as the same texts deduplicated by their words made: a reported
    # incident raised again soon after it lapsed keeps what the operator was told, and ends quietly
    assert len(tg.order) == len(SUBJECTS), tg.order


# --- dry runs --------------------------------------------------------------------------------------

def _files(state: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(state.iterdir()) if p.is_file()
            and p.name.startswith(("incidents", "problems", "dedup", "outbox", "restart"))}


def test_dry_runs_write_no_incident_state(argus_env, config_of, tg, tmp_path):
    from helpers_actions import install_bd, install_systemctl, recorded
    bin_dir = tmp_path / "bin"
    install_systemctl(bin_dir)
    install_bd(bin_dir)
    decision = tool_use({"assessment": "x", "actions": [
        {"type": "restart_service", "subject": "service:web", "target": "web.service", "reason": "down"},
        {"type": "kill_pid", "subject": "memory", "target": 4242, "reason": "hog"},
        {"type": "clean_disk", "subject": "disk:/", "reason": "full"},
        {"type": "alert", "subject": "service:web", "message": "web down"},
        {"type": "alert", "subject": "tmux:agents", "message": "agents stuck"},
        {"type": "log", "subject": "process:postgres", "observation": "pg slow"}]})
    with FakeAnthropic(lambda: decision) as fake:
        config = llm_config(argus_env, config_of, tg, fake, ARGUS_ALLOWED_SERVICES="web.service",
                            ARGUS_SYSTEMCTL_BIN=str(bin_dir / "systemctl"), ARGUS_BD_BIN=str(bin_dir / "bd"))
        cycles(config, [{"web": "down", "mem": 97}])
        before, sent = _files(config.state_dir), len(tg.order)
        beads_before = recorded(bin_dir, "bd")
        collect = host([{"web": "up"}, {"web": "up"}, {"web": "up"}, {"web": "down", "mem": 99, "disk": 99}])
        for i in range(4):
            run_cycle(config, now=START + (i + 1) * 4000, collect=collect, install_signals=False, dry_run=True)
    assert _files(config.state_dir) == before
    assert len(tg.order) == sent
    assert recorded(bin_dir, "bd") == beads_before


# --- read-only commands on a bad incidents.json ------------------------------------------------------

BAD_BOOKS = {
    "not-json": b"{nope",
    "wrong-type": b'{"open": {"x y": {"id": 1}}}',
    "huge-int": b'{"open": {}, "recent": {"a b": {"changes": [], "resolved": 1' + b"0" * 40 + b"}}}",
    "negative-absent": json.dumps({"open": {"service:web down": {"id": "i", "subject": "service:web",
        "condition": "down", "severity": "critical", "worst": "critical", "text": "t", "opened": 1,
        "last_seen": 1, "absent": -5}}}).encode(),
    "far-times": json.dumps({"open": {"service:web down": {"id": "i", "subject": "service:web",
        "condition": "down", "severity": "critical", "worst": "critical", "text": "t", "opened": 1e300,
        "last_seen": -1e300, "notified": 1e18, "actions": [{"type": "kill_pid", "target": "1", "at": 1e300,
        "status": "success"}]}}}).encode(),
    "deep": b'{"open": {}, "x": ' + b"[" * 100000 + b"]" * 100000 + b"}",
    "many": b'{"open": {}, "recent": {"a b": {"changes": [' + b",".join([b"1"] * 1_000_000) + b"]}}}",
}


@pytest.mark.parametrize("name", list(BAD_BOOKS))
def test_read_only_commands_leave_a_bad_book_byte_for_byte(argus_env, config_of, run_argus, name):
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    cycles(config, [{"web": "down"}])
    path = config.state_dir / "incidents.json"
    path.write_bytes(BAD_BOOKS[name])
    env = {**argus_env, "ARGUS_DECIDER": "rules"}
    outs = {}
    for args in (["last"], ["last", "--json"], ["stats"], ["patterns", "analyze"], ["doctor"], ["decide"],
                 ["relay-summary", "--dry-run"]):
        result = run_argus(*args, env=env)
        outs[" ".join(args)] = (result.returncode, result.stderr[-300:])
        assert path.read_bytes() == BAD_BOOKS[name], args
    assert not [k for k, (rc, err) in outs.items() if "Traceback" in err], outs


def test_argus_decide_with_the_llm_survives_a_far_time_in_the_book(argus_env, config_of, run_argus):
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    cycles(config, [{"web": "down"}])
    (config.state_dir / "incidents.json").write_bytes(BAD_BOOKS["far-times"])
    with FakeAnthropic(lambda: tool_use({"assessment": "ok", "actions": []})) as fake:
        result = run_argus("decide", env=llm_env(argus_env, fake))
    assert result.returncode == 0


# --- F7: an incident whose book was lost stays "open" in every report for ever ---------------------

def test_an_incident_lost_with_a_corrupt_book_is_not_open_for_ever_in_the_reports(argus_env, config_of):
    from argus_cli.reports.incidents import read_incidents
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    cycles(config, [{"web": "down"}])
    (config.state_dir / "incidents.json").write_text("{corrupt")  # a bad edit; the cycle moves it aside
    cycles(config, [{"web": "down"}, {"web": "up"}, {"web": "up"}, {"web": "up"}], start=START + STEP)
    assert INCIDENTS.read(config.state_dir).open == {}  # the book knows of nothing open
    history = read_incidents(config.state_dir / "incidents.jsonl", START + 400 * STEP, 30)
    assert history.open == 0


# --- F8: subjects outside a cycle may hold line separators and bidi controls --------------------------

@pytest.mark.parametrize("subject", ["process:x\u2028Problem key: service:web", "process:x\x85y",
                                     "process:\u202egnp.exe", "process:  padded  "])
def test_a_subject_without_a_snapshot_is_still_printable_one_line(argus_env, config_of, subject):
    from argus_cli.actions.guardrails import Alert, parse
    config = config_of(argus_env)
    request = parse({"type": "alert", "subject": subject, "message": "m"}, 0, config, None)
    assert isinstance(request, Alert)
    assert request.subject is None, request  # set aside, as a cycle would (not a subject of any snapshot)


def test_argus_act_subject_with_a_line_separator_cannot_plant_a_bead_key(argus_env, run_argus, tmp_path):
    from helpers_actions import beads, install_bd
    bin_dir = tmp_path / "bin"
    install_bd(bin_dir)
    env = {**argus_env, "ARGUS_BD_BIN": str(bin_dir / "bd"), "ARGUS_RELAY_ENABLED": "false"}
    decision = {"assessment": "x", "actions": [
        {"type": "alert", "subject": "process:x\u2028Problem key: service:web down", "message": "hello"}]}
    run_argus("act", "--decision", "-", env=env, input=json.dumps(decision))
    bodies = [b["description"] for b in beads(bin_dir)]
    # bd's bead lookup (notify/beads.py:48) splits on str.splitlines(), which breaks at U+2028
    planted = "Problem key: service:web down reported"
    assert not any(line.strip() == planted for body in bodies for line in body.splitlines())


# --- F9: a flap setting so low that every recovery is "flapping" --------------------------------

def test_the_lowest_flap_setting_still_announces_a_plain_recovery(argus_env, config_of, tg):
    config = config_of(telegram_env({**argus_env, "ARGUS_DECIDER": "rules", "ARGUS_FLAP_TRANSITIONS": "4"}, tg))
    cycles(config, [{"web": "down"}] * 3 + [{"web": "up"}] * 3)
    assert any("resolved after" in t for t in tg.order), tg.order
    assert not any("flapping" in t for t in tg.order), tg.order


# --- Telegram down / refusing ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["500", "400"])
def test_telegram_failing_during_an_incident_holds(argus_env, config_of, tg, mode):
    """HOLDS: queued alerts count as notified, nothing repeats, everything arrives once Telegram is back."""
    tg.default = mode
    config = config_of(telegram_env({**argus_env, "ARGUS_DECIDER": "rules", "ARGUS_REPEAT_INTERVAL": "900",
                                     "ARGUS_TELEGRAM_BUDGET_SECONDS": "5"}, tg))
    lines = cycles(config, [{"web": "down"}] * 4 + [{"web": "up"}] * 3)
    tg.default = "ok"
    lines += cycles(config, [{"web": "up"}] * 2, start=START + 7 * STEP)
    assert [n["status"] for line in lines for n in line.get("notices", [])] == ["queued"]
    assert len(tg.order) == 3 and "still open since" in tg.order[1] and "resolved after" in tg.order[2]


# --- F10: a tmux server that did not answer counts as "session gone" ---------------------------------

def test_a_kill_tmux_is_not_fixed_when_its_server_did_not_answer(argus_env, config_of):
    from argus_cli.incidents.outcomes import judge
    from argus_cli.state.layout import IncidentAction
    config = config_of(argus_env)
    snap = copy.deepcopy(BASE)
    snap["tmux"] = [{"socket": "default", "sessions": [], "detail": "tmux list-sessions timed out after 5s"}]
    action = IncidentAction("kill_tmux", "agents", START, "success")
    assert judge(action, incident("tmux:agents"), parse_snapshot(snap), config, None) is None


# --- F11: a service check that could not answer ("unknown") resolves the incident as "up again" -------

def test_a_service_whose_check_hangs_is_not_announced_as_up_again(argus_env, config_of, tg):
    config = config_of(telegram_env({**argus_env, "ARGUS_DECIDER": "rules"}, tg))
    cycles(config, [{"web": "down"}] * 2 + [{"web": "unknown"}] * 3)
    assert not [t for t in tg.order if "up again" in t], tg.order


def test_a_restart_followed_by_an_unanswered_check_is_not_judged(argus_env, config_of):
    from argus_cli.incidents.outcomes import judge
    from argus_cli.state.layout import IncidentAction
    config = config_of(argus_env)
    snap = copy.deepcopy(BASE)
    snap["services"][0].update(status="unknown", detail="systemctl is-active timed out after 3s")
    action = IncidentAction("restart_service", "web.service", START, "success")
    assert judge(action, incident("service:web", "down"), parse_snapshot(snap), config, None) is None


@pytest.mark.parametrize("collector,plan,says", [
    ("services", {"web": "down"}, "service web up again"),
    ("disks", {"disk": 99.0}, "disk / back below the critical threshold"),
    ("memory", {"mem": 97.0}, "memory back below the critical threshold")])
def test_a_collector_that_timed_out_does_not_resolve_its_incidents(argus_env, config_of, tg, *, collector, plan,
                                                                   says):
    config = config_of(telegram_env({**argus_env, "ARGUS_DECIDER": "rules"}, tg))
    cycles(config, [plan] * 2 + [{**plan, "failed": [collector]}] * 3)
    assert not [t for t in tg.order if says in t], tg.order


# --- F12: a long list in incidents.json goes to the LLM whole, every cycle --------------------------

def test_a_book_with_a_huge_action_list_does_not_blow_up_the_llm_request(argus_env, config_of, tg):
    with FakeAnthropic(lambda: tool_use({"assessment": "ok", "actions": []})) as fake:
        config = llm_config(argus_env, config_of, tg, fake)
        incident = {"id": "i", "subject": "service:web", "condition": "down", "severity": "critical",
                    "worst": "critical", "text": "t", "opened": START, "last_seen": START,
                    "notes": ["n" * 200] * 20000,
                    "actions": [{"type": "restart_service", "target": "web.service", "at": START,
                                 "status": "failure"}] * 20000}
        config.state_dir.mkdir(parents=True, exist_ok=True)
        (config.state_dir / "incidents.json").write_text(json.dumps({"open": {"service:web down": incident}}))
        cycles(config, [{"web": "down"}] * 2, start=START + STEP)
        sizes = [len(fake.user_text(i)) for i in range(len(fake.requests))] if hasattr(fake, "requests") else []
    assert all(size < 256 * 1024 for size in sizes), sizes


@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory"])
def test_a_non_regular_book_holds(argus_env, config_of, run_argus, kind, tmp_path):
    """HOLDS: read-only commands leave it; the cycle moves it aside once and goes on."""
    import os
    config = config_of({**argus_env, "ARGUS_DECIDER": "rules"})
    cycles(config, [{"web": "down"}])
    path = config.state_dir / "incidents.json"
    path.unlink()
    target = tmp_path / "elsewhere.json"
    target.write_text('{"open": {}}')
    {"fifo": lambda: os.mkfifo(path), "symlink": lambda: path.symlink_to(target),
     "directory": path.mkdir}[kind]()
    env = {**argus_env, "ARGUS_DECIDER": "rules"}
    for args in (["last"], ["last", "--json"], ["stats"], ["patterns", "analyze"], ["decide"]):
        result = run_argus(*args, env=env, timeout=60)
        assert "Traceback" not in result.stderr, (args, result.stderr[-500:])
        assert (os.path.lexists(path) and not path.is_file()) or kind == "symlink", args
    lines = cycles(config, [{"web": "down"}] * 2, start=START + STEP)
    assert [line["status"] for line in lines] == ["ok", "ok"], lines
    assert target.read_text() == '{"open": {}}'


def test_a_critical_alert_on_a_warning_rule_incident_is_an_escalation(argus_env, config_of, tg):
    with FakeAnthropic() as fake:
        fake.queue(tool_use({"assessment": "disk", "actions": [
            {"type": "alert", "subject": "disk:/", "message": "disk / at 85%, keep an eye on it"}]}))
        fake.queue(tool_use({"assessment": "disk", "actions": [
            {"type": "alert", "subject": "disk:/",
             "message": "CRITICAL: disk / grows 2 GB a minute, full in 5 minutes"}]}))
        config = llm_config(argus_env, config_of, tg, fake)
        cycles(config, [{"disk": 85.0}, {"disk": 86.0}])
    assert len(tg.order) == 2, tg.order


@pytest.mark.parametrize("resolve", ["1", "100"])
@pytest.mark.parametrize("flap", ["4", "100"])
@pytest.mark.parametrize("repeat", ["60", "14400"])
def test_extreme_settings_hold(argus_env, config_of, tg, *, resolve, flap, repeat):
    """HOLDS: no crash, at most one message per cycle per incident, the book ends consistent."""
    config = config_of(telegram_env({**argus_env, "ARGUS_DECIDER": "rules", "ARGUS_RESOLVE_CYCLES": resolve,
                                     "ARGUS_FLAP_TRANSITIONS": flap, "ARGUS_REPEAT_INTERVAL": repeat}, tg))
    plan = "ddudduddddudududuuuuuuuuuuuuuuuu"
    lines = cycles(config, [{"web": "down" if c == "d" else "up"} for c in plan])
    assert {line["status"] for line in lines} == {"ok"}
    assert len(tg.order) <= len(plan), tg.order


def test_pid_reuse_and_a_missing_table_hold(argus_env, config_of):
    """HOLDS: a PID now running another process is 'gone'; no start time recorded is never 'fixed'
    while the PID runs; no process table (sweep failed) or no memory reading waits."""
    from argus_cli.cycle import _alive
    from argus_cli.incidents.outcomes import judge
    from argus_cli.processes import ProcessRow
    from argus_cli.state.layout import IncidentAction
    config = config_of(argus_env)
    snap = copy.deepcopy(BASE)
    snap["memory"]["percent"] = 50.0
    low = parse_snapshot(snap)
    snap["memory"] = None
    unmeasured = parse_snapshot(snap)
    reused = _alive([ProcessRow(pid=4242, ppid=1, name="other", rss_kb=1, create_time=2000.0, cmdline=())])
    memory, node = incident("memory", "usage>=crit"), incident("process:node")
    kill = IncidentAction("kill_pid", "4242", START, "success", pid=4242, create_time=1000.0, percent=95.0)
    assert judge(kill, memory, low, config, reused) == "fixed"  # another process took the PID
    assert judge(kill, node, low, config, reused) == "fixed"
    blind = IncidentAction("kill_pid", "4242", START, "success", pid=4242, create_time=None, percent=95.0)
    assert judge(blind, node, low, config, reused) == "unchanged"
    assert judge(kill, memory, low, config, None) is None
    assert judge(kill, memory, unmeasured, config, reused) is None


# --- F13: one incidents.jsonl line with a non-string event crashes every report ----------------------

@pytest.mark.parametrize("args", [["stats"], ["stats", "--json"], ["patterns", "analyze"], ["patterns", "detect"],
                                  ["relay-summary"]])
def test_a_garbage_event_line_is_skipped_by_the_reports(argus_env, run_argus, args, tmp_path):
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(parents=True, mode=0o700)
    (state / "incidents.jsonl").write_text(
        '{"event": {}, "id": "a", "subject": "s", "ts": "2026-01-01T00:00:00Z"}\n')
    result = run_argus(*args, env={**argus_env, "ARGUS_RELAY_ENABLED": "false"})
    assert "Traceback" not in result.stderr and "TypeError" not in result.stderr, result.stderr[-500:]


def test_explore_fuzz_book_values(argus_env, config_of, tg):
    """Exploration: random values in each field of a valid book; report what fails repeatedly."""
    import random
    random.seed(7)
    config = config_of(telegram_env({**argus_env, "ARGUS_DECIDER": "rules"}, tg))
    cycles(config, [{"web": "down", "disk": 99.0}] * 2)
    path = config.state_dir / "incidents.json"
    good = json.loads(path.read_text())
    good["recent"] = {"memory usage>=crit": {"changes": [START], "flapping": True, "resolved": START, "told": True}}
    values = [1e12, -1e12, 1e300, -1e300, 2**63 - 1, -(2**63), 0, -1, 1e-300, 253402300800, 253402300799]
    paths = []

    def walk(node, trail):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, [*trail, k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, [*trail, i])
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            paths.append(trail)
    walk(good, [])
    found = set()
    for trail in paths:
        for value in values:
            data = copy.deepcopy(good)
            node = data
            for step in trail[:-1]:
                node = node[step]
            node[trail[-1]] = value
            path.write_text(json.dumps(data))
            lines = cycles(config, [{"web": "down", "disk": 99.0}] * 3, start=START + 10 * STEP)
            bad = [line.get("detail") or "" for line in lines if line["status"] == "failed"] + \
                  [a["detail"] for line in lines for a in line["actions"] if "unexpectedly" in a["detail"]] + \
                  [e for line in lines for e in line.get("errors", [])]
            if len(bad) >= 3:
                found.add((str(trail[-3:]), repr(value), bad[-1][:90]))
            path.unlink(missing_ok=True)
            for p in config.state_dir.glob("incidents.json.corrupt-*"):
                p.unlink()
    assert not found, sorted(found)


def test_subject_consistency_holds(argus_env, config_of):
    """HOLDS: a restart of an allowed unit under another service's subject, a clean_disk on a path
    not watched, a kill_tmux under a service subject are refused; 'decider' fits no host change."""
    from argus_cli.actions.guardrails import Rejection, parse
    config = config_of({**argus_env, "ARGUS_ALLOWED_SERVICES": "web.service",
                        "ARGUS_SERVICES": "web=tcp:127.0.0.1:1,db=systemd:postgresql.service"})
    snap = parse_snapshot(BASE)
    for raw in ({"type": "restart_service", "subject": "service:db", "target": "web.service", "reason": "r"},
                {"type": "restart_service", "subject": "decider", "target": "web.service", "reason": "r"},
                {"type": "clean_disk", "subject": "disk:/data", "reason": "r"},
                {"type": "clean_disk", "subject": "memory", "reason": "r"},
                {"type": "kill_tmux", "subject": "service:web", "target": "agents", "reason": "r"},
                {"type": "kill_pid", "subject": "service:web", "target": 4242, "reason": "r"},
                {"type": "kill_pid", "subject": "process:postgres", "target": 4242, "reason": "r"}):
        assert isinstance(parse(raw, 0, config, snap), Rejection), raw
