"""The snapshot type: parsed once at the edge (one line naming the bad field, exit 2), and a JSON
form with the keys the collectors always wrote."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from argus_cli.snapshot import (
    OrphanProcess,
    Snapshot,
    SnapshotShapeError,
    TmuxServer,
    parse_snapshot,
    to_json,
)

SCENARIO = Path(__file__).parent / "scenarios" / "several_at_once.json"
BAD = [
    ("memory", "abc", "memory: expected `object | null`, got `str`"),
    ("memory.percent", "n/a", "memory.percent: expected `int | float | null`, got `str`"),
    ("disks", ["x"], "disks[0]: expected `object`, got `str`"),
    ("disks", [None], "disks[0]: expected `object`, got `null`"),
    ("system.load", [1, "x"], "system.load[1]: expected `int | float`, got `str`"),
    ("top_processes", {"pid": 1}, "top_processes: expected `array`, got `object`"),
    ("memory_hog.pid", True, "memory_hog.pid: expected `int | null`, got `bool`"),
    ("memory_hog.pid", 1.5, "memory_hog.pid: expected `int | null`, got `float`"),
    ("orphans", [], "orphans: expected `object | null`, got `array`"),
]


def _scenario() -> dict:
    return copy.deepcopy(json.loads(SCENARIO.read_text())["snapshot"])


def _with(path: str, value: object) -> dict:
    snapshot = _scenario()
    *parents, last = path.split(".")
    target = snapshot
    for name in parents:
        target = target[name]
    target[last] = value
    return snapshot


@pytest.mark.parametrize("bad", BAD, ids=[f"{b[0]}={b[1]!r}" for b in BAD])
def test_parse_names_the_bad_field_in_one_line(bad):
    path, value, message = bad
    with pytest.raises(SnapshotShapeError) as caught:
        parse_snapshot(_with(path, value))
    assert str(caught.value) == message


def test_a_deep_bad_field_is_named_with_its_whole_path():
    tmux = [{"socket": "default", "sessions": [{"name": "a", "panes": [{"pid": 1, "name": 7}]}]}]
    with pytest.raises(SnapshotShapeError, match=r"^tmux\[0\]\.sessions\[0\]\.panes\[0\]\.name: expected `str"):
        parse_snapshot({"tmux": tmux})


def test_bool_is_no_number_and_numbers_keep_their_kind():
    with pytest.raises(SnapshotShapeError, match=r"^memory\.percent: "):
        parse_snapshot({"memory": {"percent": True}})
    memory = parse_snapshot({"memory": {"total_mb": 1024, "percent": 50}}).memory
    assert memory is not None and type(memory.total_mb) is int and type(memory.percent) is int
    assert to_json(parse_snapshot({"memory": {"percent": 12.5}}))["memory"]["percent"] == 12.5


def test_absent_or_null_means_not_measured():
    absent = parse_snapshot({"ts": "2026-01-01T00:00:00Z"})
    nulls = parse_snapshot({"ts": "2026-01-01T00:00:00Z", "memory": None, "disks": None, "system": {"load": None},
                            "orphans": {"count": None, "processes": [{"pid": 3, "why_not": None}]}})
    assert absent.memory is None and absent.disks == () and absent.errors == ()
    assert nulls.memory is None and nulls.disks == () and nulls.system is not None and nulls.system.load == ()
    assert nulls.orphans is not None and nulls.orphans.count is None
    assert "why_not" not in to_json(nulls)["orphans"]["processes"][0]


@pytest.mark.parametrize("document", [[1], "x", None, 3, {}, {"snapshot_of": 1}])
def test_something_that_is_no_snapshot_is_refused(document):
    with pytest.raises(SnapshotShapeError) as caught:
        parse_snapshot(document)
    assert "\n" not in str(caught.value)


def _within(small: object, big: object) -> bool:
    """Every value of ``small`` is in ``big``; ``big`` may have more keys (those it adds are empty)."""
    if isinstance(small, dict):
        return isinstance(big, dict) and all(_within(v, big.get(k)) for k, v in small.items())
    if isinstance(small, list):
        return isinstance(big, list) and len(small) == len(big) and all(map(_within, small, big))
    return small == big and type(small) is type(big)


def test_every_shipped_scenario_parses_and_keeps_its_values():
    for scenario in sorted(SCENARIO.parent.glob("*.json")):
        original = json.loads(scenario.read_text())["snapshot"]
        again = json.loads(json.dumps(to_json(parse_snapshot(original))))
        assert _within(original, again), scenario.name


def test_the_json_form_has_the_collectors_keys_in_their_order():
    snapshot = Snapshot(ts="t", orphans=None, tmux=(TmuxServer(socket="default"),))
    form = to_json(snapshot)
    assert list(form) == ["ts", "host", "argus_version", "system", "memory", "swap", "cgroup_memory", "disks",
                          "memory_hog", "top_processes", "services", "orphans", "tmux", "freshness",
                          "previous_cycle", "errors"]
    assert form["memory_hog"] is None and form["disks"] == ()
    assert form["tmux"] == ({"socket": "default", "sessions": ()},)  # no detail key when it has none
    assert to_json(TmuxServer(socket="s", detail="no server running"))["detail"] == "no server running"
    assert to_json(OrphanProcess(pid=1, killable=True)) == {"pid": 1, "name": None, "create_time": None,
                                                            "killable": True}


def test_a_snapshot_round_trips_through_its_json_form():
    snapshot = parse_snapshot(_scenario())
    assert parse_snapshot(json.loads(json.dumps(to_json(snapshot)))) == snapshot


@pytest.mark.parametrize("bad", BAD, ids=[f"{b[0]}={b[1]!r}" for b in BAD])
def test_decide_names_the_bad_field_in_one_line(argus_env, run_argus, tmp_path, bad):
    path, value, message = bad
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(_with(path, value)))
    proc = run_argus("decide", "--metrics", str(snap), env=argus_env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"argus: --metrics {snap} is not a usable snapshot: {message}"]


@pytest.mark.parametrize("document", [{"snapshot": [1]}, {}, [], "x"])
def test_something_that_is_no_snapshot_at_all_is_refused_by_the_commands(argus_env, run_argus, tmp_path,
                                                                          document):
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
    assert "embeds an unusable snapshot: disks: expected `array`, got `object`" in proc.stderr
