"""The deterministic orphan sweep (no LLM): processes matching ``ARGUS_ORPHAN_PATTERN`` that were
seen in ``ARGUS_ORPHAN_KILL_THRESHOLD`` consecutive cycles get SIGTERM, then SIGKILL after 5 s.

State in ``<state>/orphans.json``: ``seen_cycles`` (consecutive cycles with any orphan) and,
per PID, how many consecutive cycles that very process (same create_time) was seen. Only a
process seen for the whole threshold is killed, so a test run that just started is spared.
When no orphan is seen the count resets.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

from argus_cli.actions import signals
from argus_cli.collectors.orphans import find_orphans
from argus_cli.collectors.proctable import read_process_table
from argus_cli.config import Config
from argus_cli.model import Problem, iso_z
from argus_cli.state.files import atomic_write_json, read_json, stored_number

KILL_GRACE = 5.0


def orphans_path(config: Config) -> Path:
    return config.state_dir / "orphans.json"


def sweep_orphans(config: Config, now: float, *, dry_run: bool, grace: float = KILL_GRACE) -> dict[str, Any]:
    """One sweep. Returns ``{"pattern", "count", "seen_cycles", "killed", "due", "dry_run"}``."""
    pattern = config["ARGUS_ORPHAN_PATTERN"]
    table = {p["pid"]: p for p in read_process_table()}
    found = find_orphans(list(table.values()), pattern, now)["pids"]
    state = read_json(orphans_path(config), dict)
    seen = _seen_counts(state.get("pids"), found, table)
    seen_cycles = int(stored_number(state.get("seen_cycles")) or 0) + 1 if found else 0
    due = sorted(pid for pid, entry in seen.items() if entry["seen"] >= config["ARGUS_ORPHAN_KILL_THRESHOLD"])
    report: dict[str, Any] = {"pattern": pattern, "count": len(found), "seen_cycles": seen_cycles,
                              "due": due, "killed": [], "dry_run": dry_run}
    if dry_run:
        return report
    if due:
        report["killed"], report["refused"] = _kill(due, seen, grace)
        _record(config, now, pattern, report)
        for pid in report["killed"]:
            seen.pop(pid, None)
    atomic_write_json(orphans_path(config), {"seen_cycles": seen_cycles, "last_sweep": now,
                                             "pids": {str(pid): entry for pid, entry in seen.items()}})
    return report


def _seen_counts(previous: Any, found: list[int], table: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per PID: consecutive sightings of the same process (a reused PID starts again at 1)."""
    previous = previous if isinstance(previous, dict) else {}
    out = {}
    for pid in found:
        created = table[pid]["create_time"]
        before = previous.get(str(pid))
        same = isinstance(before, dict) and before.get("create_time") == created
        out[pid] = {"create_time": created, "seen": (int(stored_number(before.get("seen")) or 0) if same else 0) + 1}
    return out


def _kill(due: list[int], seen: dict[int, dict[str, Any]], grace: float) -> tuple[list[int], dict[int, str]]:
    handles, refused = [], {}
    protected = signals.protected_pids()
    for pid in due:
        try:
            handles.append(signals.acquire(pid, expected_create_time=seen[pid]["create_time"],
                                           allowed_names=None, protected=protected))
        except signals.Refused as exc:
            refused[pid] = str(exc)
    try:
        ended = signals.terminate(handles, grace)
    finally:
        for handle in handles:
            signals.release(handle)
    return sorted(pid for pid, how in ended.items() if how != "survived"), refused


def _record(config: Config, now: float, pattern: str, report: dict[str, Any]) -> None:
    from argus_cli.notify.relay import publish_problem
    from argus_cli.state.registry import record_problem
    ok = len(report["killed"]) == len(report["due"])
    problem = Problem(ts=iso_z(now), severity="warning" if ok else "critical", type="process",
                      description=f"orphan sweep killed {len(report['killed'])} of {len(report['due'])} "
                                  f"processes matching {pattern} seen in {report['seen_cycles']} cycles",
                      action_taken=f"orphan_sweep:{pattern}", action_result="success" if ok else "failure",
                      bead_id=None, host=socket.gethostname())
    try:
        record_problem(config, problem)
        publish_problem(config, problem)
    except Exception as exc:  # noqa: BLE001 - the sweep's bookkeeping never fails the cycle
        print(f"argus: orphan sweep record failed: {type(exc).__name__}", file=sys.stderr)
