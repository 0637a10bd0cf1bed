"""The snapshot: what one collect saw of the host, as frozen types (ARCHITECTURE.md §1).

Collectors build the parts, ``collectors.collect_snapshot`` assembles them; rules, the LLM
message, renderers and actions read the type. A snapshot read from a file (``decide --metrics``,
``act --snapshot``, a decision's embedded snapshot) goes through ``parse_snapshot`` once, at the
edge, so a hand-edited or foreign file gives one line naming the bad field instead of a
traceback deep in the rules or a renderer.

Any field may be absent or null (not measured): scalars and parts default to None, lists to
empty. ``UNSET`` marks the keys a collector leaves out rather than writing null, so the JSON
form (``to_json``) has the keys ``argus collect --json`` always printed. Numbers keep int or
float as read, and a bool is no number.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import UNSET, Struct, UnsetType

Number = int | float


class System(Struct, frozen=True):
    cpu_count: int | None = None
    cpu_percent: Number | None = None
    load: tuple[Number, ...] = ()
    load_per_core: Number | None = None
    uptime_seconds: Number | None = None


class Memory(Struct, frozen=True):
    total_mb: Number | None = None
    used_mb: Number | None = None
    available_mb: Number | None = None
    percent: Number | None = None


class Swap(Struct, frozen=True):
    total_mb: Number | None = None
    used_mb: Number | None = None
    percent: Number | None = None


class CgroupMemory(Struct, frozen=True):
    """The cgroup v2 Argus runs in; ``max_bytes`` and ``percent`` are None without a limit."""

    current_bytes: int | None = None
    max_bytes: int | None = None
    percent: Number | None = None


class Disk(Struct, frozen=True):
    path: str | None = None
    total_mb: Number | None = None
    used_mb: Number | None = None
    free_mb: Number | None = None
    percent: Number | None = None


class TopProcess(Struct, frozen=True):
    """The memory hog or one of the largest processes; kill_pid checks a target's create_time."""

    pid: int | None = None
    name: str | None = None
    rss_kb: Number | None = None
    mem_percent: Number | None = None
    runtime: str | None = None
    create_time: Number | None = None
    kill_candidate: bool | None = None


class ServiceStatus(Struct, frozen=True):
    name: str | None = None
    check: str | None = None
    status: str | None = None  # up | down | unknown
    http_status: int | None = None  # an HTTP check's final status code (after redirects); None: no answer
    detail: str | None = None


class OrphanProcess(Struct, frozen=True):
    pid: int | None = None
    name: str | None = None
    create_time: Number | None = None
    killable: bool | None = None
    why_not: str | UnsetType = UNSET  # left out when killable


class Orphans(Struct, frozen=True):
    pattern: str | None = None
    count: int | None = None
    killable: int | None = None
    pids: tuple[int, ...] = ()
    processes: tuple[OrphanProcess, ...] = ()
    oldest_age_seconds: Number | None = None


class TmuxPane(Struct, frozen=True):
    pid: int | None = None
    name: str | None = None
    create_time: Number | None = None


class TmuxSession(Struct, frozen=True):
    name: str | None = None
    windows: int | None = None
    created: Number | None = None
    last_activity: Number | None = None
    attached: bool | None = None
    panes: tuple[TmuxPane, ...] = ()


class TmuxServer(Struct, frozen=True):
    socket: str | None = None
    sessions: tuple[TmuxSession, ...] = ()
    detail: str | UnsetType = UNSET  # why there are no sessions; left out when the server answered


class Freshness(Struct, frozen=True):
    name: str | None = None
    path: str | None = None
    last_change: str | None = None
    age_seconds: Number | None = None  # None: missing or unreadable
    stale: bool | None = None


class PreviousCycle(Struct, frozen=True):
    """What the previous cycle left in cycle-state.json."""

    status: str | None = None
    timestamp: str | None = None
    detail: str | None = None
    consecutive_failures: Number | None = None


class CollectorError(Struct, frozen=True):
    collector: str | None = None
    error: str | None = None


class Snapshot(Struct, frozen=True):
    ts: str | None = None
    host: str | None = None
    argus_version: str | None = None
    system: System | None = None
    memory: Memory | None = None
    swap: Swap | None = None
    cgroup_memory: CgroupMemory | None = None
    disks: tuple[Disk, ...] = ()
    memory_hog: TopProcess | None = None
    top_processes: tuple[TopProcess, ...] = ()
    services: tuple[ServiceStatus, ...] = ()
    orphans: Orphans | None = None
    tmux: tuple[TmuxServer, ...] = ()
    freshness: tuple[Freshness, ...] = ()
    previous_cycle: PreviousCycle | None = None
    errors: tuple[CollectorError, ...] = ()


FIELDS = frozenset(Snapshot.__struct_fields__)
_DEPTH = 7  # objects and lists down to the deepest fields, those of tmux[].sessions[].panes[]
_WHERE = re.compile(r"(.*) - at `\$\.?(.*)`\Z", re.DOTALL)


class SnapshotShapeError(ValueError):
    """The snapshot has a field of the wrong type; the message names it."""


def parse_snapshot(value: Any) -> Snapshot:
    """The Snapshot in ``value`` (decoded JSON); SnapshotShapeError naming the first bad field."""
    if not isinstance(value, dict):
        raise SnapshotShapeError(f"a snapshot is a JSON object, got {_kind(value)}")
    if not value.keys() & FIELDS:
        raise SnapshotShapeError("the object has none of a snapshot's fields (argus collect --out FILE writes one)")
    try:
        return msgspec.convert(_without_nulls(value, _DEPTH), Snapshot)
    except msgspec.ValidationError as exc:
        raise SnapshotShapeError(_one_line(str(exc))) from None


def to_json(snapshot: Snapshot) -> dict[str, Any]:
    """The JSON form (``argus collect --json``, the LLM's ``<snapshot>``): builtins, keys in field order."""
    form: dict[str, Any] = msgspec.to_builtins(snapshot)
    return form


def _without_nulls(value: Any, depth: int) -> Any:
    """Null means "not measured", as an absent key does: drop it so the field takes its default.
    A null list item stays, and is refused. Deeper than any field there is nothing to clean."""
    if depth == 0:
        return value
    if isinstance(value, dict):
        return {key: _without_nulls(item, depth - 1) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item, depth - 1) for item in value]
    return value


def _one_line(message: str) -> str:
    """msgspec's "Expected `int`, got `str` - at `$.memory_hog.pid`" as "memory_hog.pid: expected ..."."""
    match = _WHERE.match(message)
    if match is None:
        return " ".join(message.split())
    what, where = match.groups()
    return f"{where}: {what[:1].lower()}{what[1:]}" if where else what


def _kind(value: Any) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    return f"{type(value).__name__} {shown}" if value is not None else "null"
