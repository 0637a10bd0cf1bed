"""State primitives: atomic JSON, corrupt files kept aside, whole-line JSONL, the lock."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from argus_cli.state import layout
from argus_cli.state.files import (
    LineStats,
    append_jsonl,
    atomic_write_json,
    iter_jsonl,
)
from argus_cli.state.layout import DEDUP, JsonFile
from argus_cli.state.lock import FileLock, LockBusy
from argus_cli.state.records import tail


def test_atomic_write_then_read(tmp_path):
    target = tmp_path / "deep" / "state.json"
    atomic_write_json(target, {"a": 1, "p": Path("/x")})
    assert json.loads(target.read_text()) == {"a": 1, "p": "/x"}
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json"]


def test_corrupt_file_is_moved_aside_and_reported_by_the_owner(tmp_path, state_owner):
    target = tmp_path / "dedup.json"
    target.write_text('{"keys": {')
    notes: list[str] = []
    assert DEDUP.read(tmp_path, notes.append) is None
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("dedup.json.corrupt-")]
    assert len(aside) == 1 and aside[0].read_text() == '{"keys": {'
    assert not target.exists() and len(notes) == 1 and "moved aside" in notes[0]
    target.write_text("[1, 2]")  # valid JSON of the wrong shape is corrupt too
    assert DEDUP.read(tmp_path, notes.append) is None
    assert len(notes) == 2


def test_a_process_that_only_reads_reports_a_corrupt_file_and_leaves_it(tmp_path):
    notes: list[str] = []
    for bad in ('{"keys": {', '{"keys": []}'):
        (tmp_path / "dedup.json").write_text(bad)
        assert DEDUP.read(tmp_path, notes.append) is None
        assert (tmp_path / "dedup.json").read_text() == bad
    assert list(tmp_path.glob("*.corrupt-*")) == []
    assert len(notes) == 2 and all("left as it is" in note for note in notes)


JSON_FILES = [f for f in vars(layout).values() if isinstance(f, JsonFile)]
DEEP = '{"zzz": ' + "[" * 5000 + "]" * 5000 + "}"  # past what any JSON decoder follows
BIG = 123456789012345678901234567890  # decodes as an int, but no writer takes it back
TOO_BIG = {  # the number in a field each file's own code does arithmetic on, then rewrites
    "cycle-state.json": {"status": "failed", "timestamp": "t", "consecutive_failures": BIG},
    "dedup.json": {"keys": {"alert:x": {"last_seen": BIG, "count": 1}}},
    "restart-backoff.json": {"services": {"other.service": {"attempts": BIG}}},
    "orphans.json": {"pids": {"4242": {"create_time": 1.5, "seen": BIG}}},
    "llm-backoff.json": {"failures": BIG, "until": 0},
}


@pytest.mark.parametrize("state_file", JSON_FILES, ids=lambda f: f.name)
def test_a_file_nested_past_the_decoder_is_unusable_not_a_crash(tmp_path, state_owner, state_file):
    # every reader of a state file goes through JsonFile.read: a hand-made or hostile file nested
    # thousands deep is moved aside and read as missing, not a RecursionError in every cycle
    state_file.path(tmp_path).write_text(DEEP)
    notes: list[str] = []
    assert state_file.read(tmp_path, notes.append) is None
    assert not state_file.path(tmp_path).exists() and len(notes) == 1 and "moved aside" in notes[0]
    [aside] = tmp_path.glob(f"{state_file.name}.corrupt-*")
    assert aside.read_text() == DEEP


@pytest.mark.parametrize("name", sorted(TOO_BIG))
def test_an_integer_no_writer_can_take_back_makes_the_file_unusable(tmp_path, state_owner, name):
    # read as valid, it would fail the rewrite on every cycle (orjson stops at 64 bits) and never heal
    [state_file] = [f for f in JSON_FILES if f.name == name]
    state_file.path(tmp_path).write_text(json.dumps(TOO_BIG[name]))
    assert state_file.read(tmp_path, lambda _: None) is None
    assert len(list(tmp_path.glob(f"{name}.corrupt-*"))) == 1
    in_range = json.loads(json.dumps(TOO_BIG[name]).replace(str(BIG), str(2**63 - 1)))
    state_file.path(tmp_path).write_text(json.dumps(in_range))
    value = state_file.read(tmp_path, lambda _: None)
    assert value is not None
    state_file.write(tmp_path, value)  # what the file's owner does next: it writes back


def test_jsonl_skips_torn_and_garbage_lines(tmp_path):
    log = tmp_path / "problems.jsonl"
    append_jsonl(log, {"n": 1})
    with log.open("ab") as handle:
        handle.write(b'not json\n[1]\n{"n": 2}\n{"n": 3, "torn')
    append_jsonl(log, {"n": 4})  # starts on its own line although the previous one was torn
    stats = LineStats()
    assert [r["n"] for r in iter_jsonl(log, stats)] == [1, 2, 4]
    assert stats.malformed == 3
    assert [r["n"] for r in tail(log, 2)] == [2, 4]
    assert list(iter_jsonl(tmp_path / "missing.jsonl")) == []


def test_tail_reads_across_chunks(tmp_path):
    log = tmp_path / "big.jsonl"
    for n in range(2000):
        append_jsonl(log, {"n": n, "pad": "x" * 50})
    assert [r["n"] for r in tail(log, 5)] == [1995, 1996, 1997, 1998, 1999]
    assert len(tail(log, 5000)) == 2000


def _append_many(path: str, worker: int) -> None:
    for n in range(300):
        append_jsonl(Path(path), {"worker": worker, "n": n, "text": "y" * (n % 97) * 40})


def test_concurrent_appends_never_interleave(tmp_path):
    log = tmp_path / "problems.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(log), w)) for w in range(8)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    lines = log.read_bytes().splitlines()
    assert len(lines) == 8 * 300
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_lock_is_exclusive_and_released(tmp_path):
    lock_path = tmp_path / "argus.lock"
    with FileLock(lock_path):
        with pytest.raises(LockBusy):
            FileLock(lock_path).acquire()
        assert lock_path.read_text().strip() == str(os.getpid())
    with FileLock(lock_path):
        pass


def test_lone_surrogates_are_written_readably(tmp_path):
    """An LLM answer can carry half an emoji pair; the record must still be written and read back."""
    log, state = tmp_path / "cycles.jsonl", tmp_path / "last_decision.json"
    append_jsonl(log, {"assessment": "disk \ud83d full"})
    atomic_write_json(state, {"observations": ["\udc00 odd", "fine \U0001F600"]})
    assert [r["assessment"] for r in iter_jsonl(log)] == ["disk ? full"]
    assert json.loads(state.read_text()) == {"observations": ["? odd", "fine \U0001F600"]}


def test_a_state_dir_argus_creates_is_private(run_argus, argus_env, tmp_path):
    state = tmp_path / "fresh" / "argus"
    result = run_argus("cycle", "--decider", "rules", env={**argus_env, "ARGUS_STATE_DIR": str(state)})
    assert result.returncode == 0, result.stderr
    assert state.stat().st_mode & 0o777 == 0o700
    assert (state / "logs").stat().st_mode & 0o777 == 0o700


def test_a_cycle_over_hostile_state_files_runs_and_heals_them(run_argus, argus_env, tmp_path):
    # the red team's repro: such files used to fail the orphan sweep (or the cycle) every cycle
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(parents=True, exist_ok=True)
    (state / "orphans.json").write_text(DEEP)
    (state / "cycle-state.json").write_text(json.dumps(TOO_BIG["cycle-state.json"]))
    for _ in range(2):
        result = run_argus("cycle", "--decider", "rules", "--json", env=argus_env)
        assert result.returncode == 0, result.stderr
        line = json.loads(result.stdout)
        assert line["status"] == "ok" and line["errors"] == [], line
    assert len(list(state.glob("orphans.json.corrupt-*"))) == 1
    assert len(list(state.glob("cycle-state.json.corrupt-*"))) == 1
