"""The deterministic orphan sweep (no LLM): orphaned test processes (see ``argus_cli.processes`` for
what counts as one) seen in ``ARGUS_ORPHAN_KILL_THRESHOLD`` consecutive cycles get SIGTERM, then
SIGKILL after 5 s, at most ``ARGUS_ORPHAN_MAX_KILLS`` of them per cycle, oldest first.

Only *killable* orphans count (name on ``ARGUS_KILL_ALLOWLIST``, never a shell or a tmux server).
Each is signalled through ``signals.acquire``, the same identity check as ``kill_pid``: same
start time as when it was counted, the allowlist again, a pidfd. Its descendants go with it only
while they are allowlisted and not shells or tmux servers: the test workers a ``node --test``
runner starts, not whatever else the tree holds. ``ARGUS_ORPHAN_SWEEP=false`` reports, kills nothing.

State in ``<state>/orphans.json``: ``seen_cycles`` (consecutive cycles with a killable orphan)
and, per PID, how many consecutive cycles that very process (same create_time) was seen. A
process that just appeared is therefore spared until it has been seen for the whole threshold.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from argus_cli.actions import signals
from argus_cli.config import Config
from argus_cli.model import Problem, iso_z
from argus_cli.processes import (
    Orphan,
    ProcessRow,
    find_orphans,
    never_killed,
    own_lineage,
    process_names,
    read_process_table,
)
from argus_cli.state.files import stored_number
from argus_cli.state.layout import ORPHANS, Orphans, OrphanSighting

KILL_GRACE = 5.0
Table = dict[int, ProcessRow]


def sweep_orphans(config: Config, now: float, *, dry_run: bool, grace: float = KILL_GRACE,
                  processes: list[ProcessRow] | None = None, observe: bool = False) -> dict[str, Any]:
    """One sweep over ``processes`` (the cycle's process table; read here when not given);
    returns the report the cycle records (every key a string, every value JSON). ``observe``
    (kill_pid not ``act`` in ARGUS_AUTONOMY, or a maintenance window): sightings are counted
    as usual, the due orphans are reported and none is killed."""
    pattern, allowlist = config.orphan_pattern, config.kill_allowlist
    table = {p.pid: p for p in (read_process_table() if processes is None else processes)}
    protected = own_lineage()  # Argus and its ancestors: never an orphan, never signalled
    found = find_orphans(list(table.values()), pattern, allowlist, protected)
    killable = [o for o in found if o.killable]
    state = ORPHANS.read(config.state_dir)  # an unusable one is moved aside: the counts start again
    before = state or Orphans()
    seen = _seen_counts(before.pids, killable)
    seen_cycles = int(stored_number(before.seen_cycles) or 0) + 1 if killable else 0
    due = [o for o in killable if seen[o.pid].seen >= config.orphan_kill_threshold]
    now_due, deferred = due[: config.orphan_max_kills], due[config.orphan_max_kills:]
    report: dict[str, Any] = {
        "enabled": config.orphan_sweep, "pattern": pattern, "count": len(found),
        "seen_cycles": seen_cycles, "due": [o.pid for o in now_due], "deferred": [o.pid for o in deferred],
        "spared": {str(o.pid): o.why_not for o in found if not o.killable},
        "killed": [], "children_killed": [], "refused": {}, "dry_run": dry_run}
    if observe:
        report["observe"] = True
    if now_due and config.orphan_sweep and not dry_run and not observe:
        report.update(_kill_due(config, now_due, table, grace, protected))
        _record(config, now, report)
        for pid in report["killed"]:
            seen.pop(pid, None)
    if not dry_run and (seen or state is not None):  # a host that never has orphans is not rewritten every cycle
        ORPHANS.write(config.state_dir, Orphans(seen_cycles, now, {str(pid): entry for pid, entry in seen.items()}))
    return report


def _kill_due(config: Config, due: list[Orphan], table: Table, grace: float,
              protected: frozenset[int]) -> dict[str, Any]:
    """End the due orphans and their test workers: the report's killed / children_killed / refused."""
    allowlist = frozenset(config.kill_allowlist)
    roots = {o.pid: o.create_time for o in due}
    workers = _test_workers(list(roots), table, allowlist)
    ended, refused = _kill(roots | workers, allowlist, grace, protected)
    return {"killed": [pid for pid in ended if pid in roots],
            "children_killed": [pid for pid in ended if pid not in roots],
            "refused": {str(pid): why for pid, why in refused.items() if pid in roots}}  # a worker may just exit


def _test_workers(roots: list[int], table: Table, allowlist: frozenset[str]) -> dict[int, float | None]:
    """Descendants of the roots that are themselves allowlisted test workers, with their create_time.

    A ``node --test`` runner runs each test file in a child node process the pattern does not match;
    killing only the runner would leave that child reparented and unwatched. The walk stops at any
    process that is not allowlisted (or is a shell or a tmux server): it and its subtree stay."""
    children: dict[int | None, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: dict[int, float | None] = {}
    stack = [child for pid in roots for child in children.get(pid, [])]
    while stack:
        proc = table[stack.pop()]
        if proc.pid in found or proc.pid in roots or never_killed(proc):
            continue
        if process_names(proc.name, proc.cmdline) & allowlist:
            found[proc.pid] = proc.create_time
            stack.extend(children.get(proc.pid, []))
    return found


def _seen_counts(previous: dict[str, OrphanSighting], killable: list[Orphan]) -> dict[int, OrphanSighting]:
    """Per PID: consecutive sightings of the same process (a reused PID starts again at 1)."""
    out = {}
    for orphan in killable:
        before = previous.get(str(orphan.pid)) or OrphanSighting()
        # Not ==: psutil derives create_time from /proc/stat's btime, which can move by a second
        # between reads; an exact comparison would restart the count of a process it has seen.
        recorded = stored_number(before.create_time)
        same = recorded is not None and orphan.create_time is not None and \
            abs(recorded - orphan.create_time) <= signals.CREATE_TIME_TOLERANCE
        count = int(stored_number(before.seen) or 0) if same else 0
        out[orphan.pid] = OrphanSighting(orphan.create_time, count + 1)
    return out


def _kill(targets: dict[int, float | None], allowlist: frozenset[str], grace: float,
          protected: frozenset[int]) -> tuple[list[int], dict[int, str]]:
    """SIGTERM every target (checked to be the same allowlisted process still), SIGKILL survivors."""
    handles, refused = [], {}
    for pid, created in targets.items():
        if created is None:  # without a start time the PID could be anyone's by now
            refused[pid] = f"PID {pid} has no start time to check its identity against"
            continue
        try:
            handles.append(signals.acquire(pid, expected_create_time=created, allowed_names=allowlist,
                                           protected=protected))
        except signals.Refused as exc:
            refused[pid] = str(exc)
    try:
        ended = signals.terminate(handles, grace)
    finally:
        for handle in handles:
            signals.release(handle)
    return sorted(pid for pid, how in ended.items() if how != "survived"), refused


def _children_note(report: dict[str, Any]) -> str:
    children = len(report["children_killed"])
    return f", and {children} of their test worker processes" if children else ""


def _record(config: Config, now: float, report: dict[str, Any]) -> None:
    from argus_cli.notify.relay import publish_problem
    from argus_cli.state.registry import record_problem
    ok = len(report["killed"]) == len(report["due"])
    pattern = report["pattern"]
    problem = Problem(ts=iso_z(now), severity="warning" if ok else "critical", type="process",
                      description=f"orphan sweep killed {len(report['killed'])} of {len(report['due'])} "
                                  f"orphaned processes matching {pattern} seen in {report['seen_cycles']} cycles"
                                  f"{_children_note(report)}",
                      action_taken=f"orphan_sweep:{pattern}", action_result="success" if ok else "failure",
                      bead_id=None, host=socket.gethostname())
    try:
        record_problem(config, problem)
        publish_problem(config, problem)
    except Exception as exc:  # noqa: BLE001 - the sweep's bookkeeping never fails the cycle
        print(f"argus: orphan sweep record failed: {type(exc).__name__}", file=sys.stderr)
