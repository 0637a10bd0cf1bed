"""kill_pid: SIGTERM (then SIGKILL) one allow-listed process, checked to be the one the snapshot saw.

The decider names a PID; a PID is only a number. The target must be a process the snapshot showed
(with its start time), and still be that process when the signal goes out (signals.acquire)."""

from __future__ import annotations

from typing import Any

from argus_cli.actions import signals
from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, rejected_or_failed
from argus_cli.actions.guardrails import KillPid
from argus_cli.model import as_number
from argus_cli.processes import own_lineage


def shown_processes(snapshot: dict[str, Any] | None) -> dict[int, float | None]:
    """pid -> create_time of every process the snapshot shows the decider: the memory hog, the top
    processes, the orphans and the processes of tmux panes."""
    if not isinstance(snapshot, dict):
        return {}
    orphans, servers = snapshot.get("orphans"), snapshot.get("tmux")
    entries: list[Any] = [snapshot.get("memory_hog"), *_listed(snapshot.get("top_processes")),
                          *_listed(orphans.get("processes") if isinstance(orphans, dict) else None)]
    for server in _listed(servers):
        for session in _listed(server.get("sessions") if isinstance(server, dict) else None):
            entries.extend(_listed(session.get("panes") if isinstance(session, dict) else None))
    shown: dict[int, float | None] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("pid"), int) and not isinstance(entry["pid"], bool):
            created = as_number(entry.get("create_time"))
            shown[entry["pid"]] = created if created is not None else shown.get(entry["pid"])
    return shown


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def run(ctx: ActionContext, request: KillPid) -> Outcome:
    shown = shown_processes(ctx.snapshot)
    if ctx.snapshot is None or not ctx.decided_on_snapshot:
        return _refused(request, "no snapshot to check the process against (argus act needs the decision's "
                                 "embedded snapshot or --snapshot FILE)")
    if request.pid not in shown:
        return _refused(request, f"PID {request.pid} is not a process the snapshot showed")
    if shown[request.pid] is None:
        return _refused(request, f"the snapshot has no start time for PID {request.pid} to check its identity")
    try:
        handle = signals.acquire(request.pid, expected_create_time=shown[request.pid],
                                 allowed_names=ctx.config["ARGUS_KILL_ALLOWLIST"],
                                 protected=own_lineage())
    except signals.Refused as exc:
        return _refused(request, str(exc))
    try:
        if ctx.dry_run:
            return Outcome("skipped", f"dry run: would send SIGTERM to PID {request.pid} ({handle.name})")
        ended = signals.terminate([handle], ctx.tuning.kill_grace, ctx.tuning.sleep)[handle.pid]
    finally:
        signals.release(handle)
    return _ended(request, handle.name, ended)


def _refused(request: KillPid, why: str) -> Outcome:
    return rejected_or_failed("rejected", why, reason=request.reason, action_taken=f"kill_pid:{request.pid}",
                              problem_type="process")


def _ended(request: KillPid, name: str, ended: str) -> Outcome:
    action_taken = f"kill_pid:{request.pid}"
    if ended == "survived":
        return rejected_or_failed("failure", f"PID {request.pid} ({name}) survived SIGTERM and SIGKILL",
                                  reason=request.reason, action_taken=action_taken, problem_type="process",
                                  extra={"signal": "SIGKILL"})
    detail = (f"PID {request.pid} ({name}) had exited before the signal" if ended == "gone"
              else f"PID {request.pid} ({name}) ended after {ended}")
    draft = ProblemDraft("process", "warning", request.reason, action_taken, "success")
    return Outcome("success", detail, draft, {"signal": ended, "name": name})
