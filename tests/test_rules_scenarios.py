"""The rules engine on a table of recorded snapshots (tests/scenarios/*.json).

Each file holds a snapshot and the decision the rules must reach. The real CLI replays it:
`argus decide --decider rules --metrics FILE --json`, exactly as an operator would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from argus_cli.decide.rules import decide_rules, findings, signature
from argus_cli.model import MAX_ACTIONS
from argus_cli.snapshot import SnapshotShapeError, parse_snapshot

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.json"))
REQUIRED = {"healthy", "memory_85", "memory_95_node_hog", "disk_92", "load_3x_cores", "swap_60",
            "service_down", "service_down_boot_grace", "stale_freshness", "orphans_present",
            "several_at_once"}


def _contains_all(text: str, parts: list[str], what: str) -> None:
    for part in parts:
        assert part in text, f"{what}: {part!r} not in {text!r}"


def match(decision: dict[str, Any], expected: dict[str, Any]) -> None:
    assert decision["decider"] == "rules"
    actions = decision["actions"]
    assert [a["type"] for a in actions] == [e["type"] for e in expected["actions"]], actions
    for got, want in zip(actions, expected["actions"], strict=True):
        for key, value in want.items():
            if key.endswith("_contains"):
                _contains_all(got[key.removesuffix("_contains")], value, key)
            elif key != "type":
                assert got[key] == value
    _contains_all(decision["assessment"], expected.get("assessment_contains", []), "assessment")
    joined = " | ".join(decision["observations"])
    _contains_all(joined, expected.get("observations_contain", []), "observations")


def test_the_table_covers_every_required_scenario() -> None:
    assert {p.stem for p in SCENARIOS} >= REQUIRED


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_argus_decide_replays_scenario(path: Path, argus_env: dict[str, str], run_argus: Any) -> None:
    doc = json.loads(path.read_text())
    env = {**argus_env, **doc.get("env", {})}
    proc = run_argus("decide", "--decider", "rules", "--metrics", str(path), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    match(json.loads(proc.stdout), doc["expected"])
    assert not (Path(env["ARGUS_STATE_DIR"]) / "cycles.jsonl").exists()  # decide records nothing


def test_decide_reads_a_bare_snapshot_from_stdin(argus_env: dict[str, str], run_argus: Any) -> None:
    doc = json.loads((Path(__file__).parent / "scenarios" / "disk_92.json").read_text())
    proc = run_argus("decide", "--decider", "rules", "--metrics", "-", "--json", env=argus_env,
                     input=json.dumps(doc["snapshot"]))
    assert proc.returncode == 0, proc.stderr
    match(json.loads(proc.stdout), doc["expected"])


def test_decide_rejects_a_bad_metrics_file(tmp_path: Path, argus_env: dict[str, str], run_argus: Any) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    proc = run_argus("decide", "--metrics", str(bad), "--json", env=argus_env)
    assert proc.returncode == 2
    assert "not JSON" in proc.stderr and proc.stdout == ""
    proc = run_argus("decide", "--metrics", str(tmp_path / "missing.json"), env=argus_env)
    assert proc.returncode == 2 and "cannot read" in proc.stderr


def _snapshot(name: str) -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "scenarios" / f"{name}.json").read_text())["snapshot"]


def test_thresholds_are_inclusive_and_load_is_strict(argus_env: dict[str, str], config_of: Any) -> None:
    config = config_of(argus_env)
    snap = _snapshot("healthy")
    snap["memory"]["percent"] = 90.0
    snap["disks"][0]["percent"] = 80.0
    snap["swap"]["percent"] = 50.0
    snap["system"]["load_per_core"] = 2.0  # exactly the factor: not above it
    keys = [f.key for f in findings(parse_snapshot(snap), config)]
    assert keys == ["memory usage>=crit", "disk:/ usage>=warn", "swap usage>=warn"]


def test_finding_keys_do_not_move_with_the_numbers(argus_env: dict[str, str], config_of: Any) -> None:
    config = config_of(argus_env)
    a, b = _snapshot("several_at_once"), _snapshot("several_at_once")
    b["memory"]["percent"], b["disks"][0]["percent"], b["swap"]["percent"] = 97.5, 99.0, 71.0
    assert signature(findings(parse_snapshot(a), config)) == signature(findings(parse_snapshot(b), config))
    assert "orphans present" not in signature(findings(parse_snapshot(a), config))  # swept, not a reason to ask the LLM


def test_boot_grace_follows_the_setting(argus_env: dict[str, str], config_of: Any) -> None:
    snap = parse_snapshot(_snapshot("service_down_boot_grace"))  # uptime 60 s
    assert decide_rules(snap, config_of(argus_env)).actions[0]["type"] == "log"
    no_grace = config_of({**argus_env, "ARGUS_BOOT_GRACE_SECONDS": "0"})
    assert decide_rules(snap, no_grace).actions[0]["type"] == "alert"


def test_a_decision_never_exceeds_the_action_limit(argus_env: dict[str, str], config_of: Any) -> None:
    snap = _snapshot("healthy")
    snap["disks"] = [{"path": f"/d{i}", "total_mb": 100, "used_mb": 95, "free_mb": 5, "percent": 95.0}
                     for i in range(14)]
    decision = decide_rules(parse_snapshot(snap), config_of(argus_env))
    assert len(decision.actions) == MAX_ACTIONS
    assert [a["type"] for a in decision.actions].count("clean_disk") == 1  # one sweep serves every disk
    assert "left out" in decision.assessment


def test_partial_snapshot_sections_are_tolerated(argus_env: dict[str, str], config_of: Any) -> None:
    snap = parse_snapshot({"memory": None, "disks": [{"path": "/"}], "services": [{}], "system": {},
                           "swap": {"percent": 80.0}, "freshness": [{}], "orphans": {"count": None},
                           "memory_hog": {}, "errors": [{"collector": "tmux", "error": "timed out"}]})
    decision = decide_rules(snap, config_of(argus_env))
    # a failed collector is a blind spot, said first and alerted (a cycle holds it until it failed
    # twice in a row); nothing else is acted on
    assert [(a["type"], a["subject"]) for a in decision.actions] == [("alert", "collector:tmux")]
    assert decision.assessment.startswith("Argus could not see everything: Collector tmux failed")


@pytest.mark.parametrize("section", [{"disks": [None]}, {"services": ["x"]}, {"system": {"load_per_core": "high"}},
                                     {"freshness": [1]}])
def test_malformed_snapshot_sections_are_refused_before_the_rules(section: dict[str, Any]) -> None:
    with pytest.raises(SnapshotShapeError, match=next(iter(section))):
        parse_snapshot(section)
