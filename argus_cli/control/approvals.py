"""Actions that wait for the operator (ARGUS_AUTONOMY ``ask``): the request, its Telegram buttons,
the answers, and what an answer must prove before its action may run.

There is no resident process: each cycle reads the bot's updates (``getUpdates`` from a stored
offset) while a request is open. A button press is accepted only when its callback data carries
a valid signature (HMAC-SHA256 with ``approval.key``, created in the state dir), names a request
still pending and not expired, and comes from the configured chat; anything else is refused and
recorded. ``argus approve`` / ``argus deny`` change the same state from the shell. An approved
request runs in the next cycle, after its facts are checked against that cycle's snapshot
(actions/execute.py ``run_approved``).

The decisions are pure functions of the store, the updates and the clock (``apply_updates``), so
a property test can throw any sequence of updates at them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from argus_cli.config import DAY, Config
from argus_cli.model import iso_z
from argus_cli.snapshot import Snapshot
from argus_cli.state.files import create_state_file, read_regular
from argus_cli.state.layout import (
    APPROVAL_KEY,
    APPROVALS,
    APPROVALS_LOCK,
    ApprovalRequest,
    Approvals,
    RefusedPress,
)
from argus_cli.text import one_line

VERBS = {"a": "approved", "d": "denied", "s": "snoozed"}
SNOOZE_SECONDS = 3600
OPEN = ("pending", "approved", "running")
KEEP_CLOSED = 7 * DAY  # a closed request stays listed (argus pending --all, explain) this long
MAX_KEPT = 100
MAX_REFUSALS = 20
KEY_BYTES = 32


# --- the key and the signed buttons ------------------------------------------------------------

def load_key(config: Config) -> bytes:
    """The HMAC key, created (random, 0600) on first use. Raises OSError when it cannot be read or
    made: no key, no buttons (the shell commands still work)."""
    path = config.state_dir / APPROVAL_KEY
    with contextlib.suppress(FileNotFoundError):
        key = read_regular(path)
        if len(key) >= KEY_BYTES:
            return key
    fd = create_state_file(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a short file found there may have had any mode
        key = secrets.token_bytes(KEY_BYTES)
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def _mac(key: bytes, request_id: str, verb: str, chat: str) -> str:
    digest = hmac.new(key, f"{request_id}:{verb}:{chat}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def callback_data(key: bytes, request_id: str, verb: str, chat: str) -> str:
    """``ID:VERB:SIGNATURE``, 33 bytes (Telegram allows 64)."""
    return f"{request_id}:{verb}:{_mac(key, request_id, verb, chat)}"


def buttons(key: bytes, request: ApprovalRequest, chat: str) -> list[list[dict[str, str]]]:
    return [[{"text": "Approve", "callback_data": callback_data(key, request.id, "a", chat)},
             {"text": "Deny", "callback_data": callback_data(key, request.id, "d", chat)},
             {"text": "Snooze 1 h", "callback_data": callback_data(key, request.id, "s", chat)}]]


# --- the store ---------------------------------------------------------------------------------

@contextlib.contextmanager
def editing(config: Config) -> Iterator[Approvals]:
    """The store, locked for a read-modify-write (a cycle and `argus approve` may meet here)."""
    with APPROVALS.editing(config.state_dir, APPROVALS_LOCK, Approvals, _prune) as store:
        yield store


def read(config: Config) -> Approvals:
    return APPROVALS.read(config.state_dir) or Approvals()


def copy(request: ApprovalRequest) -> ApprovalRequest:
    """A copy to use once the store's lock is released."""
    return msgspec.structs.replace(request)


def _prune(store: Approvals) -> None:
    closed = sorted((r for r in store.requests.values() if r.state not in OPEN), key=lambda r: r.decided or r.created)
    newest = max((r.created for r in store.requests.values()), default=0)
    for request in closed:
        if newest - (request.decided or request.created) > KEEP_CLOSED or len(store.requests) > MAX_KEPT:
            del store.requests[request.id]
    store.refused = store.refused[-MAX_REFUSALS:]


def same(request: ApprovalRequest, kind: str, target: str, facts: Mapping[str, object]) -> bool:
    """The same action on the same thing (a PID reused by another process is another thing)."""
    return (request.type, request.target) == (kind, target) and \
        request.facts.get("create_time") == facts.get("create_time")


def ask(store: Approvals, action: Mapping[str, Any], facts: dict[str, str | float | int | None], now: float,
        ttl: int) -> tuple[ApprovalRequest, bool]:
    """The request for ``action`` and whether it is new: an open one for the same action, or one
    denied or snoozed that still holds, stands; otherwise a new pending request."""
    kind, target = str(action["type"]), str(action["target"])
    for request in store.requests.values():
        if not same(request, kind, target, facts):
            continue
        if (request.state == "pending" and now < request.expires) or request.state == "approved":
            return request, False
        if request.state in ("denied", "snoozed") and request.until is not None and now < request.until:
            return request, False
    if sum(1 for r in store.requests.values() if r.state in OPEN) >= MAX_KEPT:
        raise ValueError(f"{MAX_KEPT} requests already wait for an answer: answer them (argus pending) "
                         "or let them expire before more are asked")
    request_id = secrets.token_hex(4)
    while request_id in store.requests:
        request_id = secrets.token_hex(4)
    subject = action.get("subject")
    request = ApprovalRequest(request_id, kind, target, subject if isinstance(subject, str) else None,
                              one_line(str(action.get("reason") or ""), 300), now, now + ttl, facts)
    store.requests[request_id] = request
    return request, True


def listening(store: Approvals, now: float, ttl: int) -> bool:
    """Should the cycle read button presses: a request waits, or one with buttons was closed
    within ``ttl`` (its late or repeated presses are answered and recorded)."""
    return any(r.state == "pending" or (r.message_id is not None and now - (r.decided or r.created) < ttl)
               for r in store.requests.values())


def expire(store: Approvals, now: float, ttl: int) -> list[ApprovalRequest]:
    """Pending requests past their expiry, and approvals that could not run within ``ttl``."""
    gone = []
    for request in store.requests.values():
        if request.state == "running":  # the cycle that ran it did not live to say how it went
            request.state, request.decided = "interrupted", now
            request.outcome = "its cycle ended while it ran: check the host before approving it again"
            gone.append(request)
            continue
        late_approval = request.state == "approved" and now >= (request.decided or request.created) + ttl
        if (request.state == "pending" and now >= request.expires) or late_approval:
            request.state, request.decided = "expired", now
            request.outcome = "approved, but could not run in time" if late_approval else "no answer in time"
            gone.append(request)
    return gone


def decide(store: Approvals, request_id: str, verdict: str, *, by: str, now: float,
           deny_for: float) -> ApprovalRequest:
    """``verdict`` (approved, denied, snoozed) on a pending, unexpired request; ValueError says
    why not (unknown, already decided, expired)."""
    request = store.requests.get(request_id)
    if request is None:
        raise ValueError(f"no approval request {request_id}")
    if request.state == "approved" and verdict == "denied":  # withdrawn before it ran
        request.state, request.by, request.decided, request.until = verdict, by, now, now + deny_for
        request.outcome = "approval withdrawn before it ran"
        return request
    if request.state != "pending":
        when = f" at {iso_z(request.decided)}" if request.decided is not None else ""
        raise ValueError(f"request {request_id} was already {request.state}{when}"
                         + (f" by {request.by}" if request.by else ""))
    if now >= request.expires:
        raise ValueError(f"request {request_id} expired at {iso_z(request.expires)}")
    request.state, request.by, request.decided = verdict, by, now
    if verdict == "denied":
        request.until = now + deny_for
    elif verdict == "snoozed":
        request.until = now + SNOOZE_SECONDS
    return request


# --- Telegram answers --------------------------------------------------------------------------

@dataclass(frozen=True)
class Press:
    """What one update came to: a request decided, or a refusal and why. ``callback`` is the
    callback query's id, to answer it (the spinner on the button stops)."""

    update_id: int | None
    callback: str | None
    request: str | None
    verdict: str | None  # approved | denied | snoozed; None: refused
    reason: str
    who: str


def chat_matches(chat: object, configured: str) -> bool:
    """Is the message's chat the configured one (by id, or by @username for a public chat)?"""
    if not isinstance(chat, dict):
        return False
    ident, username = chat.get("id"), chat.get("username")
    if isinstance(ident, int) and not isinstance(ident, bool) and str(ident) == configured.strip():
        return True
    # Telegram usernames are case-insensitive
    return (configured.startswith("@") and isinstance(username, str)
            and f"@{username}".casefold() == configured.casefold())


def _who(query: Mapping[str, Any]) -> str:
    found = query.get("from")
    sender: Mapping[str, Any] = found if isinstance(found, dict) else {}
    name = sender.get("username") if isinstance(sender.get("username"), str) else sender.get("first_name")
    ident = sender.get("id")
    shown = f"@{name}" if isinstance(name, str) and sender.get("username") else str(name or "someone")
    return one_line(f"{shown} (telegram{f' {ident}' if isinstance(ident, int) else ''})", 80)


def apply_updates(store: Approvals, updates: Iterable[object], key: bytes, *, chat: str, now: float,
                  deny_for: float, approvers: frozenset[str] = frozenset()) -> list[Press]:
    """Judge every update in order; the store's offset moves past each one, decided requests change
    state and refusals are recorded. ``approvers``: the Telegram user ids whose presses count
    (ARGUS_APPROVERS; empty: only the user of a private chat). Nothing here touches the network."""
    presses = []
    for update in updates:
        try:
            press = _judge(store, update, key, chat=chat, now=now, deny_for=deny_for, approvers=approvers)
        except Exception:  # noqa: BLE001 - one unreadable update must not stop the answers behind it
            press = Press(_update_id(update), None, None, None, "unreadable update", "")
        if press.update_id is not None:
            store.offset = max(store.offset, press.update_id + 1)
        if press.verdict is None and press.callback is not None:
            store.refused.append(RefusedPress(now, press.reason, press.request, press.who))
        presses.append(press)
    return presses


def _update_id(update: object) -> int | None:
    found = update.get("update_id") if isinstance(update, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) and found >= 0 else None


def _judge(store: Approvals, update: object, key: bytes, *, chat: str, now: float, deny_for: float,
           approvers: frozenset[str]) -> Press:
    if not isinstance(update, dict):
        return Press(None, None, None, None, "not an update", "")
    update_id = _update_id(update)
    query = update.get("callback_query")
    if not isinstance(query, dict) or not isinstance(query.get("id"), str):
        return Press(update_id, None, None, None, "not a button press", "")
    data = query.get("data")
    parts = data.split(":") if isinstance(data, str) else []
    request_id = parts[0][:16] if parts else None
    message = query.get("message")
    why = _unsigned(message.get("chat") if isinstance(message, dict) else None, parts, key, chat) \
        or _not_an_approver(query.get("from"), chat, approvers)
    if why is None:
        try:
            decide(store, parts[0], VERBS[parts[1]], by=_who(query), now=now, deny_for=deny_for)
        except ValueError as exc:
            why = str(exc)
    if why is not None:
        return Press(update_id, query["id"], request_id, None, why, _who(query))
    return Press(update_id, query["id"], request_id, VERBS[parts[1]], VERBS[parts[1]], _who(query))


def _unsigned(message_chat: object, parts: list[str], key: bytes, chat: str) -> str | None:
    """Why a press cannot be one of ours, from the configured chat: None when it is."""
    if not chat_matches(message_chat, chat):
        return "pressed in another chat than TELEGRAM_CHAT_ID"
    if len(parts) != 3 or parts[1] not in VERBS or not all(part.isascii() for part in parts):
        return "not an Argus approval button"
    request_id, verb, signature = parts
    if not hmac.compare_digest(signature.encode(), _mac(key, request_id, verb, chat).encode()):
        return "invalid signature"
    return None


def _not_an_approver(sender: object, chat: str, approvers: frozenset[str]) -> str | None:
    """Why whoever pressed may not decide: a chat can hold more people than may approve."""
    ident = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(ident, int) or isinstance(ident, bool):
        return "a press from no known user"
    if approvers:
        return None if str(ident) in approvers else "pressed by a user not in ARGUS_APPROVERS"
    if chat.strip().isdigit():  # a private chat: its id is its user's
        return None if str(ident) == chat.strip() else "pressed by another user than the private chat's"
    return "a group or channel: set ARGUS_APPROVERS to the Telegram user ids that may approve"


# --- what the operator reads --------------------------------------------------------------------

def describe(request: ApprovalRequest) -> str:
    """The request as its Telegram message and `argus pending` show it."""
    facts = ", ".join(f"{k} {v}" for k, v in request.facts.items() if v is not None and k != "create_time")
    on = f" on {request.subject}" if request.subject else ""
    return (f"Argus asks to run {request.type} {request.target}{on}" + (f" ({facts})" if facts else "")
            + f".\nWhy: {request.reason or 'no reason given'}")


_STATES = {
    "approved": "Approved{by}{at}: runs at the next cycle, after its facts are checked again.",
    "denied": "Denied{by}{at}; not asked again before {until}.",
    "snoozed": "Snoozed{by}{at} until {until}.",
    "done": "Approved{by}; ran{at}: {outcome}",
    "dropped": "Approved{by}; NOT run{at}: {outcome}",
    "expired": "Expired{at}, not run: {outcome}.",
    "running": "Approved{by}; running{at}.",
    "interrupted": "Approved{by}; interrupted{at}: {outcome}",
    "pending": "Waiting for an answer until {expires} (or on the host: argus approve {id}).",
}


def status_line(request: ApprovalRequest, clock: Callable[[float | None], str]) -> str:
    """What became of it, appended to its message when it changes."""
    return _STATES.get(request.state, _STATES["pending"]).format(
        by=f" by {request.by}" if request.by else "",
        at=f" at {clock(request.decided)}" if request.decided is not None else "",
        until=clock(request.until), expires=clock(request.expires), outcome=request.outcome, id=request.id)


# --- the facts an approval relies on ------------------------------------------------------------

def facts_of(kind: str, target: str, snapshot: Snapshot | None) -> dict[str, str | float | int | None]:
    """What must still be true when the approved action runs: the same process (PID and start
    time), the same tmux session (its creation time)."""
    if snapshot is None:
        return {}
    if kind == "kill_pid":
        for process in (snapshot.memory_hog, *snapshot.top_processes):
            if process is not None and str(process.pid) == target:
                return {"name": process.name, "create_time": process.create_time,
                        "rss_mb": round(process.rss_kb / 1024) if process.rss_kb is not None else None}
        from argus_cli.actions.kill_pid import shown_processes  # orphans and tmux panes too
        created = shown_processes(snapshot).get(int(target)) if target.isdigit() else None
        return {"create_time": created}
    if kind == "kill_tmux":
        for server in snapshot.tmux:
            for session in server.sessions:
                if session.name == target:
                    return {"socket": server.socket, "created": session.created}
    return {}


def changed(request: ApprovalRequest, snapshot: Snapshot) -> str | None:
    """Why the approved action may no longer run (the host changed since it was asked), or None."""
    now = facts_of(request.type, request.target, snapshot)
    if request.type == "kill_pid":
        if now.get("create_time") is None:
            return f"PID {request.target} is no longer in the process table"
        if now.get("create_time") != request.facts.get("create_time"):
            return (f"PID {request.target} is now another process (started {now.get('create_time')}, "
                    f"the request was for one started {request.facts.get('create_time')})")
    if request.type == "kill_tmux":
        if not now:
            return f"tmux session {request.target} is gone"
        if request.facts.get("created") is None or now.get("created") is None:
            return f"tmux session {request.target} has no creation time to prove it is the same session"
        if now.get("created") != request.facts.get("created"):
            return f"tmux session {request.target} is another session now (created again)"
    return None
