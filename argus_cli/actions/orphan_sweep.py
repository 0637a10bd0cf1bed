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
        targets = {pid: seen[pid]["create_time"] for pid in due} | _descendants(due, table)
        ended, refused = _kill(targets, grace)
        report["refused"] = {pid: why for pid, why in refused.items() if pid in seen}  # a child may just exit
        report["killed"] = [pid for pid in ended if pid in seen]
        report["children_killed"] = [pid for pid in ended if pid not in seen]
        _record(config, now, pattern, report)
        for pid in report["killed"]:
            seen.pop(pid, None)
    if seen or state:  # a host that never has orphans is not rewritten every cycle
        atomic_write_json(orphans_path(config), {"seen_cycles": seen_cycles, "last_sweep": now,
                                                 "pids": {str(pid): entry for pid, entry in seen.items()}})
    return report


def _descendants(due: list[int], table: dict[int, dict[str, Any]]) -> dict[int, float | None]:
    """Every process below the due orphans, with its create_time. A ``node --test`` runner runs
    each test file in a child the pattern does not match; killing only the runner would leave
    that child behind, reparented and unwatched."""
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc["ppid"], []).append(proc["pid"])
    found: dict[int, float | None] = {}
    stack = [child for pid in due for child in children.get(pid, [])]
    while stack:
        pid = stack.pop()
        if pid not in found and pid not in due:
            found[pid] = table[pid]["create_time"]
            stack.extend(children.get(pid, []))
    return found


def _seen_counts(previous: Any, found: list[int], table: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per PID: consecutive sightings of the same process (a reused PID starts again at 1)."""
    previous = previous if isinstance(previous, dict) else {}
    out = {}
    for pid in found:
        created = table[pid]["create_time"]
        before = previous.get(str(pid))
        # Not ==: psutil derives create_time from /proc/stat's btime, which can move by a second
        # between reads; an exact comparison would restart the count of a process it has seen.
        recorded = stored_number(before.get("create_time")) if isinstance(before, dict) else None
        same = recorded is not None and created is not None and \
            abs(recorded - created) <= signals.CREATE_TIME_TOLERANCE
        out[pid] = {"create_time": created, "seen": (int(stored_number(before.get("seen")) or 0) if same else 0) + 1}
    return out


def _kill(targets: dict[int, float | None], grace: float) -> tuple[list[int], dict[int, str]]:
    """SIGTERM every target (checked to be the same process still), SIGKILL survivors after grace."""
    handles, refused = [], {}
    protected = signals.protected_pids()
    for pid, created in targets.items():
        try:
            handles.append(signals.acquire(pid, expected_create_time=created,
                                           allowed_names=None, protected=protected))
        except signals.Refused as exc:
            refused[pid] = str(exc)
    try:
        ended = signals.terminate(handles, grace)
    finally:
        for handle in handles:
            signals.release(handle)
    return sorted(pid for pid, how in ended.items() if how != "survived"), refused


def _children_note(report: dict[str, Any]) -> str:
    children = len(report.get("children_killed") or [])
    return f", and {children} of their child processes" if children else ""


def _record(config: Config, now: float, pattern: str, report: dict[str, Any]) -> None:
    from argus_cli.notify.relay import publish_problem
    from argus_cli.state.registry import record_problem
    ok = len(report["killed"]) == len(report["due"])
    problem = Problem(ts=iso_z(now), severity="warning" if ok else "critical", type="process",
                      description=f"orphan sweep killed {len(report['killed'])} of {len(report['due'])} "
                                  f"processes matching {pattern} seen in {report['seen_cycles']} cycles"
                                  f"{_children_note(report)}",
                      action_taken=f"orphan_sweep:{pattern}", action_result="success" if ok else "failure",
                      bead_id=None, host=socket.gethostname())
    try:
        record_problem(config, problem)
        publish_problem(config, problem)
    except Exception as exc:  # noqa: BLE001 - the sweep's bookkeeping never fails the cycle
        print(f"argus: orphan sweep record failed: {type(exc).__name__}", file=sys.stderr)
