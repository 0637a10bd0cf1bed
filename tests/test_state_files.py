"""State primitives: atomic JSON, corrupt files kept aside, whole-line JSONL, the lock."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from argus_cli.state.files import (
    LineStats,
    append_jsonl,
    atomic_write_json,
    iter_jsonl,
    tail_jsonl,
)
from argus_cli.state.layout import DEDUP
from argus_cli.state.lock import FileLock, LockBusy


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


def test_jsonl_skips_torn_and_garbage_lines(tmp_path):
    log = tmp_path / "problems.jsonl"
    append_jsonl(log, {"n": 1})
    with log.open("ab") as handle:
        handle.write(b'not json\n[1]\n{"n": 2}\n{"n": 3, "torn')
    append_jsonl(log, {"n": 4})  # starts on its own line although the previous one was torn
    stats = LineStats()
    assert [r["n"] for r in iter_jsonl(log, stats)] == [1, 2, 4]
    assert stats.malformed == 3
    assert [r["n"] for r in tail_jsonl(log, 2)] == [2, 4]
    assert list(iter_jsonl(tmp_path / "missing.jsonl")) == []


def test_tail_reads_across_chunks(tmp_path):
    log = tmp_path / "big.jsonl"
    for n in range(2000):
        append_jsonl(log, {"n": n, "pad": "x" * 50})
    assert [r["n"] for r in tail_jsonl(log, 5, chunk=256)] == [1995, 1996, 1997, 1998, 1999]
    assert len(tail_jsonl(log, 5000, chunk=1024)) == 2000


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
