"""restart_service: ``systemctl restart UNIT`` for allow-listed units, under restart backoff.

systemd has its own restart machinery (``Restart=``, start limits): a unit it is already
restarting is left to it, and a unit stopped by its start limit is reset before the restart.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass

from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, rejected_or_failed
from argus_cli.actions.guardrails import RestartService
from argus_cli.children import ToolRun, run_tool
from argus_cli.model import iso_z, problem_key
from argus_cli.state import backoff
from argus_cli.text import truncate

_SHOW_KEYS = {"ActiveState": "active_state", "SubState": "sub_state", "Result": "result", "NRestarts": "n_restarts"}
VALUE_MAX = 64  # systemctl output is host data: each value is shortened before it is kept


@dataclass(frozen=True)
class UnitState:
    """What ``systemctl show`` said about a unit; None for a value it did not give (or garbage)."""

    active_state: str | None = None
    sub_state: str | None = None
    result: str | None = None
    n_restarts: int | None = None

    @property
    def known(self) -> bool:
        return self != UnitState()

    @property
    def restarting(self) -> bool:
        return self.active_state == "activating" or self.sub_state == "auto-restart"

    @property
    def start_limit_hit(self) -> bool:
        return self.result == "start-limit-hit"

    def summary(self) -> str:
        if not self.known:
            return "systemd state could not be read"
        n = "?" if self.n_restarts is None else self.n_restarts
        return f"{self.active_state or '?'}/{self.sub_state or '?'}, NRestarts={n}"


def parse_unit_state(text: str) -> UnitState:
    """``Key=Value`` lines into a UnitState; unknown keys and lines without ``=`` are ignored."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in _SHOW_KEYS and value:
            values.setdefault(_SHOW_KEYS[key], truncate(value, VALUE_MAX))
    restarts = values.pop("n_restarts", "")
    n_restarts = int(restarts) if restarts.isascii() and restarts.isdigit() else None
    return UnitState(**values, n_restarts=n_restarts)


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
    state = _read_state(ctx, unit)  # a read: done under dry run too
    extra: dict[str, object] = {"systemd": asdict(state)}
    if state.restarting:
        # systemd's Restart= is on it; a second restart would fight it and count against its start limit
        return Outcome("skipped", f"{unit}: systemd is already restarting it ({state.summary()}); "
                                  "re-checked next cycle", extra=extra)
    if ctx.dry_run:
        reset = " after systemctl reset-failed (start limit hit)" if state.start_limit_hit else ""
        return Outcome("skipped", f"dry run: would run systemctl restart {unit}{reset} "
                                  f"({verdict.detail}; {state.summary()})", extra=extra, would=True)
    return _attempt(ctx, request, verdict, state, extra)


def _attempt(ctx: ActionContext, request: RestartService, verdict: backoff.Verdict, state: UnitState,
             extra: dict[str, object]) -> Outcome:
    """Restart now; a restart that holds resets the backoff and closes the service's bead."""
    unit = request.unit
    backoff.record_attempt(ctx.config, unit, ctx.now)
    extra["attempt"] = verdict.attempt
    notes = [state.summary()]
    if state.start_limit_hit:
        # systemd refuses to start a unit past its start limit until the failure is reset
        reset = _systemctl(ctx, "reset-failed", unit)
        extra["reset_failed"] = reset.ok
        notes.append("start limit hit, reset-failed run" if reset.ok
                     else f"start limit hit, reset-failed failed: {truncate(reset.describe())}")
    error = _restart(ctx, unit)
    if error:
        return rejected_or_failed("failure", f"{error} ({'; '.join(notes)})", reason=request.reason,
                                  action_taken=f"restart_service:{unit}", problem_type="service",
                                  bead_key=service_bead_key(unit), extra=extra)
    backoff.record_success(ctx.config, unit, ctx.now)
    draft = ProblemDraft("service", "warning", request.reason, f"restart_service:{unit}", "success")
    return Outcome("success", f"{unit} restarted and active ({verdict.detail}; {'; '.join(notes)})", draft, extra,
                   after_record=lambda _bead: _close_bead(ctx, unit))


def _systemctl(ctx: ActionContext, *args: str) -> ToolRun:
    return run_tool([ctx.config.systemctl_bin, *args], timeout=ctx.tuning.command_timeout)


def _read_state(ctx: ActionContext, unit: str) -> UnitState:
    """The unit's state in one ``systemctl show``; unknown (all None) when that fails."""
    run = _systemctl(ctx, "show", unit, "-p", "ActiveState", "-p", "SubState", "-p", "Result", "-p", "NRestarts")
    return parse_unit_state(run.stdout) if run.ok else UnitState()


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
