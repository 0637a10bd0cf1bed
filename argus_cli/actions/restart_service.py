"""restart_service: ``systemctl restart UNIT`` for allow-listed units, under restart backoff."""

from __future__ import annotations

import shutil
import time

from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, rejected_or_failed
from argus_cli.actions.guardrails import RestartService
from argus_cli.children import ToolRun, run_tool
from argus_cli.model import iso_z, problem_key
from argus_cli.state import backoff


def service_bead_key(unit: str) -> str:
    """One bead per service for failed restarts and restart loops, closed by a good restart."""
    return problem_key("service", f"restart_service {unit} needs attention")


def run(ctx: ActionContext, request: RestartService) -> Outcome:
    unit = request.unit  # a RestartService exists only with a well-formed unit name (guardrails)
    # The allowlist is configuration, not part of the request: checked against the config this run uses.
    if unit not in ctx.config.allowed_services:
        return rejected_or_failed("rejected", f"{unit!r} is not an allowed service", reason=request.reason,
                                  action_taken=f"restart_service:{unit}", problem_type="service")
    verdict = backoff.check(ctx.config, unit, ctx.now)
    if verdict.loop:
        return _loop(ctx, request, verdict.detail)
    if not verdict.allowed:
        return Outcome("skipped", f"{unit}: {verdict.detail}")
    if ctx.dry_run:
        return Outcome("skipped", f"dry run: would run systemctl restart {unit} ({verdict.detail})")
    return _attempt(ctx, request, verdict)


def _attempt(ctx: ActionContext, request: RestartService, verdict: backoff.Verdict) -> Outcome:
    """Restart now; a restart that holds resets the backoff and closes the service's bead."""
    unit = request.unit
    backoff.record_attempt(ctx.config, unit, ctx.now)
    error = _restart(ctx, unit)
    if error:
        return rejected_or_failed("failure", error, reason=request.reason, action_taken=f"restart_service:{unit}",
                                  problem_type="service", bead_key=service_bead_key(unit),
                                  extra={"attempt": verdict.attempt})
    backoff.record_success(ctx.config, unit, ctx.now)
    draft = ProblemDraft("service", "warning", request.reason, f"restart_service:{unit}", "success")
    return Outcome("success", f"{unit} restarted and active ({verdict.detail})", draft, {"attempt": verdict.attempt},
                   after_record=lambda _bead: _close_bead(ctx, unit))


def _systemctl(ctx: ActionContext, *args: str) -> ToolRun:
    return run_tool([ctx.config.systemctl_bin, *args], timeout=ctx.tuning.command_timeout)


def _restart(ctx: ActionContext, unit: str) -> str | None:
    """None when the unit is active again within the timeout, else what went wrong."""
    if shutil.which(ctx.config.systemctl_bin) is None:
        return "systemctl is not installed"
    run = _systemctl(ctx, "restart", unit)
    if run.error:
        return f"systemctl restart {unit} failed: {run.error}"
    if run.returncode != 0:
        return f"systemctl restart {unit} exited {run.returncode}: {run.stderr.strip()[:200]}"
    return _wait_active(ctx, unit)


def _wait_active(ctx: ActionContext, unit: str) -> str | None:
    deadline = time.monotonic() + ctx.tuning.active_timeout
    while True:
        run = _systemctl(ctx, "is-active", unit)
        state = run.error or run.stdout.strip() or f"exit {run.returncode}"
        if state == "active":
            return None
        if time.monotonic() >= deadline:
            return f"{unit} not active {ctx.tuning.active_timeout:g}s after restart (is-active: {state[:80]})"
        ctx.tuning.sleep(ctx.tuning.poll_interval)


def _loop(ctx: ActionContext, request: RestartService, detail: str) -> Outcome:
    if ctx.dry_run:
        return Outcome("skipped", f"dry run: {request.unit} {detail}; would start the cooldown")
    until = backoff.start_cooldown(ctx.config, request.unit, ctx.now)
    why = f"{detail}; not restarting, cooldown until {iso_z(until)}"
    draft = ProblemDraft("service", "critical", f"{request.unit} restart loop: {request.reason}",
                         f"restart_service:{request.unit}", "skipped", bead="always",
                         bead_key=service_bead_key(request.unit))
    return Outcome("skipped", why, draft, {"restart_loop": True, "cooldown_until": until})


def _close_bead(ctx: ActionContext, unit: str) -> None:
    from argus_cli.notify import beads
    bead_id = beads.find_open_bead(ctx.config, service_bead_key(unit))
    if bead_id:
        beads.close_bead(ctx.config, bead_id, f"argus: {unit} restarted successfully and is active")
