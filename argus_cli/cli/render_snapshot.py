"""The human view of a snapshot: what an operator should read in five seconds."""

from __future__ import annotations

from typing import Any

from argus_cli.config import Config
from argus_cli.snapshot import ServiceStatus, Snapshot

_WARN, _CRIT = "yellow", "bold red"
# Colour is not the only mark: piped, in a mail or for a colour-blind reader the word says it.
_WORDS = {_WARN: "WARN", _CRIT: "CRIT"}


def _level(value: float | None, warn: float, crit: float) -> str:
    if value is None:
        return "dim"
    return _CRIT if value >= crit else _WARN if value >= warn else "green"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m {rest % 60}s"


def _num(value: float | None, spec: str) -> str:
    return "?" if value is None else format(value, spec)


def gauges(snapshot: Snapshot, config: Config) -> list[tuple[str, str, str]]:
    """(label, value text, style) rows for the resource table."""
    rows: list[tuple[str, str, str]] = []
    sysinfo = snapshot.system
    if sysinfo is not None:
        per_core = sysinfo.load_per_core
        factor = config.load_factor
        rows.append(("cpu", f"{_num(sysinfo.cpu_percent, '.0f')}% busy", _level(sysinfo.cpu_percent, 80, 95)))
        rows.append(("load", f"{' '.join(f'{x:.2f}' for x in sysinfo.load)}  ({_num(per_core, '.2f')}/core of "
                     f"{sysinfo.cpu_count})", _level(per_core, factor * 0.75, factor)))
    mem = snapshot.memory
    if mem is not None:
        rows.append(("memory", f"{_num(mem.percent, '.0f')}%  {mem.used_mb}/{mem.total_mb} MB",
                     _level(mem.percent, config.memory_warn_pct, config.memory_crit_pct)))
    swap = snapshot.swap
    if swap is not None and swap.total_mb:
        warn = config.swap_warn_pct
        rows.append(("swap", f"{_num(swap.percent, '.0f')}%  {swap.used_mb}/{swap.total_mb} MB",
                     _level(swap.percent, warn, 101)))
    cg = snapshot.cgroup_memory
    if cg is not None and cg.max_bytes:
        rows.append(("cgroup", f"{_num(cg.percent, '.0f')}% of {cg.max_bytes // 1048576} MB",
                     _level(cg.percent, config.memory_warn_pct, config.memory_crit_pct)))
    for disk in snapshot.disks:
        rows.append((f"disk {disk.path}", f"{_num(disk.percent, '.0f')}%  {disk.free_mb} MB free",
                     _level(disk.percent, config.disk_warn_pct, config.disk_crit_pct)))
    return rows


def render(console: Any, snapshot: Snapshot, config: Config) -> None:
    """One line per resource, the label column aligned; a gauge at or past a threshold ends in
    ``WARN`` or ``CRIT`` as well as its colour. No line ends in spaces."""
    from rich.text import Text

    uptime = _duration(snapshot.system.uptime_seconds if snapshot.system else None)
    console.print(Text.assemble((snapshot.host or "?", "bold"), f"  {snapshot.ts}  up {uptime}"))
    rows = [(label, value + (f"  {_WORDS[style]}" if style in _WORDS else ""), style)
            for label, value, style in gauges(snapshot, config)]
    hog = snapshot.memory_hog
    if hog is not None:
        flag = " (kill candidate)" if hog.kill_candidate else ""
        rss_mb = "?" if hog.rss_kb is None else hog.rss_kb // 1024
        rows.append(("top rss", f"{hog.name} pid {hog.pid}  {rss_mb} MB {hog.mem_percent}%  up {hog.runtime}{flag}",
                     ""))
    width = max((len(label) for label, _, _ in rows), default=0) + 2
    for label, value, style in rows:  # Text, not markup: a process name is host data
        console.print(Text.assemble(label.ljust(width), (value.rstrip(), style)))
    _render_lists(console, snapshot, Text)


def _service_detail(svc: ServiceStatus) -> str:
    """The detail, led by the HTTP status code when the check got one (a snapshot from a file may
    carry the code without a detail that says it)."""
    detail = svc.detail or ""
    code = svc.http_status
    if code is None or detail.startswith(f"HTTP {code}"):
        return detail
    return f"HTTP {code}  {detail}".rstrip()


def _render_lists(console: Any, snapshot: Snapshot, text: Any) -> None:
    for svc in snapshot.services:
        style = {"up": "green", "down": "bold red"}.get(svc.status or "", "yellow")
        detail = _service_detail(svc)
        console.print(text.assemble("service ", (f"{svc.name} {svc.status}", style), f"  {detail}" if detail else ""))
    orphans = snapshot.orphans
    if orphans is not None and orphans.count:
        killable = orphans.count if orphans.killable is None else orphans.killable
        console.print(text(f"orphans  {orphans.count} matching {orphans.pattern!r} ({killable} killable), "
                           f"oldest {_duration(orphans.oldest_age_seconds)}: pids {list(orphans.pids[:10])}",
                           "yellow"))
    for server in snapshot.tmux:
        names = ", ".join(f"{s.name}({s.windows})" for s in server.sessions) or "no sessions"
        console.print(f"tmux {server.socket}: {names}", markup=False)  # session names are host data
    for item in snapshot.freshness:
        style = "bold red" if item.stale else "green"
        console.print(text.assemble("fresh ", (f"{item.name} {'STALE' if item.stale else 'ok'}", style),
                                    f"  last change {item.last_change or 'never'}"))
    prev = snapshot.previous_cycle
    if prev is not None:
        failures = prev.consecutive_failures
        streak = f" ({failures} failures in a row)" if failures else ""
        console.print(f"last cycle: {prev.status} at {prev.timestamp}{streak}", markup=False)
    for err in snapshot.errors:
        console.print(text(f"collector {err.collector} failed: {err.error}", "bold red"))
