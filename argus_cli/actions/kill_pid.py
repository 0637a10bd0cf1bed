"""kill_pid: SIGTERM (then SIGKILL) one allow-listed process, checked to be the one the snapshot saw.

The decider names a PID; a PID is only a number. The target must be a process the snapshot showed
(with its start time), and still be that process when the signal goes out (signals.acquire)."""

from __future__ import annotations

from argus_cli.actions import signals
from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, rejected_or_failed
from argus_cli.actions.guardrails import KillPid
from argus_cli.processes import own_lineage
from argus_cli.snapshot import OrphanProcess, Snapshot, TmuxPane, TopProcess


def shown_processes(snapshot: Snapshot | None) -> dict[int, float | None]:
    """pid -> create_time of every process the snapshot shows the decider: the memory hog, the top
    processes, the orphans and the processes of tmux panes."""
    if snapshot is None:
        return {}
    entries: list[TopProcess | OrphanProcess | TmuxPane | None] = [
        snapshot.memory_hog, *snapshot.top_processes, *(snapshot.orphans.processes if snapshot.orphans else ()),
        *(pane for server in snapshot.tmux for session in server.sessions for pane in session.panes)]
    shown: dict[int, float | None] = {}
    for entry in entries:
        if entry is not None and entry.pid is not None:
            created = entry.create_time
            shown[entry.pid] = float(created) if created is not None else shown.get(entry.pid)
    return shown


def snapshot_refusal(request: KillPid, snapshot: Snapshot) -> str | None:
    """Why the snapshot alone rules the target out (it did not show it, or not with a start
    time to check its identity against), or None."""
    shown = shown_processes(snapshot)
    if request.pid not in shown:
        return f"PID {request.pid} is not a process the snapshot showed"
    if shown[request.pid] is None:
        return f"the snapshot has no start time for PID {request.pid} to check its identity"
    return None


def run(ctx: ActionContext, request: KillPid) -> Outcome:
    if ctx.snapshot is None or not ctx.decided_on_snapshot:
        return _refused(request, "no snapshot to check the process against (argus act needs the decision's "
                                 "embedded snapshot or --snapshot FILE)")
    refusal = snapshot_refusal(request, ctx.snapshot)
    if refusal is not None:
        return _refused(request, refusal)
    shown = shown_processes(ctx.snapshot)
    try:
        handle = signals.acquire(request.pid, expected_create_time=shown[request.pid],
                                 allowed_names=ctx.config.kill_allowlist,
                                 protected=own_lineage())
    except signals.Refused as exc:
        return _refused(request, str(exc))
    try:
        if ctx.dry_run:
            return Outcome("skipped", f"dry run: would send SIGTERM to PID {request.pid} ({handle.name})", would=True)
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
