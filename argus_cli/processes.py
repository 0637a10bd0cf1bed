"""Process identity: the process table, the names a process answers to, and what an orphan is.

Collectors report these facts and actions act on them; both must mean the same process by the
same words, so the definitions live here, below both layers (docs/ARCHITECTURE.md §2, §3).

A pattern match alone proves nothing: a tmux server started as ``tmux new 'node --test'`` or a
shell running ``bash -c '...; echo node --test'`` carries the words in its own argv. So a process
is an orphan only when all of these hold:

- its command line matches the pattern (``ARGUS_ORPHAN_PATTERN``);
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
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import psutil
from msgspec import Struct

# Processes that adopt orphans of their descendants (PR_SET_CHILD_SUBREAPER) on ordinary hosts and
# containers. A process whose parent is one of these was not, as a rule, started by it directly.
SUBREAPERS = frozenset({"systemd", "init", "tini", "dumb-init", "docker-init", "catatonit", "s6-svscan"})
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "fish", "tcsh", "csh", "busybox"})
CMDLINE_SEARCHED = 4096  # characters of a command line the pattern is matched against

_ATTRS = ["pid", "name", "memory_info", "create_time", "cmdline", "ppid"]


class Orphan(NamedTuple):
    pid: int
    name: str
    create_time: float | None
    killable: bool
    why_not: str  # why it may not be killed ("" when killable)


class ProcessRow(Struct, frozen=True):
    """One process as the table read it; psutil's None (access denied) is kept as unknown."""

    pid: int
    ppid: int | None
    name: str
    rss_kb: int
    create_time: float | None
    cmdline: tuple[str, ...]


def read_process_table() -> list[ProcessRow]:
    """One pass over /proc through psutil; processes that vanish mid-read are skipped."""
    table = []
    for proc in psutil.process_iter(_ATTRS):
        info = proc.info
        mem = info.get("memory_info")
        table.append(ProcessRow(pid=info["pid"], ppid=info.get("ppid"), name=info.get("name") or "",
                                rss_kb=(mem.rss // 1024) if mem else 0, create_time=info.get("create_time"),
                                cmdline=tuple(info.get("cmdline") or ())))
    return table


def process_names(comm: str, cmdline: Sequence[str]) -> set[str]:
    """The names a process answers to: its comm and the basename of its argv[0]."""
    names = {comm} if comm else set()
    if cmdline and cmdline[0]:
        names.add(cmdline[0].rsplit("/", 1)[-1])
    return names


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


def find_orphans(table: list[ProcessRow], pattern: str, allowlist: Iterable[str],
                 protected: frozenset[int]) -> list[Orphan]:
    """Every orphan of ``table`` whose command line matches ``pattern``, oldest first.

    The cheap checks come first and the pattern runs on at most CMDLINE_SEARCHED characters: any
    user can start a process with a 2 MB command line, and a regex over it every cycle for every
    process would let that user stall the watchdog."""
    regex = re.compile(pattern)
    by_pid = {p.pid: p for p in table}
    allowed = frozenset(allowlist)
    found = []
    for proc in table:  # cheapest test first: most processes fail the parent test in memory
        if not proc.cmdline or proc.pid in protected or not _adopted(proc, by_pid):
            continue
        if not regex.search(" ".join(proc.cmdline)[:CMDLINE_SEARCHED]) or not _session_is_elsewhere(proc):
            continue
        why_not = never_killed(proc) or _not_allowed(proc, allowed)
        found.append(Orphan(proc.pid, proc.name, proc.create_time, not why_not, why_not))
    found.sort(key=lambda o: (o.create_time or 0.0, o.pid))
    return found


def _adopted(proc: ProcessRow, by_pid: dict[int, ProcessRow]) -> bool:
    """Its parent is init or a known subreaper: it may have been adopted (see below)."""
    parent = by_pid.get(proc.ppid) if proc.ppid is not None else None
    return proc.ppid == 1 or (parent is not None and parent.name in SUBREAPERS)


def _session_is_elsewhere(proc: ProcessRow) -> bool:
    """Was this process adopted by its init or subreaper parent, rather than started by it?

    Linux keeps no "original parent", so the session tells: a service or daemon that init or a
    subreaper starts leads a session of its own (systemd units, ``setsid``), and a child that
    tini or ``systemd --user`` starts directly lives in its parent's session. An adopted test
    runner still carries the session of the terminal or agent that started it."""
    session = _stat_field(proc.pid, _SESSION)
    return session is not None and session not in (proc.pid, proc.ppid)


def never_killed(proc: ProcessRow) -> str:
    """Why this process is never the sweep's to kill, whatever the allowlist says ("" if it may be)."""
    names = process_names(proc.name, proc.cmdline)
    if any(name.startswith("tmux") for name in names):
        return "a tmux server"
    if names & SHELLS or any(name.lstrip("-") in SHELLS for name in names):  # "-bash" is a login shell
        return "a shell"
    return ""


def _not_allowed(proc: ProcessRow, allowed: frozenset[str]) -> str:
    names = process_names(proc.name, proc.cmdline)
    return "" if names & allowed else f"{'/'.join(sorted(names)) or '?'} is not in ARGUS_KILL_ALLOWLIST"
