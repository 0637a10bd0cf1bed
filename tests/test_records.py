"""The append-only records: rotation by a real cycle, reads across the rotation, windowed reads
that seek and still count exactly what a whole read counts (state/records.py)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from helpers_reports import expected_stats, load_records, problem, write_registry

from argus_cli.reports.stats import compute_stats
from argus_cli.state.records import census, generations, rotate

DAY = 86400
NOW = 1_780_000_000.0  # 2026-05-28, an injected clock


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _history(days: int, per_day: int, end: float = NOW, seed: int = 7) -> list[dict]:
    """``days`` of problems in time order, about ``per_day`` a day, with jitter inside a minute."""
    rng = random.Random(seed)
    count = days * per_day
    out = []
    for n in range(count):
        epoch = end - days * DAY + n * days * DAY / count + rng.uniform(0, 60)
        kind = rng.choice(["process", "service", "memory", "disk"])
        action = rng.choice(["log:observation", "alert:telegram", "kill_pid:42", "restart_service:web"])
        out.append(problem(_iso(epoch), kind, rng.choice(["info", "warning", "critical"]),
                           rng.choice(["success", "failure", "rejected"]), action=action))
    return out


def _split(path: Path, records: list[dict], files: int) -> None:
    """Write ``records`` as ``path`` and ``files - 1`` rotated copies, oldest in the highest number."""
    size = -(-len(records) // files)
    chunks = [records[i:i + size] for i in range(0, len(records), size)]
    for number, chunk in enumerate(reversed(chunks)):
        write_registry(path if number == 0 else path.with_name(f"{path.name}.{number}"), chunk)


def _compare(path: Path, records: list[dict], days: int) -> tuple[int, int]:
    report, scan = compute_stats(path, NOW, days)
    expected = expected_stats(records, NOW, days)
    got = report.to_dict()
    del got["generated_at"]
    assert got == expected
    return scan.lines, expected["total_problems"]


@pytest.mark.parametrize("files", [1, 10])
def test_a_windowed_read_counts_exactly_what_a_whole_read_counts_and_reads_little_more(tmp_path, files):
    """30 days, 200 a day, one file or rotated into ten: a 7-day window reads the window and at
    most SLACK (a day) and a bisection step before it, not the 30 days."""
    records = _history(30, 200)
    path = tmp_path / "problems.jsonl"
    _split(path, records, files)
    assert len(generations(path)) == files
    for days in (1, 7, 29, 31):
        read, in_window = _compare(path, records, days)
        assert in_window <= read <= len(records)
        if days < 29:
            assert read <= in_window + 2 * 200 + 400, (days, read, in_window)  # the window, a day, a probe span


def test_lines_out_of_order_by_days_are_read_whole_and_still_counted(tmp_path):
    """A clock that ran a week fast for a stretch, then was corrected (lines written later carry
    earlier times): the samples show it, so the file is read whole and nothing in it is missed."""
    records = _history(30, 200)
    for record in records[2000:3500]:  # a stretch stamped a week ahead, inside the 7-day window's reach
        record["ts"] = _iso(time.mktime(time.strptime(record["ts"], "%Y-%m-%dT%H:%M:%SZ")) + 23 * DAY)
    path = write_registry(tmp_path / "problems.jsonl", records)
    read, in_window = _compare(path, records, 7)
    assert read == len(records) and in_window > 1500


def test_an_unsorted_small_registry_is_read_whole(tmp_path):
    records = _history(20, 10)
    random.Random(3).shuffle(records)
    path = write_registry(tmp_path / "problems.jsonl", records)
    for days in (1, 3, 7):
        _compare(path, records, days)


def test_rotation_keeps_every_line_and_drops_only_past_keep(tmp_path):
    path = tmp_path / "cycles.jsonl"
    lines = [json.dumps({"ts": _iso(NOW + n), "n": n}) + "\n" for n in range(3000)]
    for line in lines:
        with path.open("a") as out:
            out.write(line)
        rotate(path, 10_000, keep=100)
    read = [json.loads(row)["n"] for p in reversed(generations(path)) for row in p.read_text().splitlines()]
    assert read == list(range(3000))  # every line once, in order, across the boundaries
    kept = len(generations(path))
    rotate(path, 10_000, keep=2)
    assert [p.name for p in generations(path)] == ["cycles.jsonl", "cycles.jsonl.1", "cycles.jsonl.2"] and kept > 3


def test_a_real_cycle_rotates_the_four_records_and_reports_read_across_the_boundary(run_argus, argus_env, tmp_path):
    """ARGUS_RECORDS_MAX_MB=1: a 1.2 MB registry, cycles, metrics and llm file rotate at the next
    cycle; stats, history and the census still see every line, the old copies beyond KEEP go."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    now = time.time()
    records = _history(6, 900, end=now - 60)
    registry = write_registry(tmp_path / "problems.jsonl", records)
    assert registry.stat().st_size > 1024 * 1024
    cycles = [{"ts": _iso(now - 3 * DAY + n * 30), "status": "ok", "health": "OK", "dry_run": False,
               "decider": "rules", "llm_called": False, "actions": [], "errors": [],
               "duration_ms": 5, "padding": "x" * 400} for n in range(3000)]
    (state / "cycles.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cycles))
    (state / "metrics.jsonl").write_text("".join(
        json.dumps({"ts": _iso(now - 2 * DAY + n), "cpu": 1.0, "pad": "y" * 300}) + "\n" for n in range(4000)))
    (state / "llm.jsonl").write_text("z" * (1024 * 1024 + 10) + "\n")
    for n in (1, 2, 3):
        (state / f"llm.jsonl.{n}").write_text(f"old {n}\n")
    argus_env.update({"ARGUS_PROBLEMS_FILE": str(registry), "ARGUS_RECORDS_MAX_MB": "1", "ARGUS_RECORDS_KEEP": "2"})
    before = json.loads(run_argus("stats", "--json", "--window-days", "30", env=argus_env).stdout)

    cycle = run_argus("cycle", env=argus_env)
    assert cycle.returncode == 0, cycle.stderr
    line = json.loads((state / "cycles.jsonl").read_text().splitlines()[-1])
    assert sorted(line["records_rotated"]) == ["cycles.jsonl", "llm.jsonl", "metrics.jsonl", "problems.jsonl"]
    assert (state / "cycles.jsonl").read_text().count("\n") == 1  # this cycle's line, in a new file
    assert (state / "cycles.jsonl.1").read_text().count("\n") == len(cycles)
    assert [p.name for p in generations(state / "llm.jsonl")] == ["llm.jsonl.1", "llm.jsonl.2"]
    assert (state / "llm.jsonl.2").read_text() == "old 1\n"  # old 2 and old 3 were past KEEP

    after = json.loads(run_argus("stats", "--json", "--window-days", "30", env=argus_env).stdout)
    grown = len(load_records(registry)) if registry.exists() else 0
    assert after["total_problems"] == before["total_problems"] + grown == len(records) + grown
    held = census(registry)
    assert held.files == 1 + registry.exists() and held.lines == len(records) + grown
    assert (tmp_path / "problems.jsonl.1").exists()
    history = run_argus("history", "--since", "4d", "--json", env=argus_env)
    assert history.returncode == 0, history.stderr
    assert len(json.loads(history.stdout)) == len(cycles) + 1


def test_a_record_that_cannot_rotate_is_said_and_the_cycle_goes_on(run_argus, argus_env, tmp_path, immutable):
    """metrics.jsonl immutable (chattr +i): it cannot be renamed; the cycle says so and records
    everything else."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    metrics = state / "metrics.jsonl"
    metrics.write_text("m" * (1024 * 1024 + 1) + "\n")
    immutable(metrics)
    argus_env["ARGUS_RECORDS_MAX_MB"] = "1"
    cycle = run_argus("cycle", env=argus_env)
    assert cycle.returncode == 0, cycle.stderr
    line = json.loads((state / "cycles.jsonl").read_text().splitlines()[-1])
    assert any(e.startswith(f"rotating {metrics}") for e in line["errors"]), line["errors"]
    assert metrics.stat().st_size == 1024 * 1024 + 2 and not (state / "metrics.jsonl.1").exists()


def test_garbage_the_block_reader_must_skip_costs_only_itself(tmp_path):
    """Lines over 1 MiB (one in the middle, one torn at the end), lines that are not objects, an
    action_taken that is not a string: each skipped and counted; a null action_taken and a
    description of any JSON type are fine."""
    good = _history(2, 50, end=NOW - 60)
    odd = [dict(good[0], action_taken=5), dict(good[1], action_taken=None, description=["a", {"b": None}])]
    lines = [json.dumps(r) for r in good[:40]] + ["x" * (2 * 1024 * 1024), "[1, 2]", '"text"', "{torn"]
    lines += [json.dumps(r) for r in good[40:] + odd]
    path = tmp_path / "problems.jsonl"
    path.write_text("\n".join(lines) + "\n" + "y" * (1536 * 1024))
    report, scan = compute_stats(path, NOW, 30)
    assert report.total == len(good) + 1  # odd[0] (action_taken 5) is skipped, odd[1] counts
    assert scan.skipped == 6 and scan.lines == len(good) + len(odd) + 5
    assert report.action_results[("other", odd[1]["action_result"])] >= 1


# --- what a red-team review found: rotations cut short, hostile lines, odd generations ------------

def test_a_live_file_that_cannot_move_leaves_every_copy_in_place_cycle_after_cycle(tmp_path, immutable):
    """An immutable live file (chattr +i: rename refused, as an append-only one is): each
    rotation fails before anything moved; three tries later no copy was lost or renumbered."""
    records = _history(12, 100)
    path = tmp_path / "problems.jsonl"
    _split(path, records, 3)
    path.write_text(path.read_text() + "p" * 20_000 + "\n")  # over the limit, with one bad line
    immutable(path)
    before = [(p.name, p.read_bytes()) for p in generations(path)]
    counted = compute_stats(path, NOW, 30)[0].total
    for _ in range(3):
        with pytest.raises(PermissionError):
            rotate(path, 10_000, keep=4)
    assert [(p.name, p.read_bytes()) for p in generations(path)] == before
    assert compute_stats(path, NOW, 30)[0].total == counted == len(records)


def test_a_rotation_cut_short_is_read_whole_and_finished_by_the_next(tmp_path):
    """A crash in the middle of a rotation: the live file moved to F.0, F.3 and F.2 shifted up,
    F.1 not yet (a gap at F.2); a cycle then wrote a new live file. Readers see every copy in
    order, and the next rotation finishes the move without overwriting anything."""
    records = _history(12, 100)
    path = tmp_path / "problems.jsonl"
    _split(path, records[:-50], 4)  # F, F.1, F.2, F.3
    path.rename(tmp_path / "problems.jsonl.0")
    for old in (3, 2):
        (tmp_path / f"problems.jsonl.{old}").rename(tmp_path / f"problems.jsonl.{old + 1}")
    write_registry(path, records[-50:])
    names = [p.name for p in generations(path)]
    assert names == ["problems.jsonl", "problems.jsonl.0", "problems.jsonl.1", "problems.jsonl.3", "problems.jsonl.4"]
    _compare(path, records, 30)
    assert rotate(path, 10**9, keep=6)  # finishes the cut-short move although F itself is small
    names = [p.name for p in generations(path)]
    assert names == ["problems.jsonl", "problems.jsonl.1", "problems.jsonl.2", "problems.jsonl.4", "problems.jsonl.5"]
    _compare(path, records, 30)
    assert not rotate(path, 10**9, keep=6)  # nothing left to finish


def test_lines_that_hide_their_time_are_counted_as_a_whole_read_counts_them(tmp_path):
    """A ``ts`` nested first in each line (the window's bisection must not take it for the
    line's), two objects on one line and a pretty-printed object: the 7-day figures equal those
    of the reference, which loads every valid line."""
    records = _history(30, 200)
    for n, record in enumerate(records):
        if n % 3 == 0:
            records[n] = {"meta": {"ts": "2020-01-01T00:00:00Z"}, **record}
    lines = [json.dumps(r) for r in records]
    pretty = json.dumps(records[-5], indent=2)
    lines[-10] = lines[-10] + lines[-11]  # two objects on one line: not a record
    lines[-20:-20] = pretty.splitlines()
    path = tmp_path / "problems.jsonl"
    path.write_text("\n".join(lines) + "\n")
    valid = load_records(path)
    assert len(valid) == len(records) - 1
    report, _ = compute_stats(path, NOW, 7)
    got = report.to_dict()
    del got["generated_at"]
    assert got == expected_stats(valid, NOW, 7)


def test_an_old_copy_that_is_a_directory_does_not_fail_a_report_of_this_week(run_argus, argus_env, tmp_path):
    records = _history(12, 100, end=time.time() - 60)
    path = tmp_path / "problems.jsonl"
    _split(path, records, 3)
    (tmp_path / "problems.jsonl.3").mkdir()
    argus_env["ARGUS_PROBLEMS_FILE"] = str(path)
    started = time.time()
    proc = run_argus("stats", "--json", "--window-days", "2", env=argus_env)
    assert proc.returncode == 0, proc.stderr
    counted = json.loads(proc.stdout)["total_problems"]
    assert expected_stats(records, time.time(), 2)["total_problems"] <= counted
    assert counted <= expected_stats(records, started, 2)["total_problems"]


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_keeping_no_rotated_copy_is_a_configuration_error(run_argus, argus_env, value):
    argus_env["ARGUS_RECORDS_KEEP"] = value
    proc = run_argus("cycle", "--dry-run", env=argus_env)
    assert proc.returncode == 2
    assert "ARGUS_RECORDS_KEEP" in proc.stderr
