"""ARGUS_AUTONOMY ask: a request with signed Telegram buttons, answered by a real ``callback_query``
through the local Bot API (or `argus approve`), run the next cycle only after the host is
checked again. Real processes; the PID-reuse case in a private PID namespace."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers_actions import create_time, running, spawned
from helpers_anthropic import FakeAnthropic, llm_env, tool_use
from helpers_notify import CHAT_ID, FakeTelegram, buttons_sent, press, telegram_env
from helpers_pidns import run_in_pidns

from argus_cli.config import Config
from argus_cli.control import approvals
from argus_cli.cycle import run_cycle
from argus_cli.model import iso_z
from argus_cli.snapshot import parse_snapshot
from argus_cli.state.layout import APPROVALS, INCIDENTS

STEP = 300
START = float(int(time.time()))
SCENARIOS = Path(__file__).parent / "scenarios"


def hog_host(pid: int, created: float, name: str = "sleep") -> Callable[[float], Any]:
    """Memory at 95 % with ``pid`` (a real process) as the hog, as the collector would show it."""
    base = json.loads((SCENARIOS / "memory_95_node_hog.json").read_text())["snapshot"]
    hog = {"pid": pid, "name": name, "rss_kb": 900000, "mem_percent": 60.0, "runtime": "01:00",
           "create_time": created, "kill_candidate": True}

    def collect(now: float) -> Any:
        snap = copy.deepcopy(base)
        snap["ts"] = iso_z(now)
        snap["memory_hog"], snap["top_processes"] = hog, [hog]
        return parse_snapshot(snap)
    return collect


def kill_decision(pid: int) -> dict[str, Any]:
    return {"assessment": "a runaway sleep holds the memory", "actions": [
        {"type": "kill_pid", "subject": "memory", "target": pid, "reason": "runaway sleep, 900 MB"}]}


def ask_env(argus_env: dict[str, str], fake: FakeAnthropic, server: FakeTelegram, **extra: str) -> dict[str, str]:
    env = telegram_env({**argus_env, "ARGUS_KILL_ALLOWLIST": "sleep", "ARGUS_AUTONOMY": "act,kill_pid=ask",
                        "ARGUS_APPROVERS": "7001"}, server)  # the group chat's member who may approve
    return llm_env(env, fake, ARGUS_LLM_EVERY_CYCLE="true", **extra)


def store(config: Config) -> approvals.Approvals:
    return APPROVALS.read(config.state_dir) or approvals.Approvals()


def datas(server: FakeTelegram) -> dict[str, str]:
    """The newest request message's buttons: label -> callback data."""
    [row] = buttons_sent(server)[-1]["reply_markup"]["inline_keyboard"]
    return {b["text"]: b["callback_data"] for b in row}


def cycle(config: Config, now: float, collect: Callable[[float], Any]) -> dict[str, Any]:
    return run_cycle(config, now=now, collect=collect, install_signals=False)


@dataclass
class Asked:
    proc: subprocess.Popen[bytes]
    config: Config
    collect: Callable[[float], Any]
    request: approvals.ApprovalRequest


QUIET = {"assessment": "quiet", "actions": []}


@contextmanager
def asked(argus_env: dict[str, str], config_of: Any, server: FakeTelegram, fake: FakeAnthropic, *,
          once: bool = False, **extra: str) -> Iterator[Asked]:
    """A real ``sleep`` as the memory hog and a first cycle (at START) that asked to kill it: the
    pending request. ``once``: the decider asks only that first time, then sees a quiet host."""
    with spawned("sleep", "600") as proc:
        if once:
            fake.default = lambda: tool_use(QUIET)
            fake.queue(tool_use(kill_decision(proc.pid)))
        else:
            fake.default = lambda: tool_use(kill_decision(proc.pid))
        config = config_of(ask_env(argus_env, fake, server, **extra))
        collect = hog_host(proc.pid, create_time(proc.pid))
        cycle(config, START, collect)
        [request] = store(config).requests.values()
        yield Asked(proc, config, collect, request)


# --- the path that must work ---------------------------------------------------------------------

def test_a_kill_approved_with_the_telegram_button_runs_the_next_cycle(argus_env, config_of, telegram, anthropic_api,
                                                                       run_argus):
    anthropic_api.default = None  # replaced below
    with spawned("sleep", "600") as proc:
        anthropic_api.default = lambda: tool_use(kill_decision(proc.pid))
        env = ask_env(argus_env, anthropic_api, telegram)
        config = config_of(env)
        collect = hog_host(proc.pid, create_time(proc.pid))

        first = cycle(config, START, collect)
        [action] = first["actions"]
        assert action["status"] == "pending", action
        assert "awaiting approval of request" in action["detail"] and "would send SIGTERM" in action["detail"]
        [request] = store(config).requests.values()
        assert (request.type, request.target, request.subject, request.state) == ("kill_pid", str(proc.pid),
                                                                                   "memory", "pending")
        assert request.facts["create_time"] == create_time(proc.pid) and request.facts["name"] == "sleep"
        assert request.expires == START + 1800
        message = buttons_sent(telegram)[-1]
        assert message["chat_id"] == CHAT_ID and "Argus asks to run kill_pid" in message["text"]
        assert "runaway sleep, 900 MB" in message["text"] and f"argus approve {request.id}" in message["text"]
        assert set(datas(telegram)) == {"Approve", "Deny", "Snooze 1 h"}
        assert all(len(d.encode()) <= 64 for d in datas(telegram).values())  # Telegram's limit
        assert running(proc)

        listed = run_argus("pending", "--json", env=env)
        assert listed.returncode == 0 and [r["id"] for r in json.loads(listed.stdout)] == [request.id]
        assert json.loads(run_argus("status", "--json", env=env).stdout)["pending_approvals"] == 1
        assert "1 action(s) await approval (argus pending)" in run_argus("status", env=env).stdout

        # the same kill asked again next cycle is the same request, not a second message
        second = cycle(config, START + STEP, collect)
        assert second["actions"][0]["status"] == "pending" and request.id in second["actions"][0]["detail"]
        assert len(buttons_sent(telegram)) == 1 and running(proc)

        press(telegram, datas(telegram)["Approve"], message_id=request.message_id or 0)
        third = cycle(config, START + 2 * STEP, collect)
        proc.wait(timeout=10)

    assert third["approvals"]["approved"] == [{"request": request.id, "by": "@alice (telegram 7001)"}]
    [ran] = third["approvals"]["ran"]
    assert (ran["request"], ran["state"], ran["status"]) == (request.id, "done", "success"), ran
    # the decider, shown the same snapshot, asked for the same kill again: not a second request
    [again] = third["actions"]
    assert again["status"] == "skipped" and "already run this cycle as an approved request" in again["detail"]
    done = store(config).requests[request.id]
    assert done.state == "done" and done.by == "@alice (telegram 7001)" and "success" in (done.outcome or "")
    assert telegram.answered[-1]["text"] == "approved"
    edited = [e["text"] for e in telegram.edits if e["message_id"] == request.message_id]
    assert any("Approved by @alice (telegram 7001)" in t and "runs at the next cycle" in t for t in edited)
    assert "ran at" in edited[-1] and "success" in edited[-1]
    book = INCIDENTS.read(config.state_dir)
    assert book is not None
    [incident] = [i for i in book.open.values() if i.subject == "memory"]
    assert [(a.type, a.target, a.status) for a in incident.actions] == [("kill_pid", str(proc.pid), "success")]
    assert json.loads(run_argus("pending", "--json", env=env).stdout) == []
    explained = run_argus("explain", "last", env=env)
    assert f"approvals: approved {request.id} by @alice (telegram 7001)" in explained.stdout, explained.stderr
    assert f"approvals: approved kill_pid {proc.pid} done: success" in explained.stdout


def test_presses_that_prove_nothing_are_refused_and_recorded(argus_env, config_of, telegram, anthropic_api):
    with asked(argus_env, config_of, telegram, anthropic_api) as it:
        proc, config, collect, request = it.proc, it.config, it.collect, it.request
        good = datas(telegram)["Approve"]
        rid, verb, sig = good.split(":")
        forged = f"{rid}:{verb}:{'A' * len(sig)}"
        press(telegram, forged)                                   # a forged signature
        press(telegram, good, chat_id=-100999)                   # the right button, pressed in another chat
        press(telegram, f"{rid}:x:{sig}")                        # not one of our verbs
        press(telegram, "ffffffff:a:" + sig)                     # another request's id under this signature
        line = cycle(config, START + STEP, collect)
        assert running(proc)
        refused = line["approvals"]["refused"]
        assert [r["reason"] for r in refused] == ["invalid signature", "pressed in another chat than TELEGRAM_CHAT_ID",
                                                  "not an Argus approval button", "invalid signature"]
        assert store(config).requests[request.id].state == "pending"
        assert [r.reason for r in store(config).refused] == [r["reason"] for r in refused]

        press(telegram, good)
        press(telegram, good)                                     # replayed: used already
        line = cycle(config, START + 2 * STEP, collect)
        proc.wait(timeout=10)
    assert line["approvals"]["approved"] == [{"request": request.id, "by": "@alice (telegram 7001)"}]
    assert [r["reason"] for r in line["approvals"]["refused"]] == [
        f"request {request.id} was already approved at {iso_z(START + 2 * STEP)} by @alice (telegram 7001)"]
    assert [r["state"] for r in line["approvals"]["ran"]] == ["done"]


def test_an_answer_after_the_request_expired_runs_nothing(argus_env, config_of, telegram, anthropic_api):
    with asked(argus_env, config_of, telegram, anthropic_api, once=True, ARGUS_APPROVAL_TTL="10m") as it:
        proc, config, collect, request = it.proc, it.config, it.collect, it.request
        assert config.approval_ttl == 600
        press(telegram, datas(telegram)["Approve"])
        line = cycle(config, START + 600, collect)              # read at the expiry: too late
        assert running(proc)
    assert line["approvals"]["expired"] == [request.id]
    assert [r["reason"] for r in line["approvals"]["refused"]] == [
        f"request {request.id} was already expired at {iso_z(START + 600)}"]
    assert store(config).requests[request.id].state == "expired"
    assert "Expired at" in telegram.edits[-1]["text"] and "not run" in telegram.edits[-1]["text"]


def test_a_snooze_holds_the_action_back_for_an_hour(argus_env, config_of, telegram, anthropic_api):
    with asked(argus_env, config_of, telegram, anthropic_api) as it:
        proc, config, collect, first = it.proc, it.config, it.collect, it.request
        press(telegram, datas(telegram)["Snooze 1 h"])
        line = cycle(config, START + STEP, collect)
        assert line["approvals"]["snoozed"] == [{"request": first.id, "by": "@alice (telegram 7001)"}]
        assert line["actions"][0]["status"] == "skipped" and "snoozed by @alice" in line["actions"][0]["detail"]
        line = cycle(config, START + STEP + 3599, collect)
        assert line["actions"][0]["status"] == "skipped" and len(buttons_sent(telegram)) == 1
        line = cycle(config, START + STEP + 3600, collect)        # the snooze is over: asked again
        assert line["actions"][0]["status"] == "pending" and len(buttons_sent(telegram)) == 2
        assert "Snoozed by @alice" in telegram.edits[0]["text"]
        assert running(proc)


def test_a_denial_from_the_shell_holds_for_the_repeat_interval(argus_env, config_of, telegram, anthropic_api,
                                                                run_argus):
    now = time.time()  # `argus deny` reads the real clock
    with spawned("sleep", "600") as proc:
        anthropic_api.default = lambda: tool_use(kill_decision(proc.pid))
        env = ask_env(argus_env, anthropic_api, telegram, ARGUS_REPEAT_INTERVAL="1h")
        config = config_of(env)
        collect = hog_host(proc.pid, create_time(proc.pid))
        cycle(config, now, collect)
        [request] = store(config).requests.values()
        denied = run_argus("deny", request.id, env=env)
        assert denied.returncode == 0 and f"denied request {request.id}" in denied.stdout, denied.stderr
        stored = store(config).requests[request.id]
        assert stored.by is not None and stored.by.endswith("(shell)") and stored.until is not None
        assert "Denied by" in telegram.edits[-1]["text"] and "(shell)" in telegram.edits[-1]["text"]
        line = cycle(config, now + STEP, collect)
        assert line["actions"][0]["status"] == "skipped" and "denied by" in line["actions"][0]["detail"]
        line = cycle(config, stored.until + 1, collect)
        assert line["actions"][0]["status"] == "pending"
        again = run_argus("approve", request.id, env=env)
        assert again.returncode == 1 and "was already denied" in again.stderr
        unknown = run_argus("approve", "nope", env=env)
        assert unknown.returncode == 1 and "no approval request nope" in unknown.stderr
        assert running(proc)


def test_approve_from_the_shell_runs_at_the_next_cycle(argus_env, config_of, anthropic_api, run_argus):
    with spawned("sleep", "600") as proc:
        anthropic_api.default = lambda: tool_use(kill_decision(proc.pid))
        env = llm_env({**argus_env, "ARGUS_KILL_ALLOWLIST": "sleep", "ARGUS_AUTONOMY": "ask"}, anthropic_api,
                      ARGUS_LLM_EVERY_CYCLE="true")  # no Telegram: the shell is the only way to answer
        config = config_of(env)
        collect = hog_host(proc.pid, create_time(proc.pid))
        first = cycle(config, START, collect)
        assert "Telegram unconfigured" in first["actions"][0]["detail"]
        [request] = store(config).requests.values()
        shown = run_argus("pending", env=env)
        assert request.id in shown.stdout and "kill_pid" in shown.stdout and "runaway sleep" in shown.stdout
        approved = run_argus("approve", request.id, env=env)
        assert approved.returncode == 0 and "runs at the next cycle" in approved.stdout, approved.stderr
        line = cycle(config, time.time(), collect)
        proc.wait(timeout=10)
    assert [(r["request"], r["state"]) for r in line["approvals"]["ran"]] == [(request.id, "done")]


def test_an_approved_kill_whose_pid_now_names_another_process_is_dropped(argus_env, telegram):
    """In a private PID namespace: the approved process exits, the kernel hands its PID to a new
    one (ns_last_pid), and the approval must not kill the newcomer."""
    env = telegram_env({**argus_env, "ARGUS_KILL_ALLOWLIST": "sleep", "ARGUS_AUTONOMY": "kill_pid=ask",
                        "ARGUS_LLM_EVERY_CYCLE": "true", "ARGUS_APPROVERS": "7001"}, telegram)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), *sys.path])
    result = run_in_pidns(f"""
    from helpers_actions import create_time
    from helpers_anthropic import DUMMY_KEY, FakeAnthropic, tool_use
    from test_approvals import hog_host, kill_decision
    from argus_cli import config as cfg
    from argus_cli.control import approvals
    from argus_cli.cycle import run_cycle
    from argus_cli.state.layout import APPROVALS
    first = subprocess.Popen(["sleep", "600"])
    pid = first.pid
    wait_for(lambda: psutil.Process(pid).name() == "sleep")
    with FakeAnthropic() as fake:
        fake.queue(tool_use(kill_decision(pid)))
        fake.default = lambda: tool_use({{"assessment": "quiet", "actions": []}})
        os.environ.update(ANTHROPIC_API_KEY=DUMMY_KEY, ANTHROPIC_BASE_URL=fake.url)
        config = cfg.load()
        asked = run_cycle(config, now={START}, collect=hog_host(pid, create_time(pid)), install_signals=False)
        [request] = APPROVALS.read(config.state_dir).requests.values()
        with approvals.editing(config) as store:
            approvals.decide(store, request.id, "approved", by="test", now={START + 60}, deny_for=3600)
        first.kill(); first.wait()
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
        second = subprocess.Popen(["sleep", "600"])
        wait_for(lambda: psutil.Process(second.pid).name() == "sleep")
        line = run_cycle(config, now={START + STEP}, collect=hog_host(second.pid, create_time(second.pid)),
                         install_signals=False)
    final = APPROVALS.read(config.state_dir).requests[request.id].state
    report(asked=asked["actions"][0]["status"], same_pid=second.pid == pid, alive=alive(second.pid),
           ran=line.get("approvals", {{}}).get("ran"), state=final)
    """, env)
    assert result["asked"] == "pending" and result["same_pid"] is True
    assert result["alive"] is True and result["state"] == "dropped"
    [ran] = result["ran"]
    assert ran["status"] == "dropped" and "is now another process" in ran["detail"] and ran["told"] == "sent"
    assert any("was NOT run" in t for t in telegram.order)


# --- what the red team found ----------------------------------------------------------------------

def test_observe_and_maintenance_stop_the_orphan_sweep_too(argus_env, tmp_path):
    """The sweep kills like kill_pid: under observe (here a maintenance window) it counts and reports."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    (tmp_path / "long.test.js").write_text(
        "require('node:test')('long', () => new Promise(r => setTimeout(r, 600000)));\n")
    env = {**argus_env, "ARGUS_ORPHAN_KILL_THRESHOLD": "1", "ARGUS_DECIDER": "rules", "ARGUS_TMUX_SOCKETS": "",
           "ARGUS_MAINTENANCE": "daily 00:00-23:59 UTC", "TESTS": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    result = run_in_pidns("""
    from argus_cli import config as cfg
    from argus_cli.cycle import run_cycle
    runner = orphan("node", "--test", os.path.join(os.environ["TESTS"], "long.test.js"))
    config = cfg.load()
    now = time.time() // 86400 * 86400 + 3600  # 01:00 UTC: inside the window
    lines = [run_cycle(config, now=now + i * 300, install_signals=False) for i in range(2)]
    report(alive=alive(runner), sweeps=[line["orphan_sweep"] for line in lines], modes=[l["mode"] for l in lines],
           runner=runner)
    """, env)
    assert result["alive"] is True and result["modes"] == ["observe", "observe"]
    last = result["sweeps"][-1]
    assert last["observe"] is True and last["due"] == [result["runner"]] and last["killed"] == []


def test_an_approval_waits_out_a_maintenance_window_and_can_be_withdrawn(argus_env, config_of, telegram,
                                                                          anthropic_api, run_argus):
    with spawned("sleep", "600") as proc:
        anthropic_api.default = lambda: tool_use({"assessment": "quiet", "actions": []})
        anthropic_api.queue(tool_use(kill_decision(proc.pid)))
        env = ask_env(argus_env, anthropic_api, telegram)
        collect = hog_host(proc.pid, create_time(proc.pid))
        now = time.time()
        cycle(config_of(env), now, collect)
        [request] = store(config_of(env)).requests.values()
        assert run_argus("approve", request.id, env=env).returncode == 0
        begin = datetime.fromtimestamp(now, UTC)
        window = f"daily {begin:%H:%M}-{datetime.fromtimestamp(now + 3600, UTC):%H:%M} UTC"
        held = cycle(config_of({**env, "ARGUS_MAINTENANCE": window}), now + 60, collect)
        assert [r["state"] for r in held["approvals"]["ran"]] == ["held"] and running(proc)
        assert store(config_of(env)).requests[request.id].state == "approved"
        withdrawn = run_argus("deny", request.id, env=env)
        assert withdrawn.returncode == 0, withdrawn.stderr
        line = cycle(config_of(env), now + 120, collect)
        assert "approvals" not in line or "ran" not in line["approvals"]
        assert running(proc)
    final = store(config_of(env)).requests[request.id]
    assert final.state == "denied" and final.outcome == "approval withdrawn before it ran"


def test_in_a_group_only_the_listed_approvers_count(argus_env, config_of, telegram, anthropic_api):
    with asked(argus_env, config_of, telegram, anthropic_api) as it:
        proc, config, collect = it.proc, it.config, it.collect
        good = datas(telegram)["Approve"]
        press(telegram, good, user="mallory", user_id=666)             # a member, not an approver
        line = cycle(config, START + STEP, collect)
        assert [r["reason"] for r in line["approvals"]["refused"]] == ["pressed by a user not in ARGUS_APPROVERS"]
        unlisted = config_of({**ask_env(argus_env, anthropic_api, telegram), "ARGUS_APPROVERS": ""})
        press(telegram, good)
        line = cycle(unlisted, START + 2 * STEP, collect)
        assert [r["reason"] for r in line["approvals"]["refused"]] == [
            "a group or channel: set ARGUS_APPROVERS to the Telegram user ids that may approve"]
        assert running(proc)


def test_an_approved_action_is_never_run_twice(argus_env, config_of, telegram, anthropic_api):
    """Marked running before it runs: a cycle that dies after the kill leaves it interrupted."""
    with asked(argus_env, config_of, telegram, anthropic_api, once=True) as it:
        proc, config, collect, request = it.proc, it.config, it.collect, it.request
        with approvals.editing(config) as edit:  # as a cycle leaves it when killed mid-action
            edit.requests[request.id].state = "running"
        line = cycle(config, START + STEP, collect)
        assert running(proc) and "ran" not in line.get("approvals", {})
    final = store(config).requests[request.id]
    assert final.state == "interrupted" and "check the host" in (final.outcome or "")


def test_an_update_that_cannot_be_read_does_not_block_the_ones_behind_it():
    store = approvals.Approvals(requests={"a1b2c3d4": approvals.ApprovalRequest(
        "a1b2c3d4", "kill_pid", "1", None, "r", 0, 10**10, {"create_time": 1.0})})
    key = b"k" * 32
    good = approvals.callback_data(key, "a1b2c3d4", "a", "-100424242")
    chat = {"id": -100424242}
    updates = [{"update_id": 5, "callback_query": {"id": "x", "from": {"id": 7}, "message": {"chat": chat},
                                                    "data": "\ud800:a:x"}},
               {"update_id": 6, "callback_query": {"id": "y", "from": {"id": 7}, "message": {"chat": chat},
                                                    "data": good}}]
    presses = approvals.apply_updates(store, updates, key, chat="-100424242", now=1.0, deny_for=60,
                                      approvers=frozenset({"7"}))
    assert [p.verdict for p in presses] == [None, "approved"] and store.offset == 7


def test_a_public_channel_name_matches_whatever_its_case():
    assert approvals.chat_matches({"id": -1001, "username": "MyChan"}, "@mychan")
    assert not approvals.chat_matches({"id": -1001, "username": "otherchan"}, "@mychan")


def test_a_short_signing_key_is_replaced_private(argus_env, config_of):
    config = config_of(argus_env)
    config.state_dir.mkdir()
    path = config.state_dir / "approval.key"
    path.write_bytes(b"short")
    path.chmod(0o644)
    key = approvals.load_key(config)
    assert len(key) == 32 and path.read_bytes() == key and path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("ttl", ["60", "5m", "599"])
def test_an_approval_ttl_shorter_than_two_cycles_is_refused(argus_env, run_argus, ttl):
    proc = run_argus("cycle", "--dry-run", env={**argus_env, "ARGUS_APPROVAL_TTL": ttl})
    assert proc.returncode == 2 and "ARGUS_APPROVAL_TTL" in proc.stderr and "from 600 to 86400" in proc.stderr
