"""A snapshot read from a file is checked once, at the edge: one line naming the bad field, exit 2."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

SCENARIO = Path(__file__).parent / "scenarios" / "several_at_once.json"
BAD = [
    ("memory", "abc", "memory: expected an object, got str 'abc'"),
    ("memory.percent", "n/a", "memory.percent: expected a number, got str 'n/a'"),
    ("disks", ["x"], "disks[0]: expected an object, got str 'x'"),
    ("system.load", [1, "x"], "system.load[1]: expected a number, got str 'x'"),
    ("top_processes", {"pid": 1}, "top_processes: expected a list, got dict {'pid': 1}"),
    ("memory_hog.pid", True, "memory_hog.pid: expected an integer, got bool True"),
    ("orphans", [], "orphans: expected an object, got list []"),
]


def _with(path: str, value: object) -> dict:
    snapshot = copy.deepcopy(json.loads(SCENARIO.read_text())["snapshot"])
    *parents, last = path.split(".")
    target = snapshot
    for name in parents:
        target = target[name]
    target[last] = value
    return snapshot


@pytest.mark.parametrize("bad", BAD, ids=[b[0] for b in BAD])
def test_decide_names_the_bad_field_in_one_line(argus_env, run_argus, tmp_path, bad):
    path, value, message = bad
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(_with(path, value)))
    proc = run_argus("decide", "--metrics", str(snap), env=argus_env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"argus: --metrics {snap} is not a usable snapshot: {message}"]


@pytest.mark.parametrize("document", [{"snapshot": [1]}, {}, [], "x"])
def test_something_that_is_no_snapshot_at_all_is_refused(argus_env, run_argus, tmp_path, document):
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(document))
    for args in (("decide", "--metrics", str(snap)), ("act", "--snapshot", str(snap), "--dry-run")):
        proc = run_argus(*args, env=argus_env, input='{"actions": []}')
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "Traceback" not in proc.stderr


def test_every_shipped_scenario_has_the_collectors_shape(argus_env, run_argus):
    for scenario in sorted(SCENARIO.parent.glob("*.json")):
        proc = run_argus("decide", "--metrics", str(scenario), "--json", env=argus_env)
        assert proc.returncode == 0, (scenario.name, proc.stderr)


def test_an_embedded_snapshot_of_the_wrong_shape_stops_act(argus_env, run_argus):
    decision = {"actions": [{"type": "log", "observation": "x"}], "snapshot": _with("disks", {})}
    proc = run_argus("act", "--decision", "-", env=argus_env, input=json.dumps(decision))
    assert proc.returncode == 2
    assert "embeds an unusable snapshot: disks: expected a list, got dict" in proc.stderr
