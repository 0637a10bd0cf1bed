"""Issue 9, items 10 and 13: state files of the wrong shape, and a state dir not to be trusted.

Item 10: a state file with a wrong-typed value, or a directory where it belongs, is moved aside
(``NAME.corrupt-<epoch>``) and reported once; no cycle fails because of it, let alone every one.
Item 13: state files are never opened through a symlink; a state dir others can write is refused
(exit 2); a read-only one is reported in one line (exit 1), never with a traceback.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_actions import actions_env, install_systemctl, recorded, use_env
from helpers_anthropic import FakeAnthropic, llm_env
from helpers_notify import FakeTelegram, telegram_env
from msgspec import Struct

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.config import Config
from argus_cli.cycle import run_cycle
from argus_cli.model import Decision, Problem, iso_z
from argus_cli.snapshot import Snapshot, parse_snapshot
from argus_cli.state import backoff, dedup
from argus_cli.state.directory import StateDirError, check_state_dir
from argus_cli.state.files import append_jsonl, iter_jsonl
from argus_cli.state.layout import DEDUP, RESTART_BACKOFF, JsonFile
from argus_cli.state.lock import FileLock
from argus_cli.state.registry import record_problem

SCENARIOS = Path(__file__).parent / "scenarios"
START = 1_771_588_800.0  # 2026-02-20T12:00:00Z, the scenarios' own time
STEP = 300


def snapshot_source(name: str) -> Callable[[float], Snapshot]:
    snap = json.loads((SCENARIOS / f"{name}.json").read_text())["snapshot"]

    def collect(now: float) -> Snapshot:
        return parse_snapshot({**copy.deepcopy(snap), "ts": iso_z(now)})
    return collect


def corrupt_copies(state: Path, name: str) -> list[Path]:
    return sorted(state.glob(f"{name}.corrupt-*"))


def plant(path: Path, bad: str | None) -> None:
    """A wrong-shaped file (``bad`` is its text) or, for None, a directory with a file inside."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if bad is None:
        path.mkdir()
        (path / "inside").write_text("kept")
    else:
        path.write_text(bad)


def two_cycles(config: Config, scenario: str) -> list[dict[str, Any]]:
    collect = snapshot_source(scenario)
    return [run_cycle(config, now=START + i * STEP, collect=collect, install_signals=False, sleep=lambda _: None)
            for i in range(2)]


# --- item 10: through the cycle -----------------------------------------------------------------

# (file, wrong-shaped content or None for a directory, scenario that makes the cycle read it)
RULES_CASES = [
    ("cycle-state.json", '{"status": "failed", "consecutive_failures": "n/a", "detail": 5}', "healthy"),
    ("cycle-state.json", None, "healthy"),
    ("incidents.json", '{"open": {"service:web down": {"id": 5, "subject": []}}}', "service_down"),
    ("incidents.json", None, "service_down"),
    ("outbox.jsonl", None, "service_down"),
    ("problems.jsonl", None, "service_down"),
    ("cycles.jsonl", None, "healthy"),
    ("cycle.lock", None, "healthy"),
    ("orphans.json", None, "healthy"),
]


@pytest.mark.parametrize(("name", "bad", "scenario"), RULES_CASES,
                         ids=[f"{n}-{'dir' if b is None else 'wrong-type'}" for n, b, _ in RULES_CASES])
def test_a_bad_state_file_is_moved_aside_and_no_cycle_fails(argus_env: dict[str, str], config_of: Any, *,
                                                             capsys: pytest.CaptureFixture[str], name: str,
                                                             bad: str | None, scenario: str) -> None:
    # Telegram pointed at a closed port: alerts are queued, and the outbox is read every cycle.
    env = {**argus_env, "ARGUS_DECIDER": "rules", "TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": "1",
           "ARGUS_TELEGRAM_API_BASE": "http://127.0.0.1:9"}
    config = config_of(env)
    plant(config.state_dir / name, bad)
    lines = two_cycles(config, scenario)
    assert [line["status"] for line in lines] != ["failed", "failed"], lines
    assert all(line["status"] != "failed" for line in lines), [(x["status"], x["detail"], x["errors"]) for x in lines]
    assert len(corrupt_copies(config.state_dir, name)) == 1
    assert (config.state_dir / name).is_file() or not (config.state_dir / name).exists()
    reports = [x for x in capsys.readouterr().err.splitlines() if f"{name} is" in x and "moved aside" in x]
    assert len(reports) == 1, reports


LLM_CASES = [
    ("prescreen.json", '{"last_call": 1, "signature": "", "coarse": {"memory": "n/a", "disk": {"/": "n/a"}}}'),
    ("prescreen.json", None),
    ("llm-backoff.json", '{"failures": "n/a", "until": "n/a"}'),
    ("llm-backoff.json", None),
]


@pytest.mark.parametrize(("name", "bad"), LLM_CASES,
                         ids=[f"{n}-{'dir' if b is None else 'wrong-type'}" for n, b in LLM_CASES])
def test_a_bad_prescreen_file_is_moved_aside_and_the_llm_still_decides(
        argus_env: dict[str, str], config_of: Any, *, capsys: pytest.CaptureFixture[str],
        name: str, bad: str | None, anthropic_api: FakeAnthropic) -> None:
    config = config_of(llm_env(argus_env, anthropic_api))
    plant(config.state_dir / name, bad)
    lines = two_cycles(config, "healthy")
    assert [line["status"] for line in lines] == ["ok", "ok"], [(x["status"], x["detail"]) for x in lines]
    assert lines[0]["llm_called"] and lines[0]["decider"] == "llm"
    assert len(corrupt_copies(config.state_dir, name)) == 1
    reports = [x for x in capsys.readouterr().err.splitlines() if f"{name} is" in x and "moved aside" in x]
    assert len(reports) == 1, reports


# --- item 10: each reader on its own ------------------------------------------------------------

@pytest.mark.parametrize("bad", ['{"services": {"web.service": {"attempts": "n/a"}}}',
                                 '{"services": ["web.service"]}', None])
def test_restart_backoff_of_the_wrong_shape_is_moved_aside(argus_env: dict[str, str], config_of: Any,
                                                           bad: str | None, state_owner: None) -> None:
    config = config_of(argus_env)
    plant(RESTART_BACKOFF.path(config.state_dir), bad)
    assert backoff.check(config, "web.service", START).allowed
    backoff.record_attempt(config, "web.service", START)
    saved = RESTART_BACKOFF.read(config.state_dir)
    assert saved is not None and saved.services["web.service"].attempts == 1
    assert len(corrupt_copies(config.state_dir, "restart-backoff.json")) == 1


def test_dedup_of_the_wrong_shape_is_moved_aside(argus_env: dict[str, str], config_of: Any,
                                                 state_owner: None) -> None:
    config = config_of(argus_env)
    plant(DEDUP.path(config.state_dir), '{"keys": {"k": {"last_seen": "yesterday"}}}')
    assert not dedup.is_suppressed(config, "k", START)
    dedup.note(config, "k", START, sent=True)
    assert dedup.is_suppressed(config, "k", START + 1)
    assert len(corrupt_copies(config.state_dir, "dedup.json")) == 1


class Counted(Struct):
    n: int = 0


def test_a_wrong_typed_field_is_named_and_the_file_kept_aside(tmp_path: Path, state_owner: None) -> None:
    notes: list[str] = []
    (tmp_path / "x.json").write_text('{"n": "n/a"}')
    assert JsonFile("x.json", Counted).read(tmp_path, notes.append) is None
    assert len(notes) == 1 and "$.n" in notes[0] and "moved aside" in notes[0]
    assert [p.read_text() for p in tmp_path.glob("x.json.corrupt-*")] == ['{"n": "n/a"}']


def test_jsonl_readers_move_a_directory_aside(tmp_path: Path, state_owner: None) -> None:
    notes: list[str] = []
    path = tmp_path / "outbox.jsonl"
    plant(path, None)
    assert list(iter_jsonl(path, report=notes.append)) == []
    assert not path.exists() and len(notes) == 1 and "a directory" in notes[0]
    assert (next(tmp_path.glob("outbox.jsonl.corrupt-*")) / "inside").read_text() == "kept"


# --- item 13: symlinks ----------------------------------------------------------------------------

@pytest.fixture
def outside(tmp_path: Path) -> Path:
    target = tmp_path / "precious.conf"
    target.write_text("do not touch\n")
    return target


def test_a_symlinked_lock_is_refused_and_its_target_untouched(argus_env: dict[str, str], outside: Path,
                                                              run_argus: Any) -> None:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    (state / "cycle.lock").symlink_to(outside)
    proc = run_argus("cycle", "--decider", "rules", env=argus_env)
    assert proc.returncode == 1, proc.stderr
    assert outside.read_text() == "do not touch\n"
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1 and "cycle.lock" in errors[0] and "symlink" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert (state / "cycle.lock").is_symlink()  # refused, not "repaired": the operator looks at it


def test_the_lock_refuses_a_symlink_in_process(tmp_path: Path, outside: Path) -> None:
    (tmp_path / "cycle.lock").symlink_to(outside)
    with pytest.raises(OSError, match="symlink"), FileLock(tmp_path / "cycle.lock"):
        pass
    assert outside.read_text() == "do not touch\n"


def test_a_symlinked_cycles_jsonl_is_not_appended_through(argus_env: dict[str, str], outside: Path,
                                                          run_argus: Any) -> None:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    (state / "cycles.jsonl").symlink_to(outside)
    proc = run_argus("cycle", "--decider", "rules", "--json", env=argus_env)
    assert proc.returncode == 0, proc.stderr
    assert outside.read_text() == "do not touch\n"
    assert not (state / "cycles.jsonl").is_symlink()
    assert [r["ts"] for r in iter_jsonl(state / "cycles.jsonl")] == [json.loads(proc.stdout)["ts"]]
    assert [p.is_symlink() for p in corrupt_copies(state, "cycles.jsonl")] == [True]


def test_a_symlinked_registry_is_not_appended_through(argus_env: dict[str, str], config_of: Any,
                                                      outside: Path) -> None:
    config = config_of(argus_env)
    config.state_dir.mkdir(mode=0o700)
    config.problems_file.symlink_to(outside)
    record_problem(config, Problem(ts=iso_z(START), severity="warning", type="disk", description="disk / 91%",
                                   action_taken="log", action_result="success", bead_id=None, host="h"))
    assert outside.read_text() == "do not touch\n"
    assert [r["type"] for r in iter_jsonl(config.problems_file)] == ["disk"]


def test_a_symlinked_json_state_file_is_not_read_through(tmp_path: Path, outside: Path) -> None:
    outside.write_text('{"keys": {"forged": {"last_seen": 1}}}')
    (tmp_path / "dedup.json").symlink_to(outside)
    notes: list[str] = []
    assert DEDUP.read(tmp_path, notes.append) is None
    assert len(notes) == 1 and "symlink" in notes[0]
    append_jsonl(tmp_path / "x.jsonl", {"n": 1})  # and the dir is still usable
    assert outside.read_text() == '{"keys": {"forged": {"last_seen": 1}}}'


# --- item 13: who may write the state dir -----------------------------------------------------------

def test_a_world_writable_state_dir_is_refused(argus_env: dict[str, str], run_argus: Any) -> None:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir()
    state.chmod(0o777)
    for args in (("cycle", "--decider", "rules"), ("act", "--decision", "-")):
        proc = run_argus(*args, env=argus_env, input='{"assessment": "x", "actions": []}')
        assert proc.returncode == 2, (args, proc.stderr)
        errors = proc.stderr.strip().splitlines()
        assert len(errors) == 1 and str(state) in errors[0] and "writable by group or others" in errors[0], errors
    assert not (state / "cycles.jsonl").exists() and not (state / "cycle.lock").exists()
    doctor = run_argus("doctor", env=argus_env)
    assert doctor.returncode == 1
    assert any(line.startswith("FAIL") and "state dir" in line and str(state) in line
               for line in doctor.stdout.splitlines()), doctor.stdout


def test_a_state_dir_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("chown to another uid needs root")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, 12345, 12345)
    with pytest.raises(StateDirError, match="owned by uid 12345") as caught:
        check_state_dir(state)
    assert caught.value.exit_code == 2


def test_a_private_or_missing_state_dir_passes(tmp_path: Path) -> None:
    check_state_dir(tmp_path / "not-yet")
    (tmp_path / "ok").mkdir(mode=0o700)
    check_state_dir(tmp_path / "ok")


# --- item 13: a read-only state filesystem ----------------------------------------------------------

@pytest.fixture
def read_only_state(argus_env: dict[str, str]) -> Iterator[Path]:
    """The state dir on a tmpfs remounted read-only, holding the files of an earlier cycle."""
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(state)],
                           capture_output=True, text=True, check=False)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    try:
        (state / "cycle.lock").write_text("1\n")
        append_jsonl(state / "cycles.jsonl", {"ts": iso_z(START), "status": "ok"})
        subprocess.run(["mount", "-o", "remount,ro", str(state)], check=True)
        yield state
    finally:
        subprocess.run(["umount", str(state)], check=False)


def test_a_read_only_state_dir_is_one_line_and_exit_1(read_only_state: Path, argus_env: dict[str, str],
                                                      run_argus: Any) -> None:
    proc = run_argus("cycle", "--decider", "rules", env=argus_env)
    assert proc.returncode == 1, proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1 and str(read_only_state) in errors[0] and "read-only" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    act = run_argus("act", "--decision", "-", env=argus_env, input='{"assessment": "x", "actions": []}')
    assert act.returncode == 1 and len(act.stderr.strip().splitlines()) == 1, act.stderr
    doctor = run_argus("doctor", env=argus_env)
    assert any(line.startswith("FAIL") and "read-only" in line for line in doctor.stdout.splitlines())


def test_run_cycle_on_a_read_only_state_dir_fails_without_raising(read_only_state: Path, argus_env: dict[str, str],
                                                                  config_of: Any,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The lock's error path itself (an in-process caller skips the CLI's up-front check)."""
    line = run_cycle(config_of({**argus_env, "ARGUS_DECIDER": "rules"}), now=START,
                     collect=snapshot_source("healthy"), install_signals=False)
    assert line["status"] == "failed" and "cycle lock" in line["detail"] and "Read-only" in line["detail"]
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and "cycle.lock" in errors[0]


# --- argus last on hand-edited records ---------------------------------------------------------

@pytest.mark.parametrize("decision", ['{"actions": 5, "results": "x", "assessment": 3}',
                                      '{"results": [1, {"status": 5}], "actions": [{"type": 1}]}'])
def test_argus_last_passes_over_wrong_typed_records(argus_env: dict[str, str], run_argus: Any,
                                                     decision: str) -> None:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    (state / "last_decision.json").write_text(decision)
    good = {"ts": "2026-11-30T00:00:00Z", "status": "ok", "actions": [], "errors": []}
    (state / "cycles.jsonl").write_text(json.dumps(good) + "\n" + '{"ts": 5, "status": 3, "errors": 7}\n')
    proc = run_argus("last", env=argus_env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.startswith("cycle 2026-11-30T00:00:00Z  status ok")


@pytest.mark.parametrize("name", ["logs/argus.log", "observations.md", "outbox.lock"])
def test_no_state_file_is_written_through_a_planted_symlink(argus_env: dict[str, str], run_argus: Any,
                                                            tmp_path: Path, name: str, telegram: FakeTelegram) -> None:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    (state / "logs").mkdir(parents=True, mode=0o700)
    state.chmod(0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    (state / name).symlink_to(victim)
    decision = {"actions": [{"type": "log", "observation": "swap is high"},
                            {"type": "alert", "message": "disk full on /"}]}
    env = telegram_env(argus_env, telegram)
    cycle = run_argus("cycle", "--decider", "rules", env=env)
    act = run_argus("act", "--decision", "-", env=env, input=json.dumps(decision))
    assert cycle.returncode == 0 and act.returncode == 0, cycle.stderr + act.stderr
    assert victim.read_text() == "untouched\n"
    assert not (state / name).is_symlink()  # moved aside, reported
    assert list(telegram.delivered.values()) == [1]  # the alert still went out, once


def test_a_symlinked_default_log_dir_is_not_followed(argus_env: dict[str, str], run_argus: Any,
                                                     tmp_path: Path) -> None:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (state / "logs").symlink_to(elsewhere)
    proc = run_argus("cycle", "--decider", "rules", env=argus_env)
    assert proc.returncode == 0, proc.stderr
    assert list(elsewhere.iterdir()) == []
    assert (state / "logs" / "argus.log").is_file() and not (state / "logs").is_symlink()


# --- state files holding the wrong types -------------------------------------------------------

def _act(config, *actions, snapshot=None):
    return execute_decision(config, Decision("t", list(actions), [], "llm"), snapshot, dry_run=False,
                            now=time.time(), tuning=Tuning(kill_grace=0.5, active_timeout=2.0, poll_interval=0.1))


def test_dedup_entry_with_a_non_numeric_count_does_not_lose_the_alert(argus_env, tmp_path, monkeypatch):
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path))
    [first] = _act(config, {"type": "alert", "message": "disk full on /"})
    key = first.extra["key"]
    for count in ("x", [1], 1e300):
        DEDUP.path(config.state_dir).write_text(json.dumps({"keys": {key: {"last_seen": 0, "count": count}}}))
        [result] = _act(config, {"type": "alert", "message": "disk full on /"})
        assert result.status == "skipped", result.detail  # recorded, not sent: Telegram is not configured


def test_restart_backoff_with_wrong_types_still_restarts(argus_env, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    install_systemctl(bin_dir)
    config = use_env(monkeypatch, actions_env(argus_env, tmp_path, ARGUS_ALLOWED_SERVICES="web.service"))
    for entry in ({"attempts": "x"}, {"attempts": [1]}, {"last_attempt": 1e300, "attempts": 1},
                  {"cooldown_until": 1e300}):
        RESTART_BACKOFF.path(config.state_dir).parent.mkdir(parents=True, exist_ok=True)
        RESTART_BACKOFF.path(config.state_dir).write_text(json.dumps({"services": {"web.service": entry}}))
        [result] = _act(config, {"type": "restart_service", "target": "web.service", "reason": "down"})
        assert result.status == "success", (entry, result.detail)
    assert len([c for c in recorded(bin_dir, "systemctl") if c[0] == "restart"]) == 4
