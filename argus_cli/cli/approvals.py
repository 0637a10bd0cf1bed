"""``argus pending``, ``argus approve ID``, ``argus deny ID``: the shell's side of the actions that
ARGUS_AUTONOMY says to ask about (the Telegram buttons are the other side)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Annotated

import typer

from argus_cli.cli.common import ArgusError, emit_json, load_config, read_or_fail, require_state_dir
from argus_cli.model import iso_z
from argus_cli.text import one_line, truncate

if TYPE_CHECKING:  # the store (msgspec, hmac) loads when one of these commands runs, not with the app
    from argus_cli.state.layout import ApprovalRequest


def pending(
    json_out: Annotated[bool, typer.Option("--json", help="Print the requests as a JSON list.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also the requests already decided (7 days).")] = False,
) -> None:
    """Actions waiting for the operator's approval (ARGUS_AUTONOMY=...ask).

    Each request names the action, its subject, the decider's reason and when it expires. Answer it
    with the buttons of its Telegram message, or here: argus approve ID / argus deny ID.

    Example: argus pending --json | jq -r '.[].id'
    """
    from argus_cli.state.layout import APPROVALS, Approvals
    config = load_config()
    now = time.time()
    store = read_or_fail(APPROVALS, config.state_dir) or Approvals()
    shown = sorted((r for r in store.requests.values()
                    if show_all or (r.state == "pending" and now < r.expires) or r.state == "approved"),
                   key=lambda r: r.created)
    if json_out:
        emit_json([_as_json(r, now) for r in shown])
        return
    if not shown:
        closed = len(store.requests)
        typer.echo("no action is waiting for approval" + (f" ({closed} decided or expired: --all)" if closed else ""))
        return
    for request in shown:
        typer.echo(_line(request, now))


def approve(request_id: Annotated[str, typer.Argument(help="The request's id, from argus pending.")]) -> None:
    """Approve a pending action: it runs at the next cycle, once its facts are checked again (the
    same process, the service still allowlisted). Example: argus approve 3f2a9c1d"""
    request = _decide(request_id, "approved")
    typer.echo(f"approved request {request.id}: {_what(request)}; it runs at the next cycle, after the host is "
               "checked again (`argus cycle` runs one now)")


def deny(request_id: Annotated[str, typer.Argument(help="The request's id, from argus pending.")]) -> None:
    """Deny a pending action: it is not asked again for ARGUS_REPEAT_INTERVAL. Example: argus deny 3f2a9c1d"""
    request = _decide(request_id, "denied")
    typer.echo(f"denied request {request.id}: {_what(request)}; not asked again before "
               f"{iso_z(request.until or time.time())}")


def _decide(request_id: str, verdict: str) -> ApprovalRequest:
    from argus_cli.control import approvals
    from argus_cli.state.layout import Unusable
    from argus_cli.state.lock import LockBusy
    config = load_config()
    require_state_dir(config.state_dir)
    try:
        with approvals.editing(config) as store:
            request = approvals.decide(store, request_id.strip(), verdict, by=f"{_user()} (shell)", now=time.time(),
                                       deny_for=config.repeat_interval)
            decided = approvals.copy(request)
    except ValueError as exc:
        raise ArgusError(f"{one_line(truncate(str(exc), 200))} (argus pending lists what waits)") from None
    except LockBusy:
        raise ArgusError("the approvals are being changed by another argus process; try again") from None
    except Unusable as exc:
        raise ArgusError(str(exc)) from None
    from argus_cli.control.asking import edit
    edit(config, decided, None)  # the Telegram message says who decided, as a button press would
    return decided


def _user() -> str:
    """Who ran the command: the user, and who used sudo to become it."""
    import pwd
    try:
        name = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        name = f"uid {os.geteuid()}"
    sudo = os.environ.get("SUDO_USER")
    return one_line(f"{name} via sudo from {sudo}" if sudo and sudo != name else name, 60)


def _what(request: ApprovalRequest) -> str:
    on = f" on {request.subject}" if request.subject else ""
    return one_line(truncate(f"{request.type} {request.target}{on}", 120))


def _line(request: ApprovalRequest, now: float) -> str:
    if request.state == "pending":
        state = f"waiting, expires in {max(0, int(request.expires - now)) // 60} min"
    else:
        state = f"{request.state}" + (f" by {request.by}" if request.by else "")
    facts = ", ".join(f"{k} {v}" for k, v in request.facts.items() if v is not None and k != "create_time")
    return one_line(truncate(f"{request.id}  {_what(request)}" + (f" ({facts})" if facts else "")
                             + f"  {state}  asked {iso_z(request.created)}  why: {request.reason}", 400))


def _as_json(request: ApprovalRequest, now: float) -> dict[str, object]:
    return {"id": request.id, "type": request.type, "target": request.target, "subject": request.subject,
            "reason": request.reason, "facts": request.facts, "state": request.state,
            "waiting": request.state == "pending" and now < request.expires,
            "created": iso_z(request.created), "expires": iso_z(request.expires), "by": request.by,
            "decided": iso_z(request.decided) if request.decided is not None else None,
            "telegram": request.announced, "outcome": request.outcome}
