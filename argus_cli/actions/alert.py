"""alert: a Telegram message (through the durable outbox), deduplicated per problem key."""

from __future__ import annotations

import socket

from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, infer_severity, infer_type
from argus_cli.actions.enrich import hog_suffix
from argus_cli.actions.guardrails import TEXT_MAX, Alert
from argus_cli.state import dedup
from argus_cli.state.registry import key_for


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
    text = compose(request.message, hog_suffix(ctx.snapshot, ctx.config), socket.gethostname())
    key = key_for(kind, text)
    if dedup.is_suppressed(ctx.config, key, ctx.now):
        return _suppressed(ctx, kind, severity, text, key)
    if ctx.dry_run:
        return Outcome("skipped", f"dry run: would send alert: {text[:200]}", extra={"key": key})
    status, detail, went_out = _deliver(ctx, text)
    # only an alert that went out (or will, from the outbox) starts the suppression window
    dedup.note(ctx.config, key, ctx.now, sent=went_out)
    draft = ProblemDraft(kind, severity, text, "alert:telegram", status, bead="always")
    return Outcome(status, detail, draft, {"key": key})


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


def _suppressed(ctx: ActionContext, kind: str, severity: str, text: str, key: str) -> Outcome:
    detail = f"the same alert went out less than {ctx.config.dedup_window}s ago"
    if ctx.dry_run:
        return Outcome("suppressed", f"dry run: {detail}", extra={"key": key})
    dedup.note(ctx.config, key, ctx.now, sent=False)
    draft = ProblemDraft(kind, severity, text, "alert:telegram", "suppressed", bead="never", relay=False)
    return Outcome("suppressed", detail, draft, {"key": key})
