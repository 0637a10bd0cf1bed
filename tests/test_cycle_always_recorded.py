"""Whatever goes wrong once a cycle has started, it leaves a record the self-monitor counts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers_anthropic import FakeAnthropic, llm_env, tool_use

from argus_cli.config import load
from argus_cli.cycle import _Cycle
from argus_cli.runtime.guard import Guard
from argus_cli.runtime.log import cycle_log
from argus_cli.runtime.records import CycleRecord
from argus_cli.state.files import iter_jsonl
from argus_cli.state.layout import CycleState


def _nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = {"deeper": value}
    return value


def _state(env: dict[str, str]) -> Path:
    return Path(env["ARGUS_STATE_DIR"])


def test_an_llm_answer_nested_250_deep_with_huge_numbers_is_recorded(argus_env, run_argus):
    decision = {"assessment": "look", "actions": [
        {"type": "log", "observation": "deep", "extra": _nested(250)},
        {"type": "kill_pid", "target": 10**30, "reason": "x"}]}
    with FakeAnthropic() as fake:
        fake.queue(tool_use(decision, usage=(10**30, 5)))
        env = llm_env(argus_env, fake, ARGUS_LLM_EVERY_CYCLE="true")
        proc = run_argus("cycle", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout)
    assert (line["status"], line["decider"]) == ("ok", "llm"), line["llm_error"]
    assert [a["status"] for a in line["actions"]] == ["success", "rejected"]
    assert list(iter_jsonl(_state(env) / "cycles.jsonl"))[-1]["status"] == "ok"
    saved = json.loads((_state(env) / "last_response.json").read_text())
    assert "<nested too deep>" in json.dumps(saved)
    assert json.loads((_state(env) / "cycle-state.json").read_text())["status"] == "ok"


def test_a_record_no_writer_can_take_still_counts_as_a_failed_cycle(argus_env, tmp_path):
    config = load(argus_env)
    record = CycleRecord(now=time.time(), dry_run=False)
    record.extra["from_outside"] = _nested(300)  # past orjson's 255 levels
    with cycle_log(config) as (log, _), Guard(60, install=False) as guard:
        _Cycle(config, record, log, guard, decider=None, sleep=time.sleep, collect=None).write_records(
            CycleState(), None, [], None)
    [line] = list(iter_jsonl(config.state_dir / "cycles.jsonl"))
    assert line["status"] == "failed" and "cannot write cycles.jsonl" in line["detail"]
    state = json.loads((config.state_dir / "cycle-state.json").read_text())
    assert (state["status"], state["consecutive_failures"]) == ("failed", 1)


def test_sigterm_while_python_is_still_importing_is_recorded(argus_env):
    """The timer's stop can come in the first few hundred milliseconds, while Python still loads
    the CLI: the cycle must still end with a record, not die silently by the default action."""
    env = {**argus_env, "ARGUS_DECIDER": "rules"}
    proc = subprocess.Popen([sys.executable, "-m", "argus_cli", "cycle"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_until_mapped(proc.pid, "orjson")  # the CLI's imports are under way; the cycle is not
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    [line] = list(iter_jsonl(_state(env) / "cycles.jsonl"))
    assert (line["status"], line["detail"]) == ("failed", "interrupted")
    assert json.loads((_state(env) / "cycle-state.json").read_text())["consecutive_failures"] == 1


def _wait_until_mapped(pid: int, library: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if library in Path(f"/proc/{pid}/maps").read_text():
                return
        except OSError:
            return
        time.sleep(0.001)


def test_sigterm_at_any_moment_of_a_cycle_leaves_a_record(argus_env, tmp_path):
    """From the moment the signal is held (the first lines of `argus cycle`) to the end, a stop
    leaves a cycles.jsonl line and a cycle-state.json that counts it."""
    for step, delay in enumerate([0.0, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.9]):
        env = {**argus_env, "ARGUS_DECIDER": "rules", "ARGUS_STATE_DIR": str(tmp_path / f"state-{step}")}
        proc = subprocess.Popen([sys.executable, "-m", "argus_cli", "cycle"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_until_caught(proc.pid, signal.SIGTERM)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        lines = list(iter_jsonl(_state(env) / "cycles.jsonl"))
        assert len(lines) == 1, f"delay {delay}: rc={proc.returncode} {err.decode()[-500:]}"
        state = json.loads((_state(env) / "cycle-state.json").read_text())
        assert state["status"] == lines[0]["status"], f"delay {delay}"
        assert b"Traceback" not in err, f"delay {delay}: {err.decode()[-500:]}"


def _wait_until_caught(pid: int, signum: int, within: float = 30.0) -> None:
    """Until the process has a handler for ``signum`` (SigCgt in /proc/PID/status)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        caught = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt"))
        if caught & (1 << (signum - 1)):
            return
        time.sleep(0.001)
