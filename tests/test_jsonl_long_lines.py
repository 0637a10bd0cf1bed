"""Issue 9, item 8: a huge line in a JSONL file costs time linear in its size and never memory.

32 MB of NULs written into problems.jsonl (a crashed writer, a stray dd) used to cost the
backwards reader quadratic time (it re-concatenated a growing partial line) and the forward
reader the whole line in memory. Both now skip any line over MAX_LINE_BYTES as it streams by,
counted as malformed.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from argus_cli.model import Problem, iso_z
from argus_cli.state.files import (
    MAX_LINE_BYTES,
    LineStats,
    append_jsonl,
    iter_jsonl,
    iter_jsonl_backwards,
)
from argus_cli.state.records import tail
from argus_cli.state.registry import key_for, recent_count, record_problem

NUL_BYTES = 32 * 1024 * 1024
MEMORY_CEILING = 4 * 1024 * 1024  # the bound (1 MiB) plus chunks; the bad line is 32 MiB


def _append_nuls(path: Path, size: int = NUL_BYTES) -> None:
    block = b"\0" * (1024 * 1024)
    with path.open("ab") as handle:
        for _ in range(size // len(block)):
            handle.write(block)


@pytest.fixture
def poisoned(tmp_path: Path) -> Path:
    """Two good records, 32 MB of NULs with no newline (a torn write), two more good records."""
    path = tmp_path / "problems.jsonl"
    append_jsonl(path, {"n": 1})
    append_jsonl(path, {"n": 2})
    _append_nuls(path)
    append_jsonl(path, {"n": 3})  # heals the torn tail: the NULs end up as one line of their own
    append_jsonl(path, {"n": 4})
    return path


def _peak(run: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_forward_reader_skips_a_huge_line_without_holding_it(poisoned: Path) -> None:
    stats = LineStats()
    records, peak = _peak(lambda: list(iter_jsonl(poisoned, stats)))
    assert [r["n"] for r in records] == [1, 2, 3, 4]
    assert (stats.lines, stats.malformed) == (5, 1)
    assert peak < MEMORY_CEILING, f"peak {peak} bytes for a {NUL_BYTES}-byte line"


def test_backward_reader_skips_a_huge_line_without_holding_it(poisoned: Path) -> None:
    stats = LineStats()
    started = time.monotonic()
    records, peak = _peak(lambda: list(iter_jsonl_backwards(poisoned, 16384, stats)))
    elapsed = time.monotonic() - started
    assert [r["n"] for r in records] == [4, 3, 2, 1]
    assert (stats.lines, stats.malformed) == (5, 1)
    assert peak < MEMORY_CEILING, f"peak {peak} bytes for a {NUL_BYTES}-byte line"
    assert elapsed < 15, f"{elapsed:.1f}s: quadratic again? (was 27.6 s, linear is well under 1 s)"
    assert [r["n"] for r in tail(poisoned, 3)] == [2, 3, 4]


def test_a_torn_huge_tail_is_one_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "cycles.jsonl"
    append_jsonl(path, {"n": 1})
    _append_nuls(path, 4 * MAX_LINE_BYTES)  # the file ends inside the huge line
    for reader in (lambda s: iter_jsonl(path, s), lambda s: iter_jsonl_backwards(path, 4096, s)):
        stats = LineStats()
        assert [r["n"] for r in reader(stats)] == [1]
        assert (stats.lines, stats.malformed) == (2, 1)


def test_registry_lookup_stays_fast_past_a_huge_line(poisoned: Path, argus_env: dict[str, str],
                                                     config_of: Any) -> None:
    """What `argus act` does for every problem: count recent recurrences, backwards."""
    config = config_of({**argus_env, "ARGUS_STATE_DIR": str(poisoned.parent)})
    assert config.problems_file == poisoned
    now = time.time()
    problem = Problem(ts=iso_z(now - 60), type="disk", severity="warning", description="disk / 91%",
                      action_taken="log", action_result="success", bead_id=None, host="web-01")
    record_problem(config, problem)
    started = time.monotonic()
    (count, peak) = _peak(lambda: recent_count(config, key_for("disk", "disk / 91%"), 86400 * 7, now))
    assert count == 1
    assert peak < MEMORY_CEILING
    assert time.monotonic() - started < 15


def test_lines_at_the_bound_are_kept_and_past_it_skipped(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    fits = {"pad": "a" * (MAX_LINE_BYTES - 20)}
    over = {"pad": "b" * (MAX_LINE_BYTES + 10)}
    for record in ({"n": 1}, fits, over, {"n": 2}):
        append_jsonl(path, record)
    for reader in (lambda s: iter_jsonl(path, s), lambda s: reversed(list(iter_jsonl_backwards(path, 4096, s)))):
        stats = LineStats()
        got = list(reader(stats))
        assert [r.get("n", len(r.get("pad", ""))) for r in got] == [1, len(fits["pad"]), 2]
        assert stats.malformed == 1


def test_both_readers_agree_with_splitlines_on_random_files(tmp_path: Path) -> None:
    """Chunk edges falling anywhere (inside a line, on a newline, blank lines, a torn end)."""
    rng = random.Random(9)
    path = tmp_path / "r.jsonl"
    for trial in range(60):
        lines = [json.dumps({"n": i, "pad": "x" * rng.choice([0, 1, 7, 100, 3000])}) if rng.random() > 0.1
                 else rng.choice(["", "   ", "garbage", "[1]"]) for i in range(rng.randint(0, 40))]
        data = "\n".join(lines) + rng.choice(["", "\n", "\n\n"])
        path.write_text(data)
        expected = [json.loads(x)["n"] for x in data.split("\n") if x.strip().startswith("{")]
        chunk = rng.choice([1, 2, 3, 17, 64, 4096])
        assert [r["n"] for r in iter_jsonl(path)] == expected, trial
        assert [r["n"] for r in iter_jsonl_backwards(path, chunk)] == expected[::-1], (trial, chunk)


def _stats_peak_kib(env: dict[str, str]) -> int:
    """Peak RSS of one real `argus stats` run, measured by a fresh parent so nothing else counts."""
    probe = ("import resource, subprocess, sys\n"
             "proc = subprocess.run([sys.executable, '-m', 'argus_cli', 'stats', '--json'], capture_output=True)\n"
             "assert proc.returncode == 0, proc.stderr\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120,
                         check=True)
    return int(out.stdout.strip())


def test_argus_stats_memory_does_not_grow_with_a_huge_line(argus_env: dict[str, str]) -> None:
    state = Path(argus_env["ARGUS_STATE_DIR"])
    state.mkdir(mode=0o700)
    problems = state / "problems.jsonl"
    now = time.time()
    for n in range(3):
        append_jsonl(problems, {"ts": iso_z(now - n), "type": "disk", "severity": "warning",
                                "description": "disk / 91%", "action_taken": "log", "action_result": "success"})
    baseline = _stats_peak_kib(argus_env)
    _append_nuls(problems)
    append_jsonl(problems, {"ts": iso_z(now), "type": "disk", "severity": "warning",
                            "description": "disk / 91%", "action_taken": "log", "action_result": "success"})
    poisoned = _stats_peak_kib(argus_env)
    assert poisoned - baseline < 16 * 1024, f"peak RSS {baseline} KiB -> {poisoned} KiB"
