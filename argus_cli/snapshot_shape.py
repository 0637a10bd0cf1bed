"""The shape of a snapshot read from a file (``decide --metrics``, ``act --snapshot``, a decision's
embedded snapshot): checked once, at the edge, so a hand-edited or foreign file gives one line
naming the bad field instead of a traceback deep in the rules or a renderer.

A field may be absent or null (not measured); present, it must have the type collectors write.
"""

from __future__ import annotations

from typing import Any

NUM, INT, STR, BOOL = "number", "integer", "string", "boolean"
Spec = str | dict[str, Any] | tuple[str, Any]  # a scalar kind, an object's fields, or ("list", item)

_PROCESS = {"pid": INT, "name": STR, "rss_kb": NUM, "mem_percent": NUM, "runtime": STR,
            "create_time": NUM, "kill_candidate": BOOL}
_IDENTITY = {"pid": INT, "name": STR, "create_time": NUM}
SNAPSHOT: dict[str, Spec] = {
    "ts": STR, "host": STR, "argus_version": STR,
    "system": {"cpu_count": INT, "cpu_percent": NUM, "load": ("list", NUM), "load_per_core": NUM,
               "uptime_seconds": NUM},
    "memory": {"total_mb": NUM, "used_mb": NUM, "available_mb": NUM, "percent": NUM},
    "swap": {"total_mb": NUM, "used_mb": NUM, "percent": NUM},
    "cgroup_memory": {},
    "disks": ("list", {"path": STR, "total_mb": NUM, "used_mb": NUM, "free_mb": NUM, "percent": NUM}),
    "memory_hog": _PROCESS,
    "top_processes": ("list", _PROCESS),
    "services": ("list", {"name": STR, "check": STR, "status": STR, "detail": STR}),
    "orphans": {"pattern": STR, "count": INT, "killable": INT, "pids": ("list", INT),
                "processes": ("list", {**_IDENTITY, "killable": BOOL, "why_not": STR}),
                "oldest_age_seconds": NUM},
    "tmux": ("list", {"socket": STR, "detail": STR, "sessions": ("list", {
        "name": STR, "windows": INT, "created": NUM, "last_activity": NUM, "attached": BOOL,
        "panes": ("list", _IDENTITY)})}),
    "freshness": ("list", {"name": STR, "path": STR, "last_change": STR, "age_seconds": NUM, "stale": BOOL}),
    "previous_cycle": {},
    "errors": ("list", {"collector": STR, "error": STR}),
}


class SnapshotShapeError(ValueError):
    """The snapshot has a field of the wrong type; the message names it."""


def check_snapshot(value: Any) -> dict[str, Any]:
    """``value`` if it is a snapshot of the right shape; SnapshotShapeError naming the first bad field."""
    if not isinstance(value, dict):
        raise SnapshotShapeError(f"a snapshot is a JSON object, got {_kind(value)}")
    if not value.keys() & SNAPSHOT.keys():
        raise SnapshotShapeError("the object has none of a snapshot's fields (argus collect --out FILE writes one)")
    _check_fields(value, SNAPSHOT, "")
    return value


def _check_fields(value: dict[str, Any], fields: dict[str, Spec], where: str) -> None:
    for name, spec in fields.items():
        if value.get(name) is not None:
            _check(value[name], spec, f"{where}{name}")


def _check(value: Any, spec: Spec, where: str) -> None:
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise SnapshotShapeError(f"{where}: expected an object, got {_kind(value)}")
        _check_fields(value, spec, f"{where}.")
    elif isinstance(spec, tuple):
        if not isinstance(value, list):
            raise SnapshotShapeError(f"{where}: expected a list, got {_kind(value)}")
        for index, item in enumerate(value):
            if item is None:
                raise SnapshotShapeError(f"{where}[{index}]: expected a value, got null")
            _check(item, spec[1], f"{where}[{index}]")
    elif not _is(value, spec):
        article = "an" if spec[0] in "aeiou" else "a"
        raise SnapshotShapeError(f"{where}: expected {article} {spec}, got {_kind(value)}")


def _is(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == BOOL
    return {NUM: isinstance(value, int | float), INT: isinstance(value, int),
            STR: isinstance(value, str), BOOL: False}[kind]


def _kind(value: Any) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    return f"{type(value).__name__} {shown}" if value is not None else "null"
