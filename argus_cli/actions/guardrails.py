"""Parse each requested action into a typed request, or reject it with a reason.

Every field is checked against a set or a pattern and the request is rebuilt from the checked
values only; nothing the decider wrote is passed on as-is. These are the static checks; the
checks that depend on the host (process identity, tmux session, backoff) run in each action
right before it acts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from argus_cli.config import UNIT_NAME, Config
from argus_cli.model import ACTION_TYPES, MAX_ACTIONS
from argus_cli.text import truncate

# \A...\Z, not ^...$: "$" also matches before a trailing newline, so "web\n" would pass.
TMUX_NAME = re.compile(r"\A[A-Za-z0-9._-]{1,64}\Z")
PID_TEXT = re.compile(r"\A[0-9]{1,10}\Z")
PID_MAX = 4194304  # the kernel's upper limit for pid_max
REASON_MAX = 500
TEXT_MAX = 4096


@dataclass(frozen=True)
class RestartService:
    unit: str
    reason: str
    type: str = "restart_service"

    @property
    def target(self) -> str:
        return self.unit


@dataclass(frozen=True)
class KillPid:
    pid: int
    reason: str
    type: str = "kill_pid"

    @property
    def target(self) -> str:
        return str(self.pid)


@dataclass(frozen=True)
class KillTmux:
    session: str
    reason: str
    type: str = "kill_tmux"

    @property
    def target(self) -> str:
        return self.session


@dataclass(frozen=True)
class CleanDisk:
    reason: str
    type: str = "clean_disk"
    target: str = "safelist"


@dataclass(frozen=True)
class Alert:
    message: str
    type: str = "alert"
    target: str = "telegram"


@dataclass(frozen=True)
class Log:
    observation: str
    type: str = "log"
    target: str = "observation"


Request = RestartService | KillPid | KillTmux | CleanDisk | Alert | Log


@dataclass(frozen=True)
class Rejection:
    type: str  # the requested type as text (may be garbage, shown truncated)
    target: str | None
    reason: str


def shown(value: Any, limit: int = 64) -> str:
    """A hostile value made safe to print and record: repr'd, printable, truncated."""
    return truncate(value if isinstance(value, str) else repr(value), limit)


def quoted(value: Any) -> str:
    """``shown`` for messages: strings in quotes, so an empty or odd one is visible."""
    return repr(shown(value)) if isinstance(value, str) else shown(value)


def parse(raw: Any, index: int, config: Config) -> Request | Rejection:
    """One action of a decision -> a checked request, or the reason it may not run."""
    if index >= MAX_ACTIONS:
        return _reject(raw, f"beyond the first {MAX_ACTIONS} actions of a decision")
    if not isinstance(raw, dict):
        return Rejection("?", None, f"an action must be an object, got {type(raw).__name__}")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in ACTION_TYPES:
        return _reject(raw, f"unknown action type {quoted(kind)}; allowed: {', '.join(ACTION_TYPES)}")
    try:
        return _PARSERS[kind](raw, config)
    except _Invalid as exc:
        return _reject(raw, str(exc))


class _Invalid(ValueError):
    pass


def _reject(raw: Any, reason: str) -> Rejection:
    if not isinstance(raw, dict):
        return Rejection("?", None, reason)
    target = raw.get("target")
    return Rejection(shown(raw.get("type")), None if target is None else shown(target), reason)


def _text(raw: dict[str, Any], field: str, limit: int) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"{field} must be a non-empty string, got {quoted(value)}")
    # json.loads (the SDK's parser) yields lone surrogates for "\ud83d"; UTF-8 cannot store them
    value = value.strip().encode("utf-8", "replace").decode("utf-8")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _reason(raw: dict[str, Any]) -> str:
    if raw.get("reason") is None:
        raise _Invalid(f"reason is required for {raw['type']} (it changes the host)")
    return _text(raw, "reason", REASON_MAX)


def _restart(raw: dict[str, Any], config: Config) -> RestartService:
    unit = raw.get("target")
    if not isinstance(unit, str) or not UNIT_NAME.match(unit) or unit.startswith("-"):
        raise _Invalid(f"target {quoted(unit)} is not a systemd unit name")
    if unit not in config["ARGUS_ALLOWED_SERVICES"]:
        raise _Invalid(f"service {unit} is not in ARGUS_ALLOWED_SERVICES")
    return RestartService(unit, _reason(raw))


def _kill_pid(raw: dict[str, Any], config: Config) -> KillPid:
    target = raw.get("target")
    if isinstance(target, str) and PID_TEXT.match(target):
        target = int(target)
    if isinstance(target, bool) or not isinstance(target, int):
        raise _Invalid(f"target {quoted(target)} is not an integer PID")
    if not 1 < target <= PID_MAX:
        raise _Invalid(f"PID {target} is out of range (2..{PID_MAX})")
    return KillPid(target, _reason(raw))


def _kill_tmux(raw: dict[str, Any], config: Config) -> KillTmux:
    name = raw.get("target")
    if not isinstance(name, str) or not TMUX_NAME.match(name):
        raise _Invalid(f"target {quoted(name)} is not a tmux session name ([A-Za-z0-9._-], 1-64 chars)")
    return KillTmux(name, _reason(raw))


def _clean_disk(raw: dict[str, Any], config: Config) -> CleanDisk:
    return CleanDisk(_reason(raw))  # any target is ignored: only the hard-coded safelist is cleaned


def _alert(raw: dict[str, Any], config: Config) -> Alert:
    return Alert(_text(raw, "message", TEXT_MAX))


def _log(raw: dict[str, Any], config: Config) -> Log:
    return Log(_text(raw, "observation", TEXT_MAX))


_PARSERS: dict[str, Callable[[dict[str, Any], Config], Request]] = {
    "restart_service": _restart, "kill_pid": _kill_pid, "kill_tmux": _kill_tmux,
    "clean_disk": _clean_disk, "alert": _alert, "log": _log}
