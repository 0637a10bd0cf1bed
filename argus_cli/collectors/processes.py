"""The memory hog and the five largest processes by RSS."""

from __future__ import annotations

import os

import psutil

from argus_cli.collectors.context import CollectContext
from argus_cli.processes import ProcessRow, process_names
from argus_cli.snapshot import TopProcess
from argus_cli.text import truncate


def etime(seconds: float) -> str:
    """Elapsed time as ``ps -o etime`` prints it: ``[[D-]HH:]MM:SS``."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def collect(ctx: CollectContext) -> tuple[TopProcess | None, tuple[TopProcess, ...]]:
    table = sorted(ctx.process_table(), key=lambda p: p.rss_kb, reverse=True)
    total_kb = total_memory_kb() or 1
    allow = set(ctx.config.kill_allowlist)
    top = tuple(_describe(p, ctx.now, total_kb, allow) for p in table[:5])
    # The hog is what alerts name and kill_pid may target: never Argus itself (it cannot be
    # acted on, and on a quiet host it would otherwise be "the largest process").
    me = os.getpid()
    hog = next((_describe(p, ctx.now, total_kb, allow) for p in table if p.pid != me), None)
    return hog, top


def _describe(proc: ProcessRow, now: float, total_kb: int, allow: set[str]) -> TopProcess:
    created = proc.create_time or now
    return TopProcess(
        pid=proc.pid,
        name=truncate(proc.name, 64),
        rss_kb=proc.rss_kb,
        mem_percent=round(100.0 * proc.rss_kb / total_kb, 1),
        runtime=etime(now - created),
        create_time=proc.create_time,
        kill_candidate=bool(process_names(proc.name, proc.cmdline) & allow),
    )


def total_memory_kb() -> int:
    return int(psutil.virtual_memory().total) // 1024
