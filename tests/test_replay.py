"""`argus replay`: past cycles asked again with a new prompt, against the local Messages API.

llm.jsonl is written by real cycles (the CLI's `argus cycle`, or `run_cycle` on a scenario's
snapshot when a test needs many lines or their times); the replay runs as the real CLI.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers_anthropic import NOMINAL, FakeAnthropic, error, llm_env, slow, tool_use

from argus_cli.cycle import run_cycle
from argus_cli.decide import exchanges
from argus_cli.decide.llm import ask_llm
from argus_cli.decide.replay_diff import Act, Side, diff
from argus_cli.snapshot import parse_snapshot
from argus_cli.state.files import iter_jsonl
from argus_cli.state.layout import LLM_EXCHANGES

SCENARIOS = Path(__file__).parent / "scenarios"
NEW_PROMPT = "You are Argus, watching <YOUR_HOSTNAME>. Restart what is down; alert once per subject.\n"
HOUR, DAY = 3600.0, 86400.0

OLD = {"assessment": "Memory and disk high.", "actions": [
    {"type": "alert", "subject": "memory", "message": "Memory at 85%"},
    {"type": "alert", "subject": "disk:/", "message": "Disk / at 92%"},
    {"type": "log", "subject": "load", "observation": "load normal"}]}
NEW = {"assessment": "nginx is down; memory high.", "actions": [
    {"type": "log", "subject": "load", "observation": "load normal"},
    {"type": "restart_service", "subject": "service:nginx", "target": "nginx", "reason": "down for 3 cycles"},
    {"type": "alert", "subject": "memory", "message": "Memory high: 85% of 8 GiB \x1b[2J"}]}


@pytest.fixture
def env(argus_env: dict[str, str], anthropic_api: FakeAnthropic, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "new.md").write_text(NEW_PROMPT)
    return llm_env(argus_env, anthropic_api, ARGUS_LLM_EVERY_CYCLE="true")


@pytest.fixture(autouse=True)
def fresh_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exchanges, "_REPORTED", set())


def prompt_of(env: dict[str, str]) -> str:
    return str(Path(env["ARGUS_STATE_DIR"]).parent / "new.md")


def exchanges_of(env: dict[str, str]) -> list[dict[str, Any]]:
    return list(iter_jsonl(Path(env["ARGUS_STATE_DIR"]) / LLM_EXCHANGES))


def cycle(env: dict[str, str], fake: FakeAnthropic, answer: Any, *, ago: float = 0.0, dry_run: bool = False,
          scenario: str = "disk_92") -> None:
    """One real cycle (in this process, on a scenario's snapshot) that asks the fake LLM."""
    from argus_cli.config import load
    snapshot = parse_snapshot(json.loads((SCENARIOS / f"{scenario}.json").read_text())["snapshot"])
    fake.queue(answer)
    line = run_cycle(load(env), now=time.time() - ago, decider="llm", dry_run=dry_run,
                     collect=lambda now: snapshot, install_signals=False)
    assert line["llm_called"], line


def replay(run_argus: Any, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_argus("replay", "--since", "7d", "--prompt", prompt_of(env), *args, env=env)


def test_the_scripted_diff_is_shown_exactly(env: dict[str, str], anthropic_api: FakeAnthropic,
                                            run_argus: Any) -> None:
    for answer in (OLD, NOMINAL):  # two real cycles: the older alerted twice, the newer saw nothing
        anthropic_api.queue(tool_use(answer))
        proc = run_argus("cycle", "--decider", "llm", env=env)
        assert proc.returncode == 0, proc.stderr
    cycles = exchanges_of(env)
    sent = [r["body"] for r in anthropic_api.requests]
    # newest first: the nominal cycle stays nominal, the older one restarts nginx and rewords an alert
    anthropic_api.queue(tool_use(NOMINAL), tool_use(NEW, usage=(1400, 120)))
    proc = replay(run_argus, env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"{cycles[1]['ts']}  unchanged",
        f"{cycles[0]['ts']}  changed: 1 added, 1 removed, 1 reworded",
        '  + restart_service service:nginx target nginx: "down for 3 cycles"',
        '  - alert disk:/: "Disk / at 92%"',
        "  ~ alert memory reworded:",
        '      old: "Memory at 85%"',
        '      new: "Memory high: 85% of 8 GiB ?[2J"',  # the escape is not sent to the terminal
        '  assessment (not counted): "Memory and disk high." -> "nginx is down; memory high."',
        f"summary: 2 cycle(s) replayed with {prompt_of(env)}, newest first: 1 unchanged, 1 changed, "
        "0 without an old decision, 0 failed",
        "  host-changing actions added: restart_service 1",
        "  actions added: restart_service 1",
        "  actions removed: alert 1",
        "  actions changed: alert 1",
        "  calls: 2, 2,600 input and 205 output tokens, $0.0036 at claude-haiku-4-5 list prices",
    ]
    # each request: the new prompt (hostname filled in from the snapshot), the recorded message verbatim,
    # the cycle's model, tool and tool choice
    replayed = [r["body"] for r in anthropic_api.requests[2:]]
    assert [r["messages"] for r in replayed] == [sent[1]["messages"], sent[0]["messages"]]
    assert [r["messages"][0]["content"] for r in replayed] == [cycles[1]["user"], cycles[0]["user"]]
    assert all(r["system"] == NEW_PROMPT.replace("<YOUR_HOSTNAME>", socket.gethostname()) for r in replayed)
    assert all({k: r[k] for k in ("model", "max_tokens", "tools", "tool_choice")}
               == {k: sent[0][k] for k in ("model", "max_tokens", "tools", "tool_choice")} for r in replayed)
    # the replay's calls are on record as dry runs, so the next replay passes over them
    lines = exchanges_of(env)
    assert [x["dry_run"] for x in lines] == [False, False, True, True]
    assert lines[3]["answer"]["actions"][1]["type"] == "restart_service"

    anthropic_api.queue(tool_use(NOMINAL), tool_use(NEW, usage=(1400, 120)))
    proc = replay(run_argus, env, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert len(anthropic_api.requests) == 6
    newer, older = out["cycles"]
    assert newer == {"ts": cycles[1]["ts"], "old": {"assessment": "All nominal.", "actions": [], "no_decision": None},
                     "new": {"assessment": "All nominal.", "actions": [], "no_decision": None},
                     "added": [], "removed": [], "changed": [], "assessment_changed": False, "error": None}
    assert older["ts"] == cycles[0]["ts"] and older["error"] is None and older["assessment_changed"] is True
    assert older["added"] == [{"type": "restart_service", "subject": "service:nginx", "target": "nginx",
                               "text": "down for 3 cycles"}]
    assert older["removed"] == [{"type": "alert", "subject": "disk:/", "target": None, "text": "Disk / at 92%"}]
    assert older["changed"] == [{"type": "alert", "subject": "memory", "target": None, "old_text": "Memory at 85%",
                                 "new_text": "Memory high: 85% of 8 GiB \x1b[2J", "kind": "reworded"}]
    summary = out["summary"]
    assert {k: summary[k] for k in ("replayed", "unchanged", "changed", "failed", "calls", "dry_runs")} == {
        "replayed": 2, "unchanged": 1, "changed": 1, "failed": 0, "calls": 2, "dry_runs": 2}
    assert summary["host_changing_added"] == {"restart_service": 1} and summary["removed"] == {"alert": 1}
    assert summary["added"] == {"restart_service": 1} and summary["changed_actions"] == {"alert": 1}
    assert summary["input_tokens"] == 2600 and summary["output_tokens"] == 205
    assert summary["cost_usd"] == pytest.approx(0.003625) and summary["stopped"] is None


def test_the_cost_is_said_before_the_first_call(env: dict[str, str], anthropic_api: FakeAnthropic) -> None:
    cycle(env, anthropic_api, tool_use(OLD, usage=(1500, 100)))
    cycle(env, anthropic_api, tool_use(OLD, usage=(1700, 80)))
    said = threading.Event()
    said_first: list[bool] = []

    def answer(body: dict[str, Any]) -> Any:
        said_first.append(said.wait(10))  # the child waits for this reply: a line said after it never comes
        return tool_use(OLD)

    anthropic_api.responder = answer
    child = subprocess.Popen([sys.executable, "-m", "argus_cli", "replay", "--since", "1h", "--prompt",
                              prompt_of(env)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stderr is not None
    first = child.stderr.readline()
    said.set()
    out, rest = child.communicate(timeout=60)
    assert child.returncode == 0, rest
    assert said_first == [True, True]
    assert first.startswith("argus: replaying 2 of 2 cycles since ") and rest == ""
    assert first.rstrip().endswith(", newest first (--max-calls 20): about 2 calls, ~3,200 input and ~180 output "
                                   "tokens, ~$0.0041 at claude-haiku-4-5 list prices")
    assert "2 unchanged, 0 changed" in out


def test_max_calls_replays_the_newest_and_says_how_many_were_left_out(
        env: dict[str, str], anthropic_api: FakeAnthropic, run_argus: Any) -> None:
    for hours in (5, 4, 3, 2, 1):
        cycle(env, anthropic_api, tool_use(OLD), ago=hours * HOUR)
    recorded = exchanges_of(env)
    anthropic_api.default = lambda: tool_use(OLD)
    proc = replay(run_argus, env, "--max-calls", "2")
    assert proc.returncode == 0, proc.stderr
    assert len(anthropic_api.requests) == 5 + 2
    assert [line.split()[0] for line in proc.stdout.splitlines()[:2]] == [recorded[4]["ts"], recorded[3]["ts"]]
    assert "argus: replaying 2 of 5 cycles since" in proc.stderr and "(--max-calls 2)" in proc.stderr
    assert "argus: 3 older left out by --max-calls 2" in proc.stderr.splitlines()[1]
    assert "  not replayed: 3 left out by --max-calls" in proc.stdout.splitlines()


def test_cut_dry_run_and_old_lines_are_not_replayed(env: dict[str, str], anthropic_api: FakeAnthropic,
                                                    run_argus: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from argus_cli.config import load
    cycle(env, anthropic_api, tool_use(OLD), ago=8 * DAY)  # before the window
    cycle(env, anthropic_api, tool_use(OLD), ago=3 * HOUR, dry_run=True)  # decided nothing the host lived with
    snapshot = parse_snapshot(json.loads((SCENARIOS / "memory_85.json").read_text())["snapshot"])
    anthropic_api.queue(tool_use(OLD))
    with monkeypatch.context() as patched:  # a real call's message, cut as one over 64 KiB would be
        patched.setattr(exchanges, "TEXT_CAP", 1000)
        assert ask_llm(load(env), snapshot, [], {}, now=time.time() - 2 * HOUR).decision is not None
    assert [x["truncated"] for x in exchanges_of(env)] == [False, False, True]

    proc = replay(run_argus, env)
    assert proc.returncode == 0 and proc.stdout == ""
    [said] = proc.stderr.splitlines()
    assert said.startswith("argus: nothing to replay since ") and said.endswith(
        f" UTC: read 3 line(s) of {Path(env['ARGUS_STATE_DIR']) / LLM_EXCHANGES} and its rotated copies: "
        "1 older, 1 dry run(s) (argus decide, cycle --dry-run, replays), 1 cut at 64 KiB")
    assert len(anthropic_api.requests) == 3

    cycle(env, anthropic_api, tool_use(OLD), ago=HOUR)
    proc = replay(run_argus, env, "--json")
    assert proc.returncode == 0, proc.stderr
    assert len(anthropic_api.requests) == 5 and "argus: replaying 1 of 2 cycles" in proc.stderr
    assert "argus: 1 skipped: the recorded message was cut at 64 KiB" in proc.stderr.splitlines()
    summary = json.loads(proc.stdout)["summary"]
    assert (summary["replayed"], summary["cut"], summary["dry_runs"], summary["older"]) == (1, 1, 1, 1)


def test_nothing_recorded_at_all(env: dict[str, str], run_argus: Any) -> None:
    proc = replay(run_argus, env)
    assert proc.returncode == 0 and proc.stdout == ""
    assert proc.stderr == ("argus: nothing to replay: no LLM exchange recorded in "
                           f"{Path(env['ARGUS_STATE_DIR']) / LLM_EXCHANGES} (or its rotated copies)\n")


def test_no_key_and_no_prompt_are_one_line_and_exit_2(env: dict[str, str], run_argus: Any, tmp_path: Path) -> None:
    proc = replay(run_argus, {k: v for k, v in env.items() if k != "ANTHROPIC_API_KEY"})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("argus: argus replay needs ANTHROPIC_API_KEY (set it in the environment or the "
                           "env file)\n")
    proc = run_argus("replay", "--prompt", str(tmp_path / "missing.md"), env=env)
    assert proc.returncode == 2 and proc.stderr == f"argus: cannot read --prompt {tmp_path / 'missing.md'}: " \
                                                   "No such file or directory\n"
    (tmp_path / "blank.md").write_text("\n")
    proc = run_argus("replay", "--prompt", str(tmp_path / "blank.md"), env=env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "is empty" in proc.stderr


def test_an_error_is_shown_on_its_cycle_and_three_in_a_row_stop(env: dict[str, str], anthropic_api: FakeAnthropic,
                                                                 run_argus: Any) -> None:
    for hours in (7, 6, 5, 4, 3, 2, 1):
        cycle(env, anthropic_api, tool_use(OLD), ago=hours * HOUR)
    anthropic_api.queue(tool_use(OLD), error(500), tool_use(OLD), error(500), error(529, "overloaded_error"),
                        error(500), tool_use(OLD))
    proc = replay(run_argus, env)
    assert proc.returncode == 1, proc.stderr
    assert len(anthropic_api.requests) == 7 + 6  # the seventh cycle is not asked about
    verdicts = [line.split("  ", 1)[1] for line in proc.stdout.splitlines() if line.startswith("20")]
    assert verdicts[0] == "unchanged" and verdicts[2] == "unchanged"
    assert [v.split(":")[0] for v in verdicts] == ["unchanged", "error", "unchanged", "error", "error", "error"]
    assert "InternalServerError" in verdicts[1]
    assert "summary: 6 cycle(s) replayed" in proc.stdout
    assert "2 unchanged, 0 changed, 0 without an old decision, 4 failed" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "  stopped after 3 failed calls in a row (is the API down?)"


def test_an_old_call_that_failed_is_replayed_against_no_decision(
        env: dict[str, str], anthropic_api: FakeAnthropic, run_argus: Any) -> None:
    cycle(env, anthropic_api, error(500))
    anthropic_api.queue(tool_use(NEW))
    proc = replay(run_argus, env, "--json")
    assert proc.returncode == 0, proc.stderr
    [done] = json.loads(proc.stdout)["cycles"]
    assert done["old"]["no_decision"].startswith("error: InternalServerError")
    assert [a["type"] for a in done["added"]] == ["log", "restart_service", "alert"]
    assert done["assessment_changed"] is False  # nothing to compare it with
    summary = json.loads(proc.stdout)["summary"]
    assert (summary["no_old_decision"], summary["unchanged"], summary["changed"]) == (1, 0, 0)
    assert summary["host_changing_added"] == {"restart_service": 1}

    anthropic_api.queue(tool_use(NEW))
    proc = replay(run_argus, env)
    assert proc.stdout.splitlines()[0].endswith("  no old decision, now: 3 added")
    assert proc.stdout.splitlines()[1].startswith("  old: no decision (error: InternalServerError: Error code: 500")


def test_the_hostname_comes_from_the_recorded_snapshot(env: dict[str, str], anthropic_api: FakeAnthropic,
                                                       run_argus: Any) -> None:
    cycle(env, anthropic_api, tool_use(OLD), scenario="service_down")
    assert replay(run_argus, env).returncode == 0
    host = json.loads((SCENARIOS / "service_down.json").read_text())["snapshot"]["host"]
    assert anthropic_api.requests[-1]["body"]["system"] == NEW_PROMPT.replace("<YOUR_HOSTNAME>", host)


def test_ctrl_c_prints_what_was_done(env: dict[str, str], anthropic_api: FakeAnthropic) -> None:
    cycle(env, anthropic_api, tool_use(OLD), ago=2 * HOUR)
    cycle(env, anthropic_api, tool_use(OLD), ago=HOUR)
    anthropic_api.queue(tool_use(NEW), slow(30, tool_use(OLD)))
    child = subprocess.Popen([sys.executable, "-m", "argus_cli", "replay", "--prompt", prompt_of(env)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(anthropic_api.requests) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert out.splitlines()[0].endswith("  changed: 1 added, 1 removed, 1 reworded")
    assert "summary: 1 cycle(s) replayed" in out and "calls: 2," in out
    assert out.splitlines()[-1] == "  interrupted (Ctrl-C): the cycles above were replayed"
    assert [x["outcome"] for x in exchanges_of(env) if x["dry_run"]] == ["ok", "interrupted"]


def act(kind: str, subject: str | None = None, target: str | None = None, text: str = "") -> Act:
    return Act(kind, subject, target, text)


def test_the_diff_pairs_identical_actions_first() -> None:
    a, b = act("alert", "memory", text="first"), act("alert", "memory", text="second")
    assert not diff(Side("x", (a, b)), Side("x", (b, a))).behaviour_changed
    changed = diff(Side("x", (a,)), Side("y", (b, b)))
    assert changed.added == (b,) and changed.removed == () and changed.assessment_changed
    assert [(c.old, c.new, c.label) for c in changed.changed] == [(a, b, "reworded")]
    kill = diff(Side("x", (act("kill_pid", "process:x", "42", "old reason"),)),
                Side("x", (act("kill_pid", "process:x", "42", "new reason"),)))
    assert [c.label for c in kill.changed] == ["changed"]
