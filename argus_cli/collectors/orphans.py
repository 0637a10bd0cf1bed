"""Orphaned test processes: ``ARGUS_ORPHAN_PATTERN`` matches, and the parent that started them is gone.

A match alone proves nothing: a tmux server started as ``tmux new 'node --test'`` or a shell
running ``bash -c '...; echo node --test'`` carries the words in its own argv. So a process is an
orphan only when all of these hold:

- its command line matches the pattern;
- its parent is gone: it was reparented to PID 1 or to a subreaper (``systemd --user`` and the
  usual container inits), and it is neither a session leader nor in its new parent's session
  (which is what a service or a child that init or the subreaper started itself looks like).
  A parent that is any other live process may still be waiting for it: it is left alone;
- it is not a tmux server, not a shell, not PID 1, not Argus and not one of Argus's ancestors.

It is *killable* when, on top of that, its name (comm or argv[0] basename) is on
``ARGUS_KILL_ALLOWLIST``; the others are reported, never signalled.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from argus_cli.collectors.context import CollectContext, truncate
from argus_cli.collectors.processes import process_names

# Processes that adopt orphans of their descendants (PR_SET_CHILD_SUBREAPER) on ordinary hosts and
# containers. A process whose parent is one of these was not, as a rule, started by it directly.
SUBREAPERS = frozenset({"systemd", "init", "tini", "dumb-init", "docker-init", "catatonit", "s6-svscan"})
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "tcsh", "csh", "busybox"})
REPORTED_MAX = 50  # processes listed in the snapshot; the count covers all
CMDLINE_SEARCHED = 4096  # characters of a command line the pattern is matched against


class Orphan(NamedTuple):
    pid: int
    name: str
    create_time: float | None
    killable: bool
    why_not: str  # why it may not be killed ("" when killable)


def collect(ctx: CollectContext) -> dict[str, Any]:
    config = ctx.config
    found = find_orphans(ctx.process_table(), config["ARGUS_ORPHAN_PATTERN"],
                         config["ARGUS_KILL_ALLOWLIST"], own_lineage())
    return {"orphans": describe(found, config["ARGUS_ORPHAN_PATTERN"], ctx.now)}


def own_lineage() -> frozenset[int]:
    """Argus itself and every ancestor up to init, read from /proc without psutil objects."""
    pids, pid = {0, 1}, os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        pid = _stat_field(pid, _PPID) or 0
    return frozenset(pids)


_PPID, _SESSION = 1, 3  # fields of /proc/PID/stat after the ")" that ends comm


def _stat_field(pid: int, index: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[index])  # comm may hold spaces and ')'
    except (OSError, ValueError, IndexError):
        return None


def find_orphans(table: list[dict[str, Any]], pattern: str, allowlist: Iterable[str],
                 protected: frozenset[int]) -> list[Orphan]:
    """Every orphan of ``table`` whose command line matches ``pattern``, oldest first.

    The cheap checks come first and the pattern runs on at most CMDLINE_SEARCHED characters: any
    user can start a process with a 2 MB command line, and a regex over it every cycle for every
    process would let that user stall the watchdog."""
    regex = re.compile(pattern)
    by_pid = {p["pid"]: p for p in table}
    allowed = frozenset(allowlist)
    found = []
    for proc in table:
        if not proc["cmdline"] or proc["pid"] in protected or not _parent_gone(proc, by_pid):
            continue
        if not regex.search(" ".join(proc["cmdline"])[:CMDLINE_SEARCHED]):
            continue
        why_not = never_killed(proc) or _not_allowed(proc, allowed)
        found.append(Orphan(proc["pid"], proc["name"], proc["create_time"], not why_not, why_not))
    found.sort(key=lambda o: (o.create_time or 0.0, o.pid))
    return found


def _parent_gone(proc: dict[str, Any], by_pid: dict[int, dict[str, Any]]) -> bool:
    """Was this process adopted (its parent is init or a subreaper), rather than started by it?

    Linux keeps no "original parent", so the session tells: a service or daemon that init or a
    subreaper starts leads a session of its own (systemd units, ``setsid``), and a child that
    tini or ``systemd --user`` starts directly lives in its parent's session. An adopted test
    runner still carries the session of the terminal or agent that started it."""
    ppid = proc.get("ppid")
    parent = by_pid.get(ppid) if isinstance(ppid, int) else None
    if ppid != 1 and (parent is None or parent["name"] not in SUBREAPERS):
        return False
    session = _stat_field(proc["pid"], _SESSION)
    return session is not None and session not in (proc["pid"], ppid)


def never_killed(proc: dict[str, Any]) -> str:
    """Why this process is never the sweep's to kill, whatever the allowlist says ("" if it may be)."""
    names = process_names(proc["name"], proc["cmdline"])
    if any(name.startswith("tmux") for name in names):
        return "a tmux server"
    if names & SHELLS or any(name.lstrip("-") in SHELLS for name in names):  # "-bash" is a login shell
        return "a shell"
    return ""


def _not_allowed(proc: dict[str, Any], allowed: frozenset[str]) -> str:
    names = process_names(proc["name"], proc["cmdline"])
    return "" if names & allowed else f"{'/'.join(sorted(names)) or '?'} is not in ARGUS_KILL_ALLOWLIST"


def describe(found: list[Orphan], pattern: str, now: float) -> dict[str, Any]:
    """The snapshot's ``orphans``: counts, and the identity of each process it mentions."""
    ages = [now - o.create_time for o in found if o.create_time]
    return {"pattern": pattern, "count": len(found), "killable": sum(o.killable for o in found),
            "pids": [o.pid for o in found[:REPORTED_MAX]],
            "processes": [{"pid": o.pid, "name": truncate(o.name, 64), "create_time": o.create_time,
                           "killable": o.killable, **({"why_not": o.why_not} if o.why_not else {})}
                          for o in found[:REPORTED_MAX]],
            "oldest_age_seconds": int(max(ages)) if ages else 0}
