"""The human view of a snapshot: what an operator should read in five seconds."""

from __future__ import annotations

from typing import Any

from argus_cli.config import Config


def _level(value: float | None, warn: float, crit: float) -> str:
    if value is None:
        return "dim"
    return "bold red" if value >= crit else "yellow" if value >= warn else "green"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m {rest % 60}s"


def gauges(snapshot: dict[str, Any], config: Config) -> list[tuple[str, str, str]]:
    """(label, value text, style) rows for the resource table."""
    rows: list[tuple[str, str, str]] = []
    sysinfo = snapshot.get("system") or {}
    if sysinfo:
        per_core = sysinfo["load_per_core"]
        factor = config["ARGUS_LOAD_FACTOR"]
        rows.append(("cpu", f"{sysinfo['cpu_percent']:.0f}% busy", _level(sysinfo["cpu_percent"], 80, 95)))
        rows.append(("load", f"{' '.join(f'{x:.2f}' for x in sysinfo['load'])}  ({per_core:.2f}/core of "
                     f"{sysinfo['cpu_count']})", _level(per_core, factor * 0.75, factor)))
    mem = snapshot.get("memory")
    if mem:
        rows.append(("memory", f"{mem['percent']:.0f}%  {mem['used_mb']}/{mem['total_mb']} MB",
                     _level(mem["percent"], config["ARGUS_MEMORY_WARN_PCT"], config["ARGUS_MEMORY_CRIT_PCT"])))
    swap = snapshot.get("swap")
    if swap and swap["total_mb"]:
        warn = config["ARGUS_SWAP_WARN_PCT"]
        rows.append(("swap", f"{swap['percent']:.0f}%  {swap['used_mb']}/{swap['total_mb']} MB",
                     _level(swap["percent"], warn, 101)))
    cg = snapshot.get("cgroup_memory")
    if cg and cg.get("max_bytes"):
        rows.append(("cgroup", f"{cg['percent']:.0f}% of {cg['max_bytes'] // 1048576} MB",
                     _level(cg["percent"], config["ARGUS_MEMORY_WARN_PCT"], config["ARGUS_MEMORY_CRIT_PCT"])))
    for disk in snapshot.get("disks") or []:
        rows.append((f"disk {disk['path']}", f"{disk['percent']:.0f}%  {disk['free_mb']} MB free",
                     _level(disk["percent"], config["ARGUS_DISK_WARN_PCT"], config["ARGUS_DISK_CRIT_PCT"])))
    return rows


def render(console: Any, snapshot: dict[str, Any], config: Config) -> None:
    from rich.table import Table
    from rich.text import Text

    uptime = _duration((snapshot.get("system") or {}).get("uptime_seconds"))
    console.print(Text.assemble((snapshot["host"], "bold"), f"  {snapshot['ts']}  up {uptime}"))
    table = Table(show_header=False, box=None, pad_edge=False)
    for label, value, style in gauges(snapshot, config):
        table.add_row(label, Text(value, style=style))
    hog = snapshot.get("memory_hog")
    if hog:
        flag = " (kill candidate)" if hog["kill_candidate"] else ""
        table.add_row("top rss", Text(f"{hog['name']} pid {hog['pid']}  {hog['rss_kb'] // 1024} MB "
                                      f"{hog['mem_percent']}%  up {hog['runtime']}{flag}"))
    console.print(table)
    _render_lists(console, snapshot, Text)


def _render_lists(console: Any, snapshot: dict[str, Any], text: Any) -> None:
    for svc in snapshot.get("services") or []:
        style = {"up": "green", "down": "bold red"}.get(svc["status"], "yellow")
        console.print(text.assemble("service ", (f"{svc['name']} {svc['status']}", style), f"  {svc['detail']}"))
    orphans = snapshot.get("orphans")
    if orphans and orphans["count"]:
        killable = orphans.get("killable", orphans["count"])
        console.print(text(f"orphans  {orphans['count']} matching {orphans['pattern']!r} ({killable} killable), "
                           f"oldest {_duration(orphans['oldest_age_seconds'])}: pids {orphans['pids'][:10]}", "yellow"))
    for server in snapshot.get("tmux") or []:
        names = ", ".join(f"{s['name']}({s['windows']})" for s in server["sessions"]) or "no sessions"
        console.print(f"tmux {server['socket']}: {names}", markup=False)  # session names are host data
    for item in snapshot.get("freshness") or []:
        style = "bold red" if item["stale"] else "green"
        console.print(text.assemble("fresh ", (f"{item['name']} {'STALE' if item['stale'] else 'ok'}", style),
                                    f"  last change {item['last_change'] or 'never'}"))
    prev = snapshot.get("previous_cycle")
    if prev:
        failures = prev.get("consecutive_failures")
        streak = f" ({failures} failures in a row)" if failures else ""
        console.print(f"last cycle: {prev['status']} at {prev['timestamp']}{streak}", markup=False)
    for err in snapshot.get("errors") or []:
        console.print(text(f"collector {err['collector']} failed: {err['error']}", "bold red"))
