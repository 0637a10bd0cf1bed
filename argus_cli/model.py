"""Plain data shared across Argus: decisions, action results, problems. No I/O here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

DECIDERS = ("llm", "rules", "fallback")
SEVERITIES = ("critical", "warning", "info")
PROBLEM_TYPES = ("disk", "memory", "service", "process", "swap")
RESULTS = ("success", "failure", "skipped", "suppressed", "rejected")
MAX_ACTIONS = 10


@dataclass(frozen=True)
class ActionKind:
    """What the decider and the records know of one action type. Plain data here, so the decider's
    schema (decide/) reads it without importing the actions; actions/registry.py binds each kind
    to its request type and runner, and a test keeps the two tables in step."""

    name: str
    description: str  # what it does, for the decider (the tool schema's ``type`` field)
    changes_host: bool  # it acts on the host, so it must give a ``reason``
    problem_type: str  # registry type of its problems; a text action's when the text names none
    target: str | None = None  # what ``target`` names, for the decider; None: it takes no target
    text_field: str | None = None  # alert and log carry their text here, and are typed from it
    text: str = ""  # what ``text_field`` holds, for the decider


ACTIONS: dict[str, ActionKind] = {kind.name: kind for kind in (
    ActionKind("restart_service", "systemctl restart an allowed unit", True, "service", target="unit"),
    ActionKind("kill_pid", "SIGTERM then SIGKILL an allow-listed process the snapshot showed", True, "process",
               target="PID"),
    ActionKind("kill_tmux", "kill one tmux session on a configured server", True, "process",
               target="session name"),
    ActionKind("clean_disk", "remove old entries from the fixed safelist (no target)", True, "disk"),
    ActionKind("alert", "send a Telegram message to the operator", False, "process",
               text_field="message", text="the text sent to the operator"),
    ActionKind("log", "record an observation", False, "process", text_field="observation",
               text="the note to record"),
)}
ACTION_TYPES = tuple(ACTIONS)


def iso_z(epoch: float) -> str:
    """UTC ISO-8601 with a trailing Z, second precision: 2026-02-20T00:00:00Z."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_number(value: object) -> float | None:
    """``value`` as a float when it is a real number (not a bool), else None.

    Snapshots and state files are read back from JSON a hand or another version may have edited:
    a ``null`` or a string where a number belongs is treated as absent rather than crashing.
    """
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACES = re.compile(r"\s+")
_HOST_PREFIX = re.compile(r"^\[[^\]]*\]\s*")


def scrub_surrogates(value: object) -> object:
    """``value`` with every lone UTF-16 surrogate in its strings replaced by "?".

    JSON from outside (an LLM answer) may encode half an emoji pair; such a string cannot be
    printed or written as UTF-8, so it is cleaned where it enters.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {scrub_surrogates(k): scrub_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_surrogates(v) for v in value]
    return value


# Bounds for structured values from outside (an LLM answer, a decision file): enough for any real
# decision, small enough that nothing downstream (orjson stops at 255 levels) can choke on them.
MAX_DEPTH = 24
MAX_ITEMS = 1000
MAX_TEXT = 65536
TOO_DEEP = "<nested too deep>"


def bounded(value: object, depth: int = MAX_DEPTH) -> Any:  # a JSON value; Any as decide/llm.py reassigns it
    """``value`` cut to MAX_DEPTH levels, MAX_ITEMS per container and MAX_TEXT per string, with
    string keys, 64-bit integers and no lone surrogates: what enters from outside is bounded where
    it enters, so no writer downstream can choke on it."""
    if isinstance(value, dict | list | tuple):
        return _bounded_container(value, depth)
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return str(value)[:MAX_TEXT]  # JSON allows any integer; the record writer takes 64 bits
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub_surrogates(str(value)[:MAX_TEXT])


def _bounded_container(value: dict[object, object] | list[object] | tuple[object, ...], depth: int) -> object:
    if depth <= 0:
        return TOO_DEEP
    if isinstance(value, dict):
        items = list(value.items())[:MAX_ITEMS]
        return {scrub_surrogates(str(k)[:MAX_TEXT]): bounded(v, depth - 1) for k, v in items}
    return [bounded(v, depth - 1) for v in value[:MAX_ITEMS]]


def normalise(description: str) -> str:
    """Lower-case, trim, collapse whitespace, drop a leading ``[host] ``, mask numbers as ``#``."""
    text = _SPACES.sub(" ", description.lower()).strip()
    text = _HOST_PREFIX.sub("", text)
    return _NUMBER.sub("#", text)


def problem_key(problem_type: str, description: str) -> str:
    """``<type>:<first 16 hex of sha256(normalised description)>``."""
    import hashlib  # only the paths that record problems pay for it

    digest = hashlib.sha256(normalise(description).encode("utf-8")).hexdigest()[:16]
    return f"{problem_type}:{digest}"


@dataclass
class Decision:
    assessment: str
    actions: Sequence[object]  # as the decider sent them: guardrails.parse checks each one
    observations: list[str] = field(default_factory=list)
    decider: str = "rules"
    model: str | None = None
    usage: dict[str, int] | None = None

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        if self.decider != "llm":
            data.pop("model")
            data.pop("usage")
        return data


@dataclass
class ActionResult:
    """What happened to one requested action. ``status`` is one of RESULTS."""

    index: int
    type: str
    target: str | None
    status: str
    detail: str
    dry_run: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Problem:
    """One registry line: the eight keys the registry has always had, and ``key``, the incident's
    fingerprint, when the action named a subject (left out otherwise, as older lines are)."""

    ts: str
    severity: str
    type: str
    description: str
    action_taken: str
    action_result: str
    bead_id: str | None
    host: str
    key: str | None = None

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        if self.key is None:
            del data["key"]
        return data
