"""Turn an action's outcome into a registry line, with its bead and its Relay event.

Beads (ARCHITECTURE.md §6): when the action failed, when the problem key recurs
``ARGUS_BEAD_REPEAT_THRESHOLD`` times within ``ARGUS_BEAD_REPEAT_WINDOW_SECONDS``, or when the
action has no automatic remediation. bd and relay failing never fail the cycle.
"""

from __future__ import annotations

import socket
import sys

from argus_cli.actions.context import ActionContext, ProblemDraft
from argus_cli.model import Problem, iso_z
from argus_cli.state.registry import key_for, recent_count, record_problem


def record(ctx: ActionContext, draft: ProblemDraft) -> Problem:
    """Write one problem (never under dry run: callers check) and publish it."""
    key = draft.key or key_for(draft.type, draft.description)  # a fingerprint: one bead per incident
    bead_id = _bead(ctx, draft, key) if draft.bead != "never" else None
    problem = Problem(ts=iso_z(ctx.now), severity=draft.severity, type=draft.type,
                      description=draft.description, action_taken=draft.action_taken,
                      action_result=draft.action_result, bead_id=bead_id, host=socket.gethostname(),
                      key=draft.key)
    record_problem(ctx.config, problem)
    if draft.relay:
        _publish(ctx, problem)
    return problem


def _needs_bead(ctx: ActionContext, draft: ProblemDraft, key: str) -> bool:
    if draft.bead == "always" or draft.action_result == "failure":
        return True
    window = ctx.config.bead_repeat_window_seconds
    return recent_count(ctx.config, key, window, ctx.now) + 1 >= ctx.config.bead_repeat_threshold


def _bead(ctx: ActionContext, draft: ProblemDraft, key: str) -> str | None:
    if not _needs_bead(ctx, draft, key):
        return None
    from argus_cli.notify.beads import ensure_bead
    try:
        return ensure_bead(ctx.config, draft.type, draft.description, draft.bead_key or key, now=ctx.now)
    except Exception as exc:  # noqa: BLE001 - bd trouble is reported, never fatal
        print(f"argus: bead for {key} not created: {type(exc).__name__}", file=sys.stderr)
        return None


def _publish(ctx: ActionContext, problem: Problem) -> None:
    from argus_cli.notify.relay import publish_problem
    try:
        publish_problem(ctx.config, problem)
    except Exception as exc:  # noqa: BLE001 - Relay trouble is reported, never fatal
        print(f"argus: relay publish failed: {type(exc).__name__}", file=sys.stderr)
