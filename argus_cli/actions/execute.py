"""Run a decision's actions: each one parsed, checked, executed and recorded on its own.

A rejected action is recorded and skipped; the others of the same decision still run. Under
``dry_run`` everything is validated and reported and nothing is changed or recorded.

When Telegram is configured, alerts run after every other action of the decision; results
still come back in the decision's order, each with its ``index``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from argus_cli.actions import problems
from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, Tuning, infer_type
from argus_cli.actions.guardrails import Rejection, Request, parse, shown
from argus_cli.actions.registry import SPECS
from argus_cli.config import Config
from argus_cli.model import MAX_ACTIONS, ActionResult, Decision
from argus_cli.notify.common import note
from argus_cli.snapshot import Snapshot

if TYPE_CHECKING:
    from argus_cli.notify.budget import DeliveryBudget

def execute_decision(config: Config, decision: Decision, snapshot: Snapshot | None, *, dry_run: bool,
                     now: float, should_stop: Callable[[], bool] = lambda: False,
                     tuning: Tuning | None = None, results: list[ActionResult] | None = None,
                     decided_on_snapshot: bool = True, delivery: DeliveryBudget | None = None) -> list[ActionResult]:
    """One ActionResult per requested action, sorted by index, put into ``results`` as each ends:
    a caller that owns the list keeps what already ran when its time limit cuts the run short.
    ``delivery`` is the cycle's Telegram budget; without one, the first alert makes its own."""
    ctx = ActionContext(config, snapshot, now, dry_run, tuning or Tuning(), decided_on_snapshot=decided_on_snapshot,
                        delivery=delivery)
    actions = decision.actions if isinstance(decision.actions, list) else []
    out = [] if results is None else results
    order = _run_order(actions) if config.telegram_configured and not dry_run else list(range(len(actions)))
    for position, index in enumerate(order):
        if should_stop():
            for rest in order[position:]:
                _put(out, _unfinished(rest, actions[rest], "skipped", "interrupted", dry_run))
            break
        try:
            _put(out, _one(ctx, index, actions[index]))
        except BaseException:  # the cycle's time limit (or Ctrl-C) cut this action off: say so, stop
            _put(out, _unfinished(index, actions[index], "failure", "cut off before it finished", dry_run))
            raise
    return out


def _run_order(actions: list[Any]) -> list[int]:
    """Alerts last, each group in the decider's order: an alert waiting on an unreachable
    Telegram must never delay a restart, nor let the cycle's time limit cut it off. Logs keep
    their place: local and quick, and an observation written before a restart that hangs is
    kept when the time limit ends the cycle. Without Telegram (or in a dry run) alerts touch no
    network, so the caller keeps the decision's order."""
    return sorted(range(len(actions)), key=lambda i: _is_alert(actions[i]))  # stable: keeps each group's order


def _is_alert(raw: Any) -> bool:
    return isinstance(raw, dict) and raw.get("type") == "alert"


def _put(out: list[ActionResult], result: ActionResult) -> None:
    """Insert keeping ``out`` sorted by index: records and renderers read it in decision order."""
    bisect.insort(out, result, key=lambda r: r.index)


def _one(ctx: ActionContext, index: int, raw: Any) -> ActionResult:
    request = parse(raw, index, ctx.config)
    if isinstance(request, Rejection):
        outcome = _rejected(request, raw, within_limit=index < MAX_ACTIONS)
        return _finish(ctx, index, request.type, request.target, outcome)
    try:
        outcome = SPECS[request.type].run(ctx, request)
    except Exception as exc:  # noqa: BLE001 - one broken action must not stop the others
        outcome = _crashed(request, exc)
    return _finish(ctx, index, request.type, request.target, outcome)


def _finish(ctx: ActionContext, index: int, kind: str, target: str | None, outcome: Outcome) -> ActionResult:
    extra = dict(outcome.extra)
    if outcome.problem is not None and not ctx.dry_run:
        try:
            problem = problems.record(ctx, outcome.problem)
            extra["bead_id"] = problem.bead_id
            if outcome.after_record is not None:
                outcome.after_record(problem.bead_id)
        except Exception as exc:  # noqa: BLE001 - recording trouble is reported, the cycle goes on
            note(f"could not record the result of action {index}: {exc}", ctx.config.secrets())
            extra["record_error"] = type(exc).__name__
    return ActionResult(index, kind, target, outcome.status, outcome.detail, ctx.dry_run, extra)


def _rejected(rejection: Rejection, raw: Any, *, within_limit: bool) -> Outcome:
    kind = _rejected_problem_type(raw)
    target = rejection.target if rejection.target is not None else "-"
    description = f"rejected {rejection.type} action (target {target}): {rejection.reason}"
    # Beyond-the-limit rejections are recorded, but one decision must not flood bd and Relay.
    draft = ProblemDraft(kind, "warning", description, f"{shown(rejection.type, 40)}:{shown(target, 64)}",
                         "rejected", bead="auto" if within_limit else "never", relay=within_limit)
    return Outcome("rejected", rejection.reason, draft)


def _rejected_problem_type(raw: Any) -> str:
    """From the action's own fields (ARCHITECTURE.md §3), never from our reason text: that names every
    action type, so inferring from it would file an unknown action as a disk problem."""
    name = raw.get("type") if isinstance(raw, dict) else None
    if not isinstance(name, str) or name not in SPECS:
        return "process"
    kind = SPECS[name].kind
    text = raw.get(kind.text_field) if kind.text_field else None
    return infer_type(text) if isinstance(text, str) else kind.problem_type


def _crashed(request: Request, exc: Exception) -> Outcome:
    detail = f"{request.type} {request.target} failed unexpectedly: {type(exc).__name__}: {str(exc)[:200]}"
    draft = ProblemDraft(SPECS[request.type].kind.problem_type, "critical", detail,
                         f"{request.type}:{request.target}", "failure")
    return Outcome("failure", detail, draft)


def _unfinished(index: int, raw: Any, status: str, detail: str, dry_run: bool) -> ActionResult:
    kind = shown(raw.get("type"), 40) if isinstance(raw, dict) else "?"
    target = raw.get("target") if isinstance(raw, dict) else None
    return ActionResult(index, kind, None if target is None else shown(target), status, detail, dry_run)
