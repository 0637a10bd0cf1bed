"""Run a decision's actions: each one parsed, checked, executed and recorded on its own.

A rejected action is recorded and skipped; the others of the same decision still run. Under
``dry_run`` everything is validated and reported and nothing is changed or recorded.

When Telegram is configured, alerts run after every other action of the decision; results
still come back in the decision's order, each with its ``index``.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from argus_cli.actions import problems
from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, Tuning, infer_type, rejected_or_failed
from argus_cli.actions.guardrails import KillPid, Rejection, Request, parse, shown
from argus_cli.actions.kill_pid import shown_processes
from argus_cli.actions.registry import SPECS
from argus_cli.config import Autonomy, Config
from argus_cli.control.maintenance import effective_autonomy
from argus_cli.incidents.outcomes import usage
from argus_cli.incidents.subjects import fingerprint
from argus_cli.model import MAX_ACTIONS, ActionResult, Decision
from argus_cli.notify.common import note
from argus_cli.snapshot import Snapshot
from argus_cli.state.layout import ApprovalRequest, Incident, IncidentAction

if TYPE_CHECKING:
    from argus_cli.incidents.book import Book
    from argus_cli.notify.budget import DeliveryBudget

def execute_decision(config: Config, decision: Decision, snapshot: Snapshot | None, *, dry_run: bool,
                     now: float, should_stop: Callable[[], bool] = lambda: False,
                     tuning: Tuning | None = None, results: list[ActionResult] | None = None,
                     decided_on_snapshot: bool = True, delivery: DeliveryBudget | None = None,
                     incidents: Book | None = None, autonomy: Autonomy | None = None,
                     approved_now: frozenset[str] = frozenset()) -> list[ActionResult]:
    """One ActionResult per requested action, sorted by index, put into ``results`` as each ends:
    a caller that owns the list keeps what already ran when its time limit cuts the run short.
    ``delivery`` is the cycle's Telegram budget; without one, the first alert makes its own.
    ``incidents`` is the cycle's incident book: alerts ask it whether they go out, host-changing
    actions are recorded on their incident. ``autonomy``: ARGUS_AUTONOMY as it holds now (the
    cycle's, a maintenance window's); by default the configured one, or observe in a window."""
    ctx = ActionContext(config, snapshot, now, dry_run, tuning or Tuning(), decided_on_snapshot=decided_on_snapshot,
                        delivery=delivery, incidents=incidents,
                        autonomy=autonomy or effective_autonomy(config, now)[0], approved_now=approved_now)
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


def _one(ctx: ActionContext, index: int, raw: Any, *, approved: bool = False) -> ActionResult:
    """Parse, check and run one action. ``approved``: the operator approved it (ARGUS_AUTONOMY
    ask), so it runs whatever the autonomy says; every other check still applies."""
    # Subjects are checked against the snapshot the decider saw, never one taken after it.
    request = parse(raw, index, ctx.config, ctx.snapshot if ctx.decided_on_snapshot else None)
    if isinstance(request, Rejection):
        outcome = _rejected(request, raw, within_limit=index < MAX_ACTIONS)
        return _finish(ctx, index, request.type, request.target, outcome)
    incident = _incident_of(ctx, request, create=False)
    why = ctx.incidents.ineffective(incident, request.type, request.target) if ctx.incidents and incident else None
    level = "act" if approved or ctx.dry_run or ctx.autonomy is None else ctx.autonomy.level(request.type)
    try:
        if not approved and f"{request.type} {request.target}" in ctx.approved_now:
            # the operator's approval of the same action ran this cycle, on the same snapshot
            outcome = Outcome("skipped", f"already run this cycle as an approved request: {request.type} "
                                         f"{request.target}")
        elif why:
            outcome = rejected_or_failed("rejected", why, reason=getattr(request, "reason", ""),
                                         action_taken=f"{request.type}:{request.target}",
                                         problem_type=SPECS[request.type].kind.problem_type)
        elif level != "act":
            outcome = _held(ctx, request, level)
        else:
            outcome = SPECS[request.type].run(ctx, request)
    except Exception as exc:  # noqa: BLE001 - one broken action must not stop the others
        outcome = _crashed(request, exc)
    if incident is None and outcome.status in ("success", "failure"):
        incident = _incident_of(ctx, request, create=not ctx.dry_run)
    if incident is not None:
        _on_incident(ctx, incident, request, outcome)
    outcome.extra.setdefault("subject", request.subject)  # as checked (or implied), for cycles.jsonl
    return _finish(ctx, index, request.type, request.target, outcome)


def _held(ctx: ActionContext, request: Request, level: str) -> Outcome:
    """An action ARGUS_AUTONOMY does not let run on its own: checked as a dry run checks it, then
    only recorded (``observe``) or turned into a request for approval (``ask``). One that would
    not run anyway (a host check refused it) is reported as the dry run found it."""
    trial = SPECS[request.type].run(dataclasses.replace(ctx, dry_run=True), request)
    would = trial.detail.removeprefix("dry run: ")
    if not trial.would:
        return dataclasses.replace(trial, detail=would)
    if level == "observe":
        return Outcome("observed", f"observed only (ARGUS_AUTONOMY or a maintenance window): {would}",
                       extra=trial.extra)
    from argus_cli.control.approvals import facts_of
    from argus_cli.control.asking import request_approval
    from argus_cli.incidents.notify import clock
    action = {"type": request.type, "target": request.target, "subject": request.subject,
              "reason": getattr(request, "reason", "")}
    try:
        asked, created = request_approval(ctx.config, action, facts_of(request.type, request.target, ctx.snapshot),
                                          ctx.now, ctx.delivery)
    except ValueError as exc:  # too many requests wait already
        return Outcome("skipped", f"not asked: {exc}", extra=trial.extra)
    extra = {**trial.extra, "approval": asked.id}
    if asked.state in ("denied", "snoozed"):
        return Outcome("skipped", f"{asked.state} by {asked.by} (request {asked.id}); not asked again before "
                                  f"{clock(asked.until or ctx.now)}", extra=extra)
    if asked.state == "approved":
        return Outcome("pending", f"approved (request {asked.id}), not run yet: {would}", extra=extra)
    when = "asked now" if created else f"asked at {clock(asked.created)}"
    return Outcome("pending", f"awaiting approval of request {asked.id} until {clock(asked.expires)} "
                              f"({when}, Telegram {asked.announced or 'not told'}): {would}", extra=extra)


def run_approved(config: Config, snapshot: Snapshot, *, now: float, delivery: DeliveryBudget | None = None,
                 incidents: Book | None = None, should_stop: Callable[[], bool] = lambda: False,
                 tuning: Tuning | None = None, autonomy: Autonomy | None = None) -> list[dict[str, object]]:
    """Run what the operator approved, each after checking that the host still shows what the
    request relied on (the same process, the same session) and passing every guardrail again;
    one the host changed under is dropped and the operator told. Each is marked ``running``
    before it runs, so a cycle that dies meanwhile never runs it twice. An approval waits while
    its type is only observed now (a maintenance window, or the operator turned autonomy down);
    it expires if that lasts. What became of each, for cycles.jsonl."""
    from argus_cli.control import approvals, asking
    autonomy = autonomy or effective_autonomy(config, now)[0]
    ready = [r for r in approvals.read(config).requests.values() if r.state == "approved"]
    ctx = ActionContext(config, snapshot, now, False, tuning or Tuning(), delivery=delivery, incidents=incidents)
    ran: list[dict[str, object]] = []
    for request in ready:
        if should_stop():
            break
        if autonomy.level(request.type) == "observe":
            ran.append(_ran(request, "held", "held", f"ARGUS_AUTONOMY is observe for {request.type} now "
                                                     "(or a maintenance window): not run yet", None))
            continue
        with approvals.editing(config) as store:
            stored = store.requests.get(request.id)
            if stored is None or stored.state != "approved":  # denied or expired meanwhile: leave it
                continue
            stored.state = "running"
        changed = approvals.changed(request, snapshot)
        result = None
        if changed is None:
            raw = {"type": request.type, "target": request.target, "subject": request.subject,
                   "reason": f"{request.reason} [approved by {request.by}]"}
            result = _one(ctx, 0, raw, approved=True)
        state = "done" if result is not None and result.status in ("success", "failure") else "dropped"
        outcome = changed or (f"{result.status}: {result.detail}" if result is not None else "not run")
        with approvals.editing(config) as store:
            stored = store.requests.get(request.id) or request
            stored.state, stored.outcome, stored.decided = state, outcome[:300], now
            done = approvals.copy(stored)
        asking.edit(config, done, delivery)
        told = None
        if state == "dropped":
            told = asking.tell(config, f"approved {request.type} {request.target} was NOT run: {outcome} "
                                       f"(request {request.id})", now, delivery)
        ran.append(_ran(request, state, result.status if result is not None else "dropped", outcome, told))
    return ran


def _ran(request: ApprovalRequest, state: str, status: str, detail: str, told: str | None) -> dict[str, object]:
    return {"request": request.id, "type": request.type, "target": request.target, "subject": request.subject,
            "state": state, "status": status, "detail": detail[:300], "told": told}


def _incident_of(ctx: ActionContext, request: Request, *, create: bool) -> Incident | None:
    """The incident a host-changing action works on. ``create``: a decider that acted on a subject
    no rule holds open has judged it a problem, which opens a reported incident."""
    if ctx.incidents is None or request.subject is None or not SPECS[request.type].kind.changes_host:
        return None
    return ctx.incidents.attach(request.subject, "warning", getattr(request, "reason", ""), create=create)


def _on_incident(ctx: ActionContext, incident: Incident, request: Request, outcome: Outcome) -> None:
    """Record an attempt on its incident, with what the next cycle will check it against; its
    registry line and bead are the incident's (one bead per fingerprint, closed when it resolves)."""
    book = ctx.incidents
    if outcome.problem is not None:
        outcome.problem.key, outcome.problem.bead_key = fingerprint(incident.subject, incident.condition), None
        outcome.after_record = _keeping_bead(incident, outcome.after_record)
    if ctx.dry_run or book is None:
        return
    systemd = outcome.extra.get("systemd")
    restarts = systemd.get("n_restarts") if isinstance(systemd, dict) else None
    if isinstance(restarts, int):  # also when systemd was left to restart it on its own
        book.note_restarts(incident, str(request.target), restarts)
    if outcome.status not in ("success", "failure"):
        return
    pid = request.pid if isinstance(request, KillPid) else None
    reclaimed = outcome.extra.get("bytes_reclaimed")
    book.record_action(incident, IncidentAction(
        request.type, request.target, ctx.now, outcome.status, pid=pid,
        create_time=shown_processes(ctx.snapshot).get(pid) if pid is not None else None,
        percent=usage(ctx.snapshot, incident.subject) if ctx.snapshot is not None else None,
        reclaimed=reclaimed if isinstance(reclaimed, int) else None,
        reset_failed=outcome.extra.get("reset_failed") is True))


def _keeping_bead(incident: Incident, then: Callable[[str | None], None] | None) -> Callable[[str | None], None]:
    def after_record(bead_id: str | None) -> None:
        if bead_id:
            incident.bead_id = bead_id
        if then is not None:
            then(bead_id)
    return after_record


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
