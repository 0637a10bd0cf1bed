"""The LLM's view of the snapshot: every text field with its origin and its length cap.

A snapshot carries text that others wrote: a process's name is whatever its owner chose, a
tmux session's name whatever a user of that socket typed, a collector's error whatever the
failing call said. The snapshot Argus records and prints keeps them as collected; the model
gets a reduced copy (``llm_view``) in which each string went through ``clean`` with the cap of
its field, and a legend (``legend``) that says where each kind of text comes from and who can
set it. ``TEXT_FIELDS`` names every string field of ``Snapshot`` (a test walks the type), so a
new field cannot reach the model without an origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from argus_cli.snapshot import Snapshot, to_json
from argus_cli.text import truncate


@dataclass(frozen=True)
class TextField:
    cap: int  # characters the model is shown at most, the ellipsis included
    origin: str | None  # where the text comes from and who can set it; None: Argus's own words
    command_like: bool = False  # a process name: the executable is kept, the rest counted as arguments


_PROCESS = TextField(64, "a process's own name: any local user can choose it", True)
_OWN = TextField(40, None)


def _config(variable: str, cap: int = 160) -> TextField:
    return TextField(cap, f"set by the operator ({variable})")


TEXT_FIELDS: dict[str, TextField] = {
    "ts": _OWN,
    "host": TextField(64, "the host's name: set by root"),
    "argus_version": _OWN,
    "disks[].path": _config("ARGUS_DISK_PATHS"),
    "memory_hog.name": _PROCESS,
    "memory_hog.runtime": _OWN,
    "top_processes[].name": _PROCESS,
    "top_processes[].runtime": _OWN,
    "services[].name": _config("ARGUS_SERVICES", 64),
    "services[].check": _config("ARGUS_SERVICES"),
    "services[].status": _OWN,
    "services[].detail": TextField(160, "systemctl's answer or the TCP/HTTP check's error; never an HTTP "
                                        "reply's text"),
    "orphans.pattern": _config("ARGUS_ORPHAN_PATTERN"),
    "orphans.processes[].name": _PROCESS,
    "orphans.processes[].why_not": TextField(160, "Argus's words quoting process names: any local user "
                                                  "can choose those"),
    "tmux[].socket": _config("ARGUS_TMUX_SOCKETS"),
    "tmux[].detail": TextField(200, "tmux's error output"),
    "tmux[].sessions[].name": TextField(64, "any user of that tmux socket can choose it"),
    "tmux[].sessions[].panes[].name": _PROCESS,
    "freshness[].name": _config("ARGUS_FRESHNESS", 64),
    "freshness[].path": _config("ARGUS_FRESHNESS"),
    "freshness[].last_change": _OWN,
    "previous_cycle.status": _OWN,
    "previous_cycle.timestamp": _OWN,
    "previous_cycle.detail": TextField(200, "Argus's note on its last cycle: may quote an error's text"),
    "errors[].collector": _OWN,
    "errors[].error": TextField(200, "a collector's error: may quote paths or a tool's output"),
}
_UNKNOWN = TextField(64, None)  # unreachable while the test of TEXT_FIELDS holds; the strictest cap


def clean(text: str, cap: int) -> str:
    """One line of printable text in at most ``cap`` characters: whitespace runs (newlines, tabs)
    become one space, then ``text.truncate`` turns other non-printable characters (escape, bidi
    overrides) into ``?`` and cuts a longer text with ``…``, as collectors shorten host text."""
    return truncate(" ".join(text.split()), cap)


def process_name(name: str, cap: int) -> str:
    """A process name as the executable's name: a name holding a command line (``node --test
    x.js``, ``postgres: writer``) keeps its first word and counts the rest: ``node (+2 args)``."""
    flat = clean(name, len(name) + 1)
    head, _, rest = flat.partition(" ")
    if not rest:
        return clean(head, cap)
    count = len(rest.split())
    suffix = f" (+{count} arg{'s' if count != 1 else ''})"
    return clean(head, max(cap - len(suffix), 8)) + suffix


def shown(text: str, field: TextField) -> str:
    return process_name(text, field.cap) if field.command_like else clean(text, field.cap)


def llm_view(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot's JSON form (the same keys and shape) with every string reduced for the model."""
    view: dict[str, Any] = _reduce(to_json(snapshot), "")
    return view


def _reduce(value: Any, path: str) -> Any:
    if isinstance(value, str):
        return shown(value, TEXT_FIELDS.get(path, _UNKNOWN))
    if isinstance(value, dict):
        return {key: _reduce(item, f"{path}.{key}" if path else key) for key, item in value.items()}
    if isinstance(value, list | tuple):  # to_builtins keeps the snapshot's tuples
        return [_reduce(item, f"{path}[]") for item in value]
    return value


def legend() -> dict[str, str]:
    """Each snapshot field that carries text from outside Argus -> where it comes from, who sets it."""
    return {path: field.origin for path, field in TEXT_FIELDS.items() if field.origin is not None}
