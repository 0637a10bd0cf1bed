"""The guardrails without the host: what would stop each action of a decision, judged on the
snapshot alone (``argus eval`` executes nothing and its snapshots are not of this host).

Every action first passes the same parse a cycle uses (actions/guardrails.py: types, fields,
allowlisted units, subjects of this snapshot). Then the checks each action makes on the live
host right before it acts are made on what the snapshot showed instead: a ``kill_pid`` only of a
process the snapshot showed with its start time and a name on ARGUS_KILL_ALLOWLIST, a
``kill_tmux`` only of a session the snapshot listed. What needs the live host or the state
directory (the restart backoff, an action that left its incident unchanged twice) is not judged
here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from argus_cli.actions.guardrails import PID_TEXT, KillPid, KillTmux, Rejection, Request, parse, shown
from argus_cli.actions.kill_pid import snapshot_refusal
from argus_cli.config import Config
from argus_cli.incidents import subjects
from argus_cli.model import ACTIONS
from argus_cli.snapshot import Snapshot

TARGETED = ("restart_service", "kill_pid", "kill_tmux")  # the actions whose target the decider names


@dataclass(frozen=True)
class Vetted:
    """One proposed action: as proposed (type, subject, target as text) and whether it would run."""

    index: int
    type: str
    subject: str | None  # as proposed
    target: str | None
    request: Request | None  # None: refused by the parse
    refused: str | None  # why the guardrails stop it; None: it would run

    @property
    def accepted(self) -> bool:
        return self.refused is None

    @property
    def checked_subject(self) -> str | None:
        """The subject the guardrails settled on (an alert's unusable subject is dropped, a
        host-changing action without one gets the subject its target implies)."""
        return self.request.subject if self.request is not None else None

    @property
    def changes_host(self) -> bool:
        return self.type in ACTIONS and ACTIONS[self.type].changes_host

    @property
    def alarm(self) -> bool:
        """An alert or a host-changing action: what wakes or touches something."""
        return self.type == "alert" or self.changes_host


def vet(actions: Sequence[object], config: Config, snapshot: Snapshot) -> list[Vetted]:
    return [_vet_one(raw, index, config, snapshot) for index, raw in enumerate(actions)]


def _vet_one(raw: object, index: int, config: Config, snapshot: Snapshot) -> Vetted:
    fields = raw if isinstance(raw, dict) else {}
    kind, subject, target = (_text(fields.get(k)) for k in ("type", "subject", "target"))
    request = parse(raw, index, config, snapshot)
    if isinstance(request, Rejection):
        if kind == "kill_pid" and target is not None and PID_TEXT.match(target):
            target = str(int(target))  # "073102" names PID 73102, as the parse reads it
        return Vetted(index, kind or "?", subject, target, None, request.reason)
    if request.type in TARGETED:  # the target as the action would act on it, not as it was spelled
        target = request.target
    return Vetted(index, request.type, subject, target, request, _on_snapshot(request, config, snapshot))


def _on_snapshot(request: Request, config: Config, snapshot: Snapshot) -> str | None:
    if isinstance(request, KillPid):
        refusal = snapshot_refusal(request, snapshot)
        if refusal is not None:
            return refusal
        name = subjects.processes(snapshot).get(request.pid)
        if name not in config.kill_allowlist:
            return f"PID {request.pid} ({shown(name)}) is not on ARGUS_KILL_ALLOWLIST"
    if isinstance(request, KillTmux):
        listed = {session.name for server in snapshot.tmux for session in server.sessions}
        if request.session not in listed:
            return f"tmux session {request.session} is not one the snapshot listed"
    return None


def _text(value: object) -> str | None:
    """A proposed field as text for matching and showing (a PID may come as a number)."""
    if value is None:
        return None
    return shown(value, 200) if not isinstance(value, str) else value
