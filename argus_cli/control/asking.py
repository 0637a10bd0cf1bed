"""The cycle's side of approvals (control/approvals.py): ask, with buttons; read the answers; keep
each request's Telegram message saying what became of it.

The network is never used while the store is locked: `argus approve` must not wait on a
Telegram that hangs. Every call goes through the cycle's Telegram budget.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from argus_cli.config import Config
from argus_cli.control import approvals
from argus_cli.state.layout import ApprovalRequest

if TYPE_CHECKING:
    from argus_cli.notify.budget import DeliveryBudget


MAX_REFUSALS_ANSWERED = 5  # a flood of junk presses must not spend the cycle's Telegram budget


def _clock(epoch: float | None) -> str:
    from argus_cli.incidents.notify import clock
    return clock(epoch) if epoch is not None else "?"


def text_of(request: ApprovalRequest) -> str:
    return f"[{socket.gethostname()}] {approvals.describe(request)}\n{approvals.status_line(request, _clock)}"


def request_approval(config: Config, action: Mapping[str, Any], facts: dict[str, str | float | int | None],
                     now: float, budget: DeliveryBudget | None) -> tuple[ApprovalRequest, bool]:
    """The request for ``action`` (new, or the one that stands) and whether it was created now; a
    pending one not yet announced is announced (again) on Telegram with its buttons."""
    with approvals.editing(config) as store:
        request, created = approvals.ask(store, action, facts, now, config.approval_ttl)
        request = approvals.copy(request)
    if request.state == "pending" and request.announced != "sent":
        announce(config, request, budget)
    return request, created


def announce(config: Config, request: ApprovalRequest, budget: DeliveryBudget | None) -> None:
    """Send the request with its Approve / Deny / Snooze buttons; remember the message to edit it."""
    from argus_cli.notify.telegram import send_message
    if not config.telegram_configured:
        status, message_id = "unconfigured", None
    else:
        try:
            key = approvals.load_key(config)
        except OSError as exc:
            status, message_id = f"failed: no signing key ({exc.strerror or exc})", None
        else:
            delivery = send_message(config, text_of(request), budget=budget, attempts=1,
                                    buttons=approvals.buttons(key, request, config.telegram_chat_id))
            status, message_id = ("sent" if delivery.ok else "failed"), delivery.message_id
    with approvals.editing(config) as store:
        stored = store.requests.get(request.id)
        if stored is not None:
            stored.announced, stored.message_id = status, message_id or stored.message_id
    request.announced, request.message_id = status, message_id or request.message_id


def read_answers(config: Config, now: float, budget: DeliveryBudget | None) -> dict[str, object]:
    """Expire what waited too long, then read the button presses (only while a request waits, or
    its buttons were pressable recently: a late press is answered, not left spinning): what was
    decided, refused or expired, for cycles.jsonl."""
    with approvals.editing(config) as store:
        expired = [approvals.copy(r) for r in approvals.expire(store, now, config.approval_ttl)]
        waiting = approvals.listening(store, now, config.approval_ttl)
        offset = store.offset
    summary: dict[str, object] = {}
    if expired:
        summary["expired"] = [r.id for r in expired]
    decided: list[ApprovalRequest] = []
    if waiting and config.telegram_configured:
        from argus_cli.notify.telegram import call
        answer = call(config, "getUpdates", {"offset": offset, "timeout": 0, "limit": 50,
                                             "allowed_updates": ["callback_query"]}, budget=budget)
        if not answer.ok or not isinstance(answer.result, list):
            conflict = " (a webhook is set on this bot, or another program reads its updates: answer with " \
                       "argus approve)" if "HTTP 409" in answer.detail else ""
            summary["error"] = f"could not read the operator's answers: {answer.detail}{conflict}"
        else:
            presses = _apply(config, answer.result, now)
            answered = 0
            for press in presses:  # stop the spinner on the button, with the reason
                if press.callback is not None and (press.verdict or answered < MAX_REFUSALS_ANSWERED):
                    answered += 0 if press.verdict else 1
                    call(config, "answerCallbackQuery", {"callback_query_id": press.callback,
                                                         "text": press.reason[:190]}, budget=budget)
            summary.update(_tally(presses))
            decided = _requests(config, [p.request for p in presses if p.verdict and p.request])
    for request in (*expired, *decided):
        edit(config, request, budget)
    return summary


def _apply(config: Config, updates: list[object], now: float) -> list[approvals.Press]:
    key = approvals.load_key(config)
    with approvals.editing(config) as store:
        return approvals.apply_updates(store, updates, key, chat=config.telegram_chat_id, now=now,
                                       deny_for=config.repeat_interval, approvers=frozenset(config.approvers))


def _tally(presses: list[approvals.Press]) -> dict[str, object]:
    out: dict[str, list[dict[str, object]]] = {}
    for press in presses:
        if press.callback is None:
            continue
        kind = press.verdict or "refused"
        entry: dict[str, object] = {"request": press.request, "by": press.who}
        if press.verdict is None:
            entry["reason"] = press.reason
        out.setdefault(kind, []).append(entry)
    return dict(out)


def _requests(config: Config, ids: list[str]) -> list[ApprovalRequest]:
    store = approvals.read(config)
    return [approvals.copy(store.requests[i]) for i in ids if i in store.requests]


def edit(config: Config, request: ApprovalRequest, budget: DeliveryBudget | None) -> None:
    """Rewrite the request's message with what became of it (the buttons go once it is decided)."""
    if request.message_id is None or not config.telegram_configured:
        return
    from argus_cli.notify.telegram import call
    payload: dict[str, object] = {"chat_id": config.telegram_chat_id, "message_id": request.message_id,
                                  "text": text_of(request)}
    call(config, "editMessageText", payload, budget=budget)


def tell(config: Config, text: str, now: float, budget: DeliveryBudget | None) -> str:
    """A message of its own (an approved action dropped): through the outbox, like an alert."""
    from argus_cli.notify.outbox import send_alert
    delivery = send_alert(config, f"[{socket.gethostname()}] {text}", now, budget=budget)
    return "sent" if delivery.ok else delivery.state
