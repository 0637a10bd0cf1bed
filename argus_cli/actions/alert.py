"""alert: a Telegram message (through the durable outbox).

An alert about a subject belongs to that subject's incident, and the incident decides whether it
goes out (ARCHITECTURE.md §8): when it opens, when its severity rises, once per
ARGUS_REPEAT_INTERVAL while it stays open; every other alert about it is recorded as
``suppressed``, whatever its wording. An alert without a usable subject (or outside a cycle) is
deduplicated by its text, as it always was, within ARGUS_DEDUP_WINDOW.
"""

from __future__ import annotations

import socket

from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, infer_severity, infer_type
from argus_cli.actions.enrich import hog_suffix
from argus_cli.actions.guardrails import TEXT_MAX, Alert
from argus_cli.incidents.subjects import fingerprint
from argus_cli.state import dedup
from argus_cli.state.layout import Incident
from argus_cli.state.registry import key_for
from argus_cli.text import cut_at_word


def compose(message: str, suffix: str, host: str) -> str:
    """``[host] message; hog...`` capped at 4096 characters, keeping the enrichment whole."""
    prefix = f"[{host}] "
    body = message if message.startswith(prefix) else prefix + message
    room = TEXT_MAX - len(suffix)
    if len(body) > room:
        body = body[: room - 1] + "…"
    return body + suffix


def run(ctx: ActionContext, request: Alert) -> Outcome:
    kind, severity = infer_type(request.message), infer_severity(request.message)
    # the memory hog belongs to an alert about memory, not to every alert sent while memory is high
    suffix = hog_suffix(ctx.snapshot, ctx.config) if request.subject in (None, "memory") else ""
    text = compose(request.message, suffix, socket.gethostname())
    book = ctx.incidents
    if book is None or request.subject is None:
        return _unkeyed(ctx, request, kind, severity, text)
    incident = book.attach(request.subject, severity, text, create=True)
    if incident is None:  # create=True always gives one; this keeps the types honest
        return _by_text(ctx, request, kind, severity, text)
    notice, why = book.alert_verdict(incident, severity)
    key = fingerprint(incident.subject, incident.condition)
    extra: dict[str, object] = {"key": key, "notice": notice}
    if notice is None:
        if ctx.dry_run:
            return Outcome("suppressed", f"dry run: {why}", extra=extra)
        draft = ProblemDraft(kind, incident.severity, text, "alert:telegram", "suppressed", bead="never",
                             relay=False, key=key)
        return Outcome("suppressed", why, draft, extra)
    if notice == "reminder":
        text = compose(f"still open since {_since(incident)}: {request.message}", "", socket.gethostname())
    if ctx.dry_run:
        return Outcome("skipped", f"dry run: would send alert ({why}): {cut_at_word(text)}", extra=extra)
    status, detail, went_out = _deliver(ctx, text)
    book.mark_notified(incident, notice, "sent" if status == "success" else
                       "queued" if went_out else "recorded" if status == "skipped" else "failed", severity)
    draft = ProblemDraft(kind, incident.severity, text, "alert:telegram", status, bead="always", key=key)
    return Outcome(status, f"{detail} ({why})", draft, extra, after_record=lambda bead: _keep_bead(incident, bead))


def _unkeyed(ctx: ActionContext, request: Alert, kind: str, severity: str, text: str) -> Outcome:
    """An alert naming no subject (or outside a cycle): deduplicated by its text; held only by a
    silence of every subject (``*``) or a maintenance window."""
    book = ctx.incidents
    if book is not None:
        book.unkeyed += 1
        held = book.muted("")
        if held:
            if not ctx.dry_run:
                book.hold_alert(text)  # told when the silence or window ends
            return Outcome("suppressed", f"notifications held by {held}", extra={"key": None})
    return _by_text(ctx, request, kind, severity, text)


def _since(incident: Incident) -> str:
    from argus_cli.incidents.notify import clock
    return clock(incident.opened)


def _keep_bead(incident: Incident, bead_id: str | None) -> None:
    if bead_id:
        incident.bead_id = bead_id  # closed when the incident resolves


def _by_text(ctx: ActionContext, request: Alert, kind: str, severity: str, text: str) -> Outcome:
    # outside a cycle (argus act) a subject still keys the alert; otherwise its wording does
    key = fingerprint(request.subject, "reported") if request.subject else key_for(kind, text)
    extra: dict[str, object] = {"key": key}
    if request.unusable_subject:
        extra["subject_set_aside"] = request.unusable_subject
    registry_key = key if request.subject else None
    if dedup.is_suppressed(ctx.config, key, ctx.now):
        return _suppressed(ctx, ProblemDraft(kind, severity, text, "alert:telegram", "suppressed", bead="never",
                                             relay=False, key=registry_key), key, extra)
    if ctx.dry_run:
        return Outcome("skipped", f"dry run: would send alert: {cut_at_word(text)}", extra=extra)
    status, detail, went_out = _deliver(ctx, text)
    # only an alert that went out (or will, from the outbox) starts the suppression window
    dedup.note(ctx.config, key, ctx.now, sent=went_out)
    draft = ProblemDraft(kind, severity, text, "alert:telegram", status, bead="always", key=registry_key)
    return Outcome(status, detail, draft, extra)


def _deliver(ctx: ActionContext, text: str) -> tuple[str, str, bool]:
    """(status, detail, delivered or queued). Never raises: an alert that cannot go out is
    queued or reported, the cycle goes on."""
    from argus_cli.notify.budget import DeliveryBudget
    from argus_cli.notify.outbox import send_alert
    if ctx.delivery is None:  # `argus act`: the decision's alerts share one budget, like a cycle's
        ctx.delivery = DeliveryBudget.for_cycle(ctx.config)
    try:
        delivery = send_alert(ctx.config, text, ctx.now, budget=ctx.delivery)
    except Exception as exc:  # noqa: BLE001 - a notifier bug must not fail the cycle
        return "failure", f"alert delivery failed: {type(exc).__name__}", False
    if delivery.ok:
        return "success", "alert sent", True
    if delivery.state == "unconfigured":
        return "skipped", f"alert recorded, not sent: {delivery.detail}", False
    return "failure", f"alert not delivered now: {delivery.detail}", delivery.will_go_out


def _suppressed(ctx: ActionContext, draft: ProblemDraft, key: str, extra: dict[str, object]) -> Outcome:
    detail = f"the same alert went out less than {ctx.config.dedup_window}s ago"
    if ctx.dry_run:
        return Outcome("suppressed", f"dry run: {detail}", extra=extra)
    dedup.note(ctx.config, key, ctx.now, sent=False)
    return Outcome("suppressed", detail, draft, extra)
