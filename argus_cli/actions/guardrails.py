"""Parse each requested action into a typed request, or reject it with a reason.

A request type checks its fields when it is constructed, so a request that exists has passed
them: every field is checked against a set or a pattern and nothing the decider wrote is passed
on as-is. Each type's ``parse`` turns the decider's raw dict into one, adding the checks that need
the configuration (the service allowlist). These are the static checks; the checks that depend
on the host (process identity, tmux session, backoff) run in each action right before it acts.
actions/registry.py binds each request type to its action.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

from argus_cli.config import UNIT_NAME, Config
from argus_cli.incidents import subjects
from argus_cli.model import ACTION_TYPES, MAX_ACTIONS
from argus_cli.snapshot import Snapshot
from argus_cli.text import truncate

# \A...\Z, not ^...$: "$" also matches before a trailing newline, so "web\n" would pass.
TMUX_NAME = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")
PID_TEXT = re.compile(r"\A[0-9]{1,10}\Z")
# kind:name or a bare word; printable, no newline (a name from the host was made printable)
SUBJECT = re.compile(rf"\A[a-z]+(?::[^\x00-\x1f\x7f]{{1,{subjects.SUBJECT_MAX}}})?\Z")
PID_MAX = 4194304  # the kernel's upper limit for pid_max
REASON_MAX = 500
TEXT_MAX = 4096


class _Invalid(ValueError):
    """A field failed its check; the message is the reason the action is rejected."""


@dataclass(frozen=True)
class RestartService:
    unit: str
    reason: str
    subject: str | None = None  # incidents/subjects.py; set by parse, consistent with the target
    type: ClassVar[str] = "restart_service"

    def __post_init__(self) -> None:
        _unit(self.unit)
        _check_reason(self.type, self.reason)

    @property
    def target(self) -> str:
        return self.unit

    @classmethod
    def parse(cls, raw: Mapping[str, object], config: Config) -> RestartService:
        unit = _unit(raw.get("target"))  # first, so a malformed unit is reported as such, not as not allowed
        if unit not in config.allowed_services:
            raise _Invalid(f"service {unit} is not in ARGUS_ALLOWED_SERVICES")
        return cls(unit, _reason(cls.type, raw.get("reason")))


@dataclass(frozen=True)
class KillPid:
    pid: int
    reason: str
    subject: str | None = None
    type: ClassVar[str] = "kill_pid"

    def __post_init__(self) -> None:
        _pid(self.pid)
        _check_reason(self.type, self.reason)

    @property
    def target(self) -> str:
        return str(self.pid)

    @classmethod
    def parse(cls, raw: Mapping[str, object], config: Config) -> KillPid:
        target = raw.get("target")
        if isinstance(target, str) and PID_TEXT.match(target):
            target = int(target)
        return cls(_pid(target), _reason(cls.type, raw.get("reason")))  # the target is checked first


@dataclass(frozen=True)
class KillTmux:
    session: str
    reason: str
    subject: str | None = None
    type: ClassVar[str] = "kill_tmux"

    def __post_init__(self) -> None:
        _session(self.session)
        _check_reason(self.type, self.reason)

    @property
    def target(self) -> str:
        return self.session

    @classmethod
    def parse(cls, raw: Mapping[str, object], config: Config) -> KillTmux:
        return cls(_session(raw.get("target")), _reason(cls.type, raw.get("reason")))


@dataclass(frozen=True)
class CleanDisk:
    reason: str
    subject: str | None = None
    type: ClassVar[str] = "clean_disk"
    target: ClassVar[str] = "safelist"

    def __post_init__(self) -> None:
        _check_reason(self.type, self.reason)

    @classmethod
    def parse(cls, raw: Mapping[str, object], config: Config) -> CleanDisk:
        return cls(_reason(cls.type, raw.get("reason")))  # any target is ignored: only the safelist is cleaned


@dataclass(frozen=True)
class Alert:
    message: str
    subject: str | None = None  # None: the alert is deduplicated by its text ("unkeyed")
    unusable_subject: str | None = None  # why the decider's subject was set aside, to record it
    type: ClassVar[str] = "alert"
    target: ClassVar[str] = "telegram"

    def __post_init__(self) -> None:
        _check_text(self.message, "message", TEXT_MAX)

    @classmethod
    def parse(cls, raw: Mapping[str, object], config: Config) -> Alert:
        return cls(_text(raw.get("message"), "message", TEXT_MAX))


@dataclass(frozen=True)
class Log:
    observation: str
    subject: str | None = None
    unusable_subject: str | None = None
    type: ClassVar[str] = "log"
    target: ClassVar[str] = "observation"

    def __post_init__(self) -> None:
        _check_text(self.observation, "observation", TEXT_MAX)

    @classmethod
    def parse(cls, raw: Mapping[str, object], config: Config) -> Log:
        return cls(_text(raw.get("observation"), "observation", TEXT_MAX))


Request = RestartService | KillPid | KillTmux | CleanDisk | Alert | Log


@dataclass(frozen=True)
class Rejection:
    type: str  # the requested type as text (may be garbage, shown truncated)
    target: str | None
    reason: str


def shown(value: object, limit: int = 64) -> str:
    """A hostile value made safe to print and record: repr'd, printable, truncated."""
    return truncate(value if isinstance(value, str) else repr(value), limit)


def quoted(value: object) -> str:
    """``shown`` for messages: strings in quotes, so an empty or odd one is visible."""
    return repr(shown(value)) if isinstance(value, str) else shown(value)


def parse(raw: object, index: int, config: Config, snapshot: Snapshot | None = None) -> Request | Rejection:
    """One action of a decision -> a checked request, or the reason it may not run. ``snapshot``
    is the one the decision was made from: its subjects are the only ones an action may name."""
    if index >= MAX_ACTIONS:
        return _reject(raw, f"beyond the first {MAX_ACTIONS} actions of a decision")
    if not isinstance(raw, dict):
        return Rejection("?", None, f"an action must be an object, got {type(raw).__name__}")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in ACTION_TYPES:
        return _reject(raw, f"unknown action type {quoted(kind)}; allowed: {', '.join(ACTION_TYPES)}")
    # Deferred: the registry imports every action module, and they import this one for their types.
    from argus_cli.actions.registry import SPECS
    try:
        return _with_subject(SPECS[kind].parse(raw, config), raw.get("subject"), config, snapshot)
    except _Invalid as exc:
        return _reject(raw, str(exc))


def _with_subject(request: Request, claimed: object, config: Config, snapshot: Snapshot | None) -> Request:
    """``request`` with its subject checked. A host-changing action naming a subject the snapshot
    lacks, or one its target does not act on, is refused; without one it gets the subject its
    target implies. An alert or log is never held back over its label: a subject that is not
    usable is set aside (the alert is then deduplicated by its text) and the reason kept."""
    if isinstance(request, Alert | Log):
        try:
            subject = _subject(claimed, snapshot) if claimed not in (None, "") else None
        except _Invalid as exc:
            return replace(request, unusable_subject=str(exc))
        return replace(request, subject=subject)
    if claimed in (None, ""):
        return replace(request, subject=implied_subject(request, config, snapshot))
    subject = _subject(claimed, snapshot)
    if subject not in consistent_subjects(request, config, snapshot):
        raise _Invalid(f"{request.type} {request.target} does not act on subject {quoted(subject)}")
    return replace(request, subject=subject)


def _subject(value: object, snapshot: Snapshot | None) -> str:
    # printable and trimmed too: a subject becomes a registry key and a bead's "Problem key:" line
    if not isinstance(value, str) or not SUBJECT.match(value) or not value.isprintable() or value != value.strip():
        raise _Invalid(f"subject {quoted(value)} is not a subject name")
    if snapshot is not None and value not in subjects.of_snapshot(snapshot):
        raise _Invalid(f"subject {quoted(value)} is not a subject of this snapshot")
    return value


def implied_subject(request: Request, config: Config, snapshot: Snapshot | None) -> str | None:
    """The subject a host-changing action acts on when the decider named none."""
    if isinstance(request, RestartService):
        return next(iter(subjects.services_of_unit(config, request.unit)),
                    subjects.named("service", request.unit.removesuffix(".service")))
    if isinstance(request, KillPid):
        name = subjects.processes(snapshot).get(request.pid) if snapshot is not None else None
        return subjects.named("process", name if name is not None else request.pid)
    if isinstance(request, KillTmux):
        return subjects.named("tmux", request.session)
    if isinstance(request, CleanDisk):
        return (subjects.fullest_disk(snapshot) if snapshot is not None else None) or "disk:/"
    return None


def consistent_subjects(request: Request, config: Config, snapshot: Snapshot | None) -> set[str]:
    """The subjects a host-changing action may claim: what its target is, or what it relieves."""
    relieved = {"memory", "swap", "load"}  # what killing a process or session may be for
    if isinstance(request, RestartService):
        return {*subjects.services_of_unit(config, request.unit),
                subjects.named("service", request.unit.removesuffix(".service"))}
    if isinstance(request, KillPid):
        if snapshot is None:
            return relieved
        name = subjects.processes(snapshot).get(request.pid)
        orphan = snapshot.orphans is not None and request.pid in snapshot.orphans.pids
        return {*relieved, *subjects.sessions_running(snapshot, request.pid),
                *([subjects.named("process", name)] if name is not None else []), *(["orphans"] if orphan else [])}
    if isinstance(request, KillTmux):
        panes = [p.name for server in (snapshot.tmux if snapshot else ()) for s in server.sessions
                 if s.name == request.session for p in s.panes if p.name is not None]
        return {*relieved, subjects.named("tmux", request.session), *(subjects.named("process", n) for n in panes)}
    if isinstance(request, CleanDisk):
        listed = {subjects.named("disk", d.path) for d in snapshot.disks if d.path} if snapshot else set()
        return listed or {"disk:/"}
    return set()


def _reject(raw: object, reason: str) -> Rejection:
    if not isinstance(raw, dict):
        return Rejection("?", None, reason)
    target = raw.get("target")
    return Rejection(shown(raw.get("type")), None if target is None else shown(target), reason)


# Each check takes what the decider may have sent (whatever a field is annotated as) and returns
# it typed, so parse and the constructors share one check and one message per field.

def _unit(unit: object) -> str:
    if not isinstance(unit, str) or not UNIT_NAME.match(unit) or unit.startswith("-"):
        raise _Invalid(f"target {quoted(unit)} is not a systemd unit name")
    return unit


def _pid(pid: object) -> int:
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise _Invalid(f"target {quoted(pid)} is not an integer PID")
    if not 1 < pid <= PID_MAX:
        raise _Invalid(f"PID {pid} is out of range (2..{PID_MAX})")
    return pid


def _session(name: object) -> str:
    if not isinstance(name, str) or not TMUX_NAME.match(name):
        raise _Invalid(f"target {quoted(name)} is not a tmux session name ([A-Za-z0-9._-], 1-64 chars)")
    return name


def _reason(kind: str, reason: object) -> str:
    if reason is None:
        raise _Invalid(f"reason is required for {kind} (it changes the host)")
    return _text(reason, "reason", REASON_MAX)


def _text(value: object, field: str, limit: int) -> str:
    """A non-blank string trimmed, storable and cut to ``limit``."""
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"{field} must be a non-empty string, got {quoted(value)}")
    # json.loads (the SDK's parser) yields lone surrogates for "\ud83d"; UTF-8 cannot store them
    value = value.strip().encode("utf-8", "replace").decode("utf-8")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _check_reason(kind: str, reason: object) -> None:
    _reason(kind, reason)  # a missing reason is refused as such
    _check_text(reason, "reason", REASON_MAX)


def _check_text(value: object, field: str, limit: int) -> None:
    if value != _text(value, field, limit):  # only a request built by hand gets here: parse tidies first
        raise _Invalid(f"{field} must be trimmed, valid UTF-8 and at most {limit} characters, got {quoted(value)}")
