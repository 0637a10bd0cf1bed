"""Outcome checks: what each host-changing action should change, judged on the next snapshot.

``fixed``: what the action promised holds (the service is up, the process is gone and memory
below critical, the disk below critical with bytes reclaimed, the session gone). ``worse``: it
does not, and the subject's usage rose. ``unchanged``: it does not otherwise. None: this snapshot
did not measure the subject (a collector failed), so the check waits for the next one. Pure.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import UNSET

from argus_cli.config import Config
from argus_cli.incidents.subjects import named
from argus_cli.snapshot import Snapshot
from argus_cli.state.layout import Incident, IncidentAction

Alive = Callable[[int, float | None], bool]
GONE = ("no server running", "socket does not exist")  # a server with no sessions left: answers enough


def usage(snapshot: Snapshot, subject: str) -> float | None:
    """The subject's usage in percent, for the subjects that have one."""
    if subject == "memory" and snapshot.memory is not None and snapshot.memory.percent is not None:
        return float(snapshot.memory.percent)
    if subject == "swap" and snapshot.swap is not None and snapshot.swap.percent is not None:
        return float(snapshot.swap.percent)
    disk = next((d for d in snapshot.disks if d.path is not None and named("disk", d.path) == subject), None)
    return float(disk.percent) if disk is not None and disk.percent is not None else None


def judge(action: IncidentAction, incident: Incident, snapshot: Snapshot, config: Config,
          alive: Alive | None) -> str | None:
    subject, condition = incident.subject, incident.condition
    if action.type == "restart_service":
        return _service(snapshot, subject)
    if action.type == "kill_tmux":
        sessions = {named("tmux", s.name) for server in snapshot.tmux for s in server.sessions if s.name}
        if not snapshot.tmux or any(server.detail not in (UNSET, *GONE) for server in snapshot.tmux):
            return None  # a server that did not answer could still hold the session
        return "unchanged" if named("tmux", action.target) in sessions else "fixed"
    if action.type == "kill_pid":
        return _killed(action, subject, snapshot, _limit(condition, config.memory_warn_pct, config.memory_crit_pct),
                       alive)
    if action.type == "clean_disk":
        return _cleaned(action, subject, snapshot, _limit(condition, config.disk_warn_pct, config.disk_crit_pct))
    return None


def _limit(condition: str, warn: float, crit: float) -> float:
    """The usage the incident's condition ends below: its own threshold."""
    return warn if condition == "usage>=warn" else crit


def _service(snapshot: Snapshot, subject: str) -> str | None:
    status = next((s.status for s in snapshot.services if s.name is not None and named("service", s.name) == subject),
                  None)
    if status not in ("up", "down"):
        return None  # not checked, or the check could not answer: judged when it does
    return "fixed" if status == "up" else "unchanged"


def _killed(action: IncidentAction, subject: str, snapshot: Snapshot, limit: float,
            alive: Alive | None) -> str | None:
    if alive is None or action.pid is None:
        return None
    now = usage(snapshot, subject)
    if alive(action.pid, action.create_time):
        return _rose(action, now)
    if subject == "memory":  # the hog is gone; the incident is memory, so memory decides
        if now is None:
            return None
        return "fixed" if now < limit else _rose(action, now)
    return "fixed"


def _cleaned(action: IncidentAction, subject: str, snapshot: Snapshot, limit: float) -> str | None:
    now = usage(snapshot, subject)
    if now is None:
        return None
    if not action.reclaimed:  # nothing freed: whatever the disk did, this action did not do it
        return _rose(action, now)
    return "fixed" if now < limit else _rose(action, now)


def _rose(action: IncidentAction, now: float | None) -> str:
    """``worse`` when the subject's usage rose by a point or more since the action, else ``unchanged``."""
    if now is not None and action.percent is not None and now >= float(action.percent) + 1:
        return "worse"
    return "unchanged"
