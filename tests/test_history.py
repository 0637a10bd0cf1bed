"""`argus history` and `argus explain` over a trail of real cycles: a real TCP listener as the
service, the local Messages API stand-in as the LLM, a stand-in systemctl, an injected clock.

The trail (one state dir for the module, only read by the tests; tests that add lines copy it):
0 web up, rules: quiet; 1 web down, the LLM restarts it (success), asks for a restart the
guardrails reject, alerts: service:web down opens; 2 web up, LLM: the restart is judged fixed;
3 up, rules: resolved; 4 up, a dry run; 5 down, the LLM answers with terminal escapes and a
very long reason (rejected); 6 down, rules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers_actions import install_systemctl, recorded
from helpers_anthropic import DUMMY_KEY, NOMINAL, FakeAnthropic, tool_use
from helpers_http import Listener

from argus_cli.config import load
from argus_cli.cycle import run_cycle
from argus_cli.reports.history import read_window
from argus_cli.state.files import iter_jsonl

STEP = 300
START = float(int(time.time()) - 3600)  # an hour ago: real collection measures uptime against it
QUIET_HOST = {"ARGUS_DISK_WARN_PCT": "99", "ARGUS_DISK_CRIT_PCT": "100", "ARGUS_MEMORY_WARN_PCT": "99",
              "ARGUS_MEMORY_CRIT_PCT": "100", "ARGUS_SWAP_WARN_PCT": "100", "ARGUS_LOAD_FACTOR": "1000",
              "ARGUS_BOOT_GRACE_SECONDS": "0", "ARGUS_ORPHAN_SWEEP": "false", "ARGUS_TMUX_SOCKETS": ""}
RESTART = {"type": "restart_service", "subject": "service:web", "target": "web.service",
           "reason": "web refuses connections on its port"}
NOT_ALLOWED = {"type": "restart_service", "subject": "service:web", "target": "db.service", "reason": "db too"}
ALERT = {"type": "alert", "subject": "service:web", "message": "web is down, restarted it"}
EVIL = "\x1b[2J\x1b]0;pwned\x07"
HOSTILE = {"assessment": f"{EVIL}all good", "actions": [
    {"type": "restart_service", "subject": f"service:{EVIL}evil", "target": "web.service",
     "reason": EVIL + "A" * 5000}]}
OWN = ("ARGUS_", "ANTHROPIC_", "TELEGRAM_")


@dataclass
class Trail:
    env: dict[str, str]
    state: Path
    lines: list[dict[str, Any]]

    @property
    def ts(self) -> list[str]:
        return [str(line["ts"]) for line in self.lines]


def trail_env(root: Path, fake: FakeAnthropic, listener: Listener) -> dict[str, str]:
    """What `argus` sees: this machine's settings left out, everything under ``root``."""
    for name in ("host", "home", "bin"):
        (root / name).mkdir()
    (root / "empty.env").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN)}
    return {**env, **QUIET_HOST, "ARGUS_ENV_FILE": str(root / "empty.env"), "ARGUS_STATE_DIR": str(root / "state"),
            "ARGUS_HOST_ROOT": str(root / "host"), "HOME": str(root / "home"), "NO_COLOR": "1",
            "ARGUS_SERVICES": f"web=tcp:127.0.0.1:{listener.port}", "ARGUS_ALLOWED_SERVICES": "web.service",
            "ARGUS_SYSTEMCTL_BIN": str(install_systemctl(root / "bin")), "ARGUS_RELAY_ENABLED": "false",
            "ARGUS_BD_BIN": str(root / "no-bd"), "ARGUS_LLM_EVERY_CYCLE": "true",
            "ANTHROPIC_API_KEY": DUMMY_KEY, "ANTHROPIC_BASE_URL": fake.url}


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trail]:
    root = tmp_path_factory.mktemp("trail")
    listener = Listener()
    plan = [("u", "rules", None, False), ("d", None, {"assessment": "web is down", "actions": [
        RESTART, NOT_ALLOWED, ALERT]}, False), ("u", None, NOMINAL, False), ("u", "rules", None, False),
            ("u", "rules", None, True), ("d", None, HOSTILE, False), ("d", "rules", None, False)]
    with FakeAnthropic() as fake:
        env = trail_env(root, fake, listener)
        config = load(env)
        lines = []
        for i, (state, decider, answer, dry_run) in enumerate(plan):
            listener.up() if state == "u" else listener.down()
            if answer is not None:
                fake.queue(tool_use(answer))
            lines.append(run_cycle(config, now=START + i * STEP, decider=decider, dry_run=dry_run,
                                   install_signals=False))
    listener.down()
    assert [c[:1] for c in recorded(root / "bin", "systemctl")].count(["restart"]) == 1
    yield Trail(env, config.state_dir, lines)


def argus(run_argus: Any, trail: Trail, *args: str, env: dict[str, str] | None = None) -> Any:
    proc = run_argus(*args, env=env or trail.env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def copied(trail: Trail, tmp_path: Path) -> dict[str, str]:
    """The trail's environment on a copy of its state dir, for a test that adds lines."""
    shutil.copytree(trail.state, tmp_path / "state")
    return {**trail.env, "ARGUS_STATE_DIR": str(tmp_path / "state")}


def append(env: dict[str, str], *lines: object) -> None:
    with open(Path(env["ARGUS_STATE_DIR"]) / "cycles.jsonl", "a") as out:
        out.writelines((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


# --- argus history ------------------------------------------------------------------------------

def test_history_is_one_line_per_cycle_with_actions_outcomes_and_incidents(trail: Trail, run_argus: Any) -> None:
    proc = argus(run_argus, trail, "history", "--since", "2h")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 7
    ts = trail.ts
    assert lines[0] == f"{ts[0]}  ok        act      rules     quiet"
    assert lines[1] == (f"{ts[1]}  critical  act      llm       restart_service web.service success (fixed) · "
                        "restart_service db.service rejected · alert service:web skipped · opened service:web down")
    assert lines[2] == f"{ts[2]}  ok        act      llm       judged restart_service web.service: fixed"
    assert lines[3] == f"{ts[3]}  ok        act      rules     resolved service:web down"
    assert lines[4] == f"{ts[4]}  ok        DRY-RUN  rules     quiet"
    assert lines[5].startswith(f"{ts[5]}  critical  act      llm       restart_service web.service rejected · "
                               "opened service:web down")


def test_history_json_has_one_object_per_cycle_under_stable_keys(trail: Trail, run_argus: Any) -> None:
    proc = argus(run_argus, trail, "history", "--json", "--since", "7200")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["ts"] for r in rows] == trail.ts
    keys = {"ts", "status", "detail", "health", "mode", "autonomy", "decider", "llm_called", "open_findings",
            "findings", "actions", "opened", "resolved", "judged", "notices", "approvals"}
    assert all(set(r) == keys for r in rows)
    assert [r["mode"] for r in rows] == ["act"] * 4 + ["dry-run"] + ["act"] * 2
    assert rows[1]["actions"] == [
        {"type": "restart_service", "target": "web.service", "subject": "service:web", "status": "success",
         "outcome": "fixed"},
        {"type": "restart_service", "target": "db.service", "subject": "service:web", "status": "rejected",
         "outcome": None},
        {"type": "alert", "target": "telegram", "subject": "service:web", "status": "skipped", "outcome": None}]
    assert rows[1]["findings"] == ["service:web down"] and rows[1]["opened"] == ["service:web down"]
    assert rows[2]["judged"] == [{"subject": "service:web", "condition": "down", "type": "restart_service",
                                  "target": "web.service", "outcome": "fixed", "at": rows[1]["ts"]}]
    assert rows[3]["resolved"] == ["service:web down"] and rows[0]["llm_called"] is False


def test_subject_filter_keeps_the_cycles_that_touch_a_matching_subject(trail: Trail, run_argus: Any) -> None:
    proc = argus(run_argus, trail, "history", "--since", "2h", "--subject", "service:*", "--json")
    assert [r["ts"] for r in json.loads(proc.stdout)] == [trail.ts[i] for i in (1, 2, 3, 5, 6)]
    proc = argus(run_argus, trail, "history", "--since", "2h", "--subject", "disk:*")
    assert proc.returncode == 0
    assert proc.stdout == "none of the 7 cycle(s) in the last 2h touched a subject matching 'disk:*'\n"


def test_the_window_starts_exactly_at_since_and_keeps_later_lines(trail: Trail) -> None:
    edge = START + 3 * STEP
    window = read_window(trail.state, now=START + 5 * STEP, seconds=2 * STEP)  # cycle 6 lies ahead: kept
    assert [c.ts for c in window.cycles] == trail.ts[3:] and window.older is None
    window = read_window(trail.state, now=edge + 2 * STEP + 1, seconds=2 * STEP)
    assert [c.ts for c in window.cycles] == trail.ts[4:]
    window = read_window(trail.state, now=START + 30 * STEP, seconds=STEP)
    assert window.cycles == [] and window.older == 7 and window.newest_older == trail.ts[6]


def test_an_empty_window_says_how_many_cycles_lie_before_it(trail: Trail, run_argus: Any) -> None:
    proc = argus(run_argus, trail, "history", "--since", "60s")
    assert proc.returncode == 0
    assert proc.stdout == f"no cycles in the last 60s (cycles.jsonl has 7 older line(s), the newest at {trail.ts[6]})\n"
    proc = argus(run_argus, trail, "history", "--since", "60", "--json")
    assert proc.stdout == "[]\n" and proc.stderr.startswith("no cycles in the last 60s (cycles.jsonl has 7 older")


def test_no_records_at_all_is_exit_1_naming_the_file(argus_env: dict[str, str], run_argus: Any) -> None:
    proc = run_argus("history", env=argus_env)
    path = Path(argus_env["ARGUS_STATE_DIR"]) / "cycles.jsonl"
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == f"argus: no cycles recorded in {path} (is ARGUS_STATE_DIR right? run `argus cycle`)\n"


@pytest.mark.parametrize("since", ["1x", "1h30m", "0", "-5", ""])
def test_a_bad_since_is_a_usage_error(argus_env: dict[str, str], run_argus: Any, since: str) -> None:
    proc = run_argus("history", "--since", since, env=argus_env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"Invalid value for '--since': {since!r} is not a duration: use e.g. 90s, 15m, 1h, 7d" in proc.stderr


def test_foreign_lines_are_skipped_and_counted_and_older_or_newer_shapes_read(
        trail: Trail, run_argus: Any, tmp_path: Path) -> None:
    env = copied(trail, tmp_path)
    newer = {**trail.lines[1], "ts": "2099-01-01T00:00:00Z", "mode": "observe"}
    newer["actions"] = [{**trail.lines[1]["actions"][0], "status": "pending", "detail": "asked the operator"}]
    old = {"ts": "2099-01-01T00:05:00Z", "status": "failed", "detail": "interrupted", "decider": None,
           "actions": [], "errors": []}
    append(env, "{not json", {"ts": 5, "status": "ok"}, ["a list"], newer, old)
    proc = argus(run_argus, trail, "history", "--since", "2h", env=env)
    path = tmp_path / "state" / "cycles.jsonl"
    assert proc.stderr == f"argus: skipped 3 line(s) of {path} that are no cycle record\n"
    lines = proc.stdout.splitlines()
    assert len(lines) == 9
    assert lines[7] == ("2099-01-01T00:00:00Z  critical  OBSERVE  llm       restart_service web.service pending · "
                        "opened service:web down")
    assert lines[8] == "2099-01-01T00:05:00Z  -         act      -         FAILED (interrupted) · no actions"
    proc = argus(run_argus, trail, "explain", "-2", env=env)
    assert "     accepted by the guardrails, awaiting the operator's approval: asked the operator" in proc.stdout
    assert "mode OBSERVE (autonomy act)" in proc.stdout


# --- argus explain CYCLE --------------------------------------------------------------------------

def test_explain_a_cycle_shows_findings_the_exchange_actions_guardrails_and_outcomes(
        trail: Trail, run_argus: Any) -> None:
    proc = argus(run_argus, trail, "explain", trail.ts[1])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = out.splitlines()
    assert lines[0] == f"cycle {trail.ts[1]} (-6, counting back from the newest)"
    assert lines[1].startswith("  status ok · health critical · mode act (autonomy act) · decider llm · ")
    assert "findings (1)\n  service:web down  critical  Service web is down: connect to 127.0.0.1:" in out
    assert "  decided by llm; the LLM was asked (model claude-haiku-4-5, outcome ok, 1200 tokens in, 85 out, " in out
    assert "  it answered: web is down\n    asked for restart_service web.service (subject service:web): " \
           "web refuses connections on its port\n" in out
    shown = next(line for line in lines if line.startswith("  what it was shown ("))
    assert re.fullmatch(r"  what it was shown \(capped: the first 25 lines of [0-9]{4,5} bytes; the whole message "
                        rf"is the line with ts {trail.ts[1]} in {re.escape(str(trail.state / 'llm.jsonl'))}\)", shown)
    assert sum(1 for line in lines if line.startswith("    | ")) == 25
    assert "  1. restart_service web.service  (subject service:web)\n" \
           "     reason: web refuses connections on its port\n" \
           "     accepted by the guardrails, ran: success: " in out
    assert f"     outcome: fixed (judged by the cycle at {trail.ts[2]})\n" in out
    rejected = trail.lines[1]["actions"][1]["detail"]
    assert f"  2. restart_service db.service  (subject service:web)\n     reason: db too\n" \
           f"     rejected by the guardrails: {rejected}\n     outcome: none (it did not run successfully)\n" in out
    assert "db.service" in rejected and "ARGUS_ALLOWED_SERVICES" in rejected
    assert "incidents: opened service:web down\n" in out


def test_explain_a_rules_cycle_says_why_the_llm_was_not_asked(trail: Trail, run_argus: Any) -> None:
    proc = argus(run_argus, trail, "explain", "last")
    assert proc.stdout.startswith(f"cycle {trail.ts[6]} (-1, counting back from the newest)\n")
    assert "decider\n  decided by rules; the LLM was not asked: decider_rules\n" in proc.stdout
    proc = argus(run_argus, trail, "explain", "-4")  # cycle 3: the incident resolved
    assert proc.stdout.startswith(f"cycle {trail.ts[3]} (-4,")
    assert "incidents: resolved service:web down\n" in proc.stdout


def test_explain_json_is_one_object_with_the_llm_exchange_and_outcomes(trail: Trail, run_argus: Any) -> None:
    proc = argus(run_argus, trail, "explain", trail.ts[1], "--json")
    story = json.loads(proc.stdout)
    assert set(story) == {"kind", "back", "cycle", "findings", "llm", "actions", "judged", "incidents", "notices"}
    assert story["kind"] == "cycle" and story["back"] == 6 and story["cycle"]["ts"] == trail.ts[1]
    assert story["llm"]["answer"]["assessment"] == "web is down" and story["llm"]["user_capped"] is True
    assert story["llm"]["file"] == str(trail.state / "llm.jsonl") and story["llm"]["ts"] == trail.ts[1]
    assert [(a["status"], a["outcome"], a["judged_at"]) for a in story["actions"]] == [
        ("success", "fixed", trail.ts[2]), ("rejected", None, None), ("skipped", None, None)]
    assert story["actions"][0]["reason"] == RESTART["reason"]
    assert story["incidents"] == {"opened": ["service:web down"], "resolved": []}


def test_an_unknown_cycle_is_exit_1_saying_what_and_where(trail: Trail, run_argus: Any) -> None:
    path = trail.state / "cycles.jsonl"
    proc = argus(run_argus, trail, "explain", "-99")
    assert proc.returncode == 1 and proc.stderr == f"argus: no cycle -99: {path} holds 7 cycle(s)\n"
    proc = argus(run_argus, trail, "explain", "2001-01-01T00:00:00Z")
    assert proc.returncode == 1
    assert proc.stderr == (f"argus: no cycle at '2001-01-01T00:00:00Z' in {path} "
                           "(`argus history` prints each cycle's time)\n")


# --- argus explain INCIDENT ---------------------------------------------------------------------

def incident_events(trail: Trail) -> list[dict[str, Any]]:
    return list(iter_jsonl(trail.state / "incidents.jsonl"))


def test_explain_a_resolved_incident_by_id(trail: Trail, run_argus: Any) -> None:
    first = incident_events(trail)[0]
    assert first["event"] == "opened"
    proc = argus(run_argus, trail, "explain", first["id"])
    assert proc.returncode == 0, proc.stderr
    ts = trail.ts
    assert proc.stdout.splitlines()[:4] == [
        f"incident {first['id']}  service:web down", f"  opened {ts[1]} (critical)",
        f"  resolved {ts[3]} (critical) after 300 s, 1 notification(s); actions: restart_service web.service: fixed",
        "  no longer open"]
    assert f"timeline (3 entries)\n  {ts[1]}  opened\n    finding down critical: Service web is down" in proc.stdout
    assert "    action restart_service web.service success (fixed): " in proc.stdout
    assert f"  {ts[2]}\n    judged restart_service web.service: fixed\n  {ts[3]}  resolved\n" in proc.stdout


def test_explain_an_open_incident_by_fingerprint_shows_its_current_state(trail: Trail, run_argus: Any) -> None:
    proc = argus(run_argus, trail, "explain", "service:web down", "--json")
    story = json.loads(proc.stdout)
    second = incident_events(trail)[-1]
    assert story["id"] == second["id"] != incident_events(trail)[0]["id"]
    assert story["open"]["severity"] == "critical" and story["open"]["opened"] == START + 5 * STEP
    assert [m["ts"] for m in story["timeline"]] == [trail.ts[5], trail.ts[6]]
    proc = argus(run_argus, trail, "explain", "service:web down")
    assert "  still open: critical (worst critical), last seen " in proc.stdout


def test_an_unknown_incident_is_exit_1_naming_both_files(trail: Trail, run_argus: Any) -> None:
    proc = argus(run_argus, trail, "explain", "service:nope down")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (f"argus: no incident with id or fingerprint 'service:nope down' in "
                           f"{trail.state / 'incidents.jsonl'} or {trail.state / 'incidents.json'}\n")


# --- hostile content ----------------------------------------------------------------------------

def test_terminal_escapes_and_long_text_from_the_decider_print_safely(trail: Trail, run_argus: Any) -> None:
    assert EVIL in json.dumps(trail.lines[5], ensure_ascii=False) or "\\u001b" in json.dumps(trail.lines[5])
    for args in (("history", "--since", "2h"), ("explain", "-2"), ("explain", "service:web down")):
        proc = argus(run_argus, trail, *args)
        assert proc.returncode == 0, proc.stderr
        assert not any(ch in proc.stdout for ch in "\x1b\x07\x9b"), args
        assert max(len(line) for line in proc.stdout.splitlines()) <= 400, args
    proc = argus(run_argus, trail, "explain", "-2")
    assert "  1. restart_service web.service  (subject service:?[2J?]0;pwned?evil)" in proc.stdout
    reason = next(line for line in proc.stdout.splitlines() if line.startswith("     reason: "))
    assert reason.startswith("     reason: ?[2J?]0;pwned?AAAA") and reason.endswith("A…")
    assert "  it answered: ?[2J?]0;pwned?all good" in proc.stdout


def test_an_unusable_incidents_json_is_said_and_left_as_it_is(trail: Trail, run_argus: Any, tmp_path: Path) -> None:
    env = copied(trail, tmp_path)
    book = tmp_path / "state" / "incidents.json"
    book.write_text('{"open": {"service:web down": 5}}')
    proc = argus(run_argus, trail, "explain", "service:web down", env=env)
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[2] == "  not in incidents.json (its state is unknown)"
    assert proc.stderr.count("\n") == 1 and f"{book} is unusable" in proc.stderr and "left as it is" in proc.stderr
    assert book.read_text() == '{"open": {"service:web down": 5}}'
    assert [p.name for p in book.parent.iterdir() if ".corrupt-" in p.name] == []
