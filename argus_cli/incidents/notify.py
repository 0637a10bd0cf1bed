"""Send what the incident book calls for: resolved notices, reminders, flapping and its end, and
escalations of remediations that did not work (ARCHITECTURE.md §8). Each goes through the
cycle's Telegram budget and the outbox like any alert; an escalation also files a bead and a
registry line under the incident's fingerprint, and a resolved incident's bead is closed.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from argus_cli.config import Config
from argus_cli.incidents.book import DELIVERED, Book, Due, Unmuted
from argus_cli.state.layout import Incident

if TYPE_CHECKING:
    from argus_cli.control.quiet import Ended
    from argus_cli.notify.budget import DeliveryBudget

_CLEARED = {
    "down": "{what} up again",
    "usage>=crit": "{what} back below the critical threshold",
    "usage>=warn": "{what} back below the warning threshold",
    "per-core>factor": "{what} back under the limit",
    "stale": "{what} changing again",
    "error": "{what} reporting again",
    "reported": "{what} no longer reported",
    "degraded": "the LLM decider answers again",
    "unknown": "{what} answers its check again",
}


def clock(epoch: float) -> str:
    """HH:MM in the host's time zone, as the operator reads a clock."""
    return time.strftime("%H:%M", time.localtime(epoch))


def duration(seconds: float) -> str:
    minutes = int(max(0, seconds) // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def _what(subject: str) -> str:
    return subject.replace(":", " ", 1)


def message(due: Due, now: float) -> str:
    """The notice's text, without the ``[host]`` prefix."""
    return _TEXTS[due.kind](due, now)


def _resolved(due: Due, now: float) -> str:
    incident = due.incident
    ended = incident.cleared if incident.cleared is not None else now
    cleared = _CLEARED.get(incident.condition, "{what} " + incident.condition + " cleared")
    done = "; ".join(f"{a.type} {a.target or ''} at {clock(a.at)}, {a.outcome or a.status}".replace("  ", " ")
                     for a in incident.actions)
    return (f"resolved after {duration(ended - incident.opened)}: {cleared.format(what=_what(incident.subject))}"
            + (f" ({done})" if done else ""))


def _flapping(due: Due, now: float) -> str:
    incident = due.incident
    state = "clear" if incident.absent else incident.text
    return (f"flapping: {due.fingerprint} came and went {len(incident.changes)} times in the last hour; "
            f"notifications are held until it settles. Now: {state}")


def _settled(due: Due, now: float) -> str:
    if due.incident.id:  # still open
        return f"no longer flapping, still open: {due.incident.text}"
    return f"no longer flapping: {due.fingerprint} has stayed clear since {clock(due.incident.opened)}"


def _ineffective(due: Due, now: float) -> str:
    incident = due.incident
    tried = "; ".join(f"{a.type} {a.target or ''} at {clock(a.at)}: {a.outcome}" for a in incident.actions
                      if a.outcome in ("unchanged", "worse"))
    return (f"remediation ineffective on {due.fingerprint}: {tried}. Not trying it again; "
            f"a human is needed. Now: {incident.text}")


_TEXTS: dict[str, Callable[[Due, float], str]] = {
    "opened": lambda due, now: due.incident.text,  # a critical finding no alert of the decider covered
    "reminder": lambda due, now: f"still open after {duration(now - due.incident.opened)}: {due.incident.text}",
    "resolved": _resolved, "flapping": _flapping, "settled": _settled, "ineffective": _ineffective,
}


def send_due(config: Config, book: Book, *, dry_run: bool,
             delivery: DeliveryBudget | None) -> list[dict[str, object]]:
    """Send every due notice; what became of each, for cycles.jsonl."""
    if not book.due and not book.resolved:
        return []  # a quiet cycle loads no notifier
    host = socket.gethostname()
    sent: list[dict[str, object]] = []
    for due in book.due:
        if book.muted(due.incident.subject):  # a silence or a maintenance window: its end tells what matters
            if due.kind == "ineffective" and not dry_run:  # the bead and the registry line all the same
                _file(config, book, due, f"[{host}] {message(due, book.now)}", "held")
            sent.append({"kind": due.kind, "fingerprint": due.fingerprint, "status": "held"})
            continue
        text = f"[{host}] {message(due, book.now)}"
        status = "dry-run" if dry_run else _send(config, text, book.now, delivery)
        if not dry_run:
            book.mark_notified(due.incident, due.kind, status)
            if due.kind == "ineffective":
                _file(config, book, due, text, status)
        sent.append({"kind": due.kind, "fingerprint": due.fingerprint, "status": status})
    book.due.clear()
    if not dry_run:
        for incident in book.resolved:
            _close_bead(config, incident, book.now)
    return sent


def _send(config: Config, text: str, now: float, delivery: DeliveryBudget | None) -> str:
    """Through the cycle's budget and the outbox: sent, queued, recorded (no Telegram) or failed."""
    from argus_cli.notify.outbox import send_alert
    try:
        result = send_alert(config, text, now, budget=delivery)
    except Exception as exc:  # noqa: BLE001 - a notifier bug must not fail the cycle
        return f"failed: {type(exc).__name__}"
    return ("sent" if result.ok else "queued" if result.will_go_out
            else "recorded" if result.state == "unconfigured" else "failed")


def _file(config: Config, book: Book, due: Due, text: str, status: str) -> None:
    """An escalation is a problem of its own: a registry line and a bead, keyed by the fingerprint."""
    from argus_cli.actions import problems
    from argus_cli.actions.context import ActionContext, ProblemDraft
    kind = due.incident.subject.split(":", 1)[0]
    result = "success" if status in ("sent", "queued") else "suppressed" if status == "held" else "failure"
    draft = ProblemDraft(kind if kind in ("disk", "memory", "service", "swap") else "process", "critical", text,
                         "escalate:telegram", result,
                         bead="always", key=due.fingerprint)
    try:
        problem = problems.record(ActionContext(config, None, book.now, False), draft)
    except Exception as exc:  # noqa: BLE001 - recording trouble is reported, the cycle goes on
        print(f"argus: escalation of {due.fingerprint} not recorded: {type(exc).__name__}", file=sys.stderr)
        return
    due.incident.bead_id = problem.bead_id or due.incident.bead_id


def _close_bead(config: Config, incident: Incident, now: float) -> None:
    if not incident.bead_id:
        return
    from argus_cli.notify import beads
    ended = incident.cleared if incident.cleared is not None else now
    lasted = duration(ended - incident.opened)
    what = f"{incident.subject} {incident.condition}"
    beads.close_bead(config, incident.bead_id, f"argus: {what} resolved after {lasted}")


def send_quiet_ends(config: Config, book: Book, ended: list[Ended], *, dry_run: bool,
                    delivery: DeliveryBudget | None) -> tuple[list[dict[str, object]], bool]:
    """One notice for every silence and maintenance window that ended since the last cycle: what
    they covered that is still open (each then counts as notified, once), what another silence
    still holds, and what they held back: resolved notices of incidents the operator had been
    told of, alerts naming no subject. Returns the notice's record and whether it went out (or
    will, from the outbox): only then are the ends marked announced and the held notices
    dropped, so a notice that could not even be queued is tried again next cycle."""
    told = book.unmuted(lambda subject: any(end.matches(subject) for end in ended))
    text = f"[{socket.gethostname()}] " + _quiet_text([end.label for end in ended], told, book.now)
    status = "dry-run" if dry_run else _send(config, text, book.now, delivery)
    delivered = status in DELIVERED
    if delivered:
        for incident in told.still:
            book.mark_notified(incident, "unmuted", status)
        book.told(told)
    record: dict[str, object] = {
        "kind": "quiet-ended", "what": "; ".join(end.label for end in ended), "status": status,
        "open": [f"{i.subject} {i.condition}" for i in told.still],
        "resolved": [f"{i.subject} {i.condition}" for i in told.resolved]}
    return [record], delivered


def _quiet_text(labels: list[str], told: Unmuted, now: float) -> str:
    parts = ["; ".join(labels) + " ended."]
    if told.still:
        parts.append("Still open: " + "; ".join(_open_line(i) for i in told.still) + ".")
    if told.held_on:
        parts.append("Still held by another silence: " + "; ".join(
            f"{i.subject} {i.condition} ({i.severity}, by {why})" for i, why in told.held_on) + ".")
    if told.resolved:
        parts.append("Resolved meanwhile: " + "; ".join(_resolved(Due("resolved", i, ""), now)
                                                         for i in told.resolved) + ".")
    if told.alerts:
        parts.append(f"Held meanwhile: {len(told.alerts)} alert(s) naming no subject, the last: {told.alerts[-1]}")
    if told.dropped:
        parts.append(f"({told.dropped} more held notice(s) were dropped: see argus history.)")
    if told.empty:
        parts.append("Nothing it covered is open.")
    return " ".join(parts)


def _open_line(incident: Incident) -> str:
    marks = [m for m, on in (("flapping", incident.flapping), ("raised by the decider", incident.reported),
                             ("remediation ineffective: a human is needed", bool(incident.escalated))) if on]
    return (f"{incident.subject} {incident.condition} since {clock(incident.opened)} ({incident.severity}"
            + "".join(f", {m}" for m in marks) + f"): {incident.text}")
