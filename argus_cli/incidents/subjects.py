"""Subjects: the stable id of every thing Argus checks (``memory``, ``disk:/``, ``service:web``).

A finding names a subject and a condition; the pair, its fingerprint, is an incident's identity,
whatever words a decider uses. A decider's action names a subject too: this module says which
subjects a snapshot has and whether an action's target is consistent with the subject it claims.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator

from argus_cli.config import Config
from argus_cli.snapshot import Snapshot
from argus_cli.text import truncate

SUBJECT_MAX = 160
HOST_WIDE = ("memory", "swap", "load")  # always subjects of a snapshot: the host has them
# the collectors whose failure is a subject (collectors/__init__.py names them)
COLLECTORS = ("system", "memory", "disks", "processes", "services", "orphans", "tmux", "freshness", "previous_cycle")
DECIDER = "decider"


def fingerprint(subject: str, condition: str) -> str:
    """``<subject> <condition>``: conditions never hold a space, so the last space splits it."""
    return f"{subject} {condition}"


def split(fingerprint_text: str) -> tuple[str, str]:
    subject, _, condition = fingerprint_text.rpartition(" ")
    return subject, condition


def named(kind: str, name: object) -> str:
    """``kind:name`` with the name made printable and short: names come from the host."""
    return f"{kind}:{truncate(str(name), SUBJECT_MAX - len(kind) - 1)}"


def of_snapshot(snapshot: Snapshot) -> frozenset[str]:
    """Every subject this snapshot shows; a decider may address only these (``decider`` is
    Argus's own, never the decider's to name)."""
    return frozenset(_subjects(snapshot))


def measured(snapshot: Snapshot) -> frozenset[str]:
    """The subjects this snapshot could judge: a service that answered up or down, a usage that
    was read. A subject missing here (its collector failed, its check could not answer) keeps its
    incidents as they were: not seeing a problem is not seeing it end."""
    return frozenset(_measured(snapshot))


def _measured(snap: Snapshot) -> Iterator[str]:
    if snap.memory is not None and snap.memory.percent is not None:
        yield "memory"
    if snap.swap is not None and snap.swap.percent is not None:
        yield "swap"
    if snap.system is not None and snap.system.load_per_core is not None:
        yield "load"
    yield from (named("disk", d.path) for d in snap.disks if d.path is not None and d.percent is not None)
    yield from (named("service", s.name) for s in snap.services if s.name is not None and s.status in ("up", "down"))
    yield from (named("freshness", f.name) for f in snap.freshness if f.name is not None and f.stale is not None)
    collectors = {e.collector for e in snap.errors}
    yield from (named("collector", name) for name in COLLECTORS if name not in collectors)


def _subjects(snap: Snapshot) -> Iterator[str]:
    yield from HOST_WIDE
    yield from (named("disk", d.path) for d in snap.disks if d.path is not None)
    yield from (named("service", s.name) for s in snap.services if s.name is not None)
    yield from (named("freshness", f.name) for f in snap.freshness if f.name is not None)
    yield from (named("collector", e.collector) for e in snap.errors if e.collector is not None)
    yield from (named("process", name) for name in processes(snap).values() if name is not None)
    if snap.orphans is not None and snap.orphans.count:
        yield "orphans"
    for server in snap.tmux:
        yield from (named("tmux", s.name) for s in server.sessions if s.name is not None)


def processes(snap: Snapshot) -> dict[int, str | None]:
    """PID -> name of every process the snapshot shows (hog, top, orphans, tmux panes)."""
    shown: dict[int, str | None] = {}
    for pid, name in _listed(snap):
        if pid is not None:
            shown.setdefault(pid, name)
    return shown


def _listed(snap: Snapshot) -> Iterator[tuple[int | None, str | None]]:
    if snap.memory_hog is not None:
        yield snap.memory_hog.pid, snap.memory_hog.name
    yield from ((p.pid, p.name) for p in snap.top_processes)
    if snap.orphans is not None:
        yield from ((p.pid, p.name) for p in snap.orphans.processes)
    yield from ((pane.pid, pane.name) for server in snap.tmux for s in server.sessions for pane in s.panes)


def sessions_running(snap: Snapshot, pid: int) -> set[str]:
    """The tmux subjects whose panes run ``pid``."""
    return {named("tmux", s.name) for server in snap.tmux for s in server.sessions
            if s.name is not None and any(p.pid == pid for p in s.panes)}


def services_of_unit(config: Config, unit: str) -> list[str]:
    """The service subjects an allowed unit restarts: a ``systemd:UNIT`` check of that unit, or a
    service named after it (``gateway`` for ``gateway.service``), as an operator would name it."""
    stem = unit.removesuffix(".service")
    return [named("service", svc.name) for svc in config.services
            if svc.check in (f"systemd:{unit}", f"systemd:{stem}") or svc.name in (unit, stem)]


def fullest_disk(snap: Snapshot) -> str | None:
    measured = [d for d in snap.disks if d.path is not None and d.percent is not None]
    if not measured:
        return None
    return named("disk", max(measured, key=lambda d: float(d.percent or 0)).path)
