"""kill_pid: SIGTERM (then SIGKILL) one allow-listed process, checked to be the one the snapshot saw."""

from __future__ import annotations

from typing import Any

from argus_cli.actions import signals
from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, rejected_or_failed
from argus_cli.actions.guardrails import KillPid


def snapshot_create_time(snapshot: dict[str, Any] | None, pid: int) -> float | None:
    """The create_time the snapshot recorded for ``pid`` (memory_hog or top_processes), if any."""
    if not snapshot:
        return None
    entries = [snapshot.get("memory_hog"), *(snapshot.get("top_processes") or [])]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("pid") == pid and isinstance(entry.get("create_time"), int | float):
            return float(entry["create_time"])
    return None


def run(ctx: ActionContext, request: KillPid) -> Outcome:
    expected = snapshot_create_time(ctx.snapshot, request.pid)
    try:
        handle = signals.acquire(request.pid, expected_create_time=expected,
                                 allowed_names=ctx.config["ARGUS_KILL_ALLOWLIST"],
                                 protected=signals.protected_pids())
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
