"""tmux sessions on each configured server (``default`` or a socket path)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from argus_cli.collectors.context import CollectContext
from argus_cli.config import Config
from argus_cli.text import truncate
from argus_cli.tmux import installed, run_tmux

_FORMAT = "#{session_name}\t#{session_windows}\t#{session_created}\t#{session_activity}\t#{session_attached}"
TMUX_TIMEOUT = 3.0


def collect(ctx: CollectContext) -> dict[str, Any]:
    table = {p["pid"]: p for p in ctx.process_table()}
    return {"tmux": [list_sessions(ctx.config, sock, table) for sock in ctx.config["ARGUS_TMUX_SOCKETS"]]}


def socket_path(socket: str) -> Path:
    """Where the server listens: a path as given, or tmux's own default location."""
    if socket != "default":
        return Path(socket)
    return Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / "default"  # noqa: S108


def list_sessions(config: Config, socket: str, table: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Sessions on one server; no server, no socket or no tmux is an empty list, not an error."""
    entry: dict[str, Any] = {"socket": socket, "sessions": []}
    if not installed(config):
        return {**entry, "detail": "tmux not installed"}
    if not socket_path(socket).exists():  # no server: skip spawning tmux just to hear that
        return {**entry, "detail": "socket does not exist" if socket != "default" else "no server running"}
    run = run_tmux(config, socket, "list-sessions", "-F", _FORMAT, timeout=TMUX_TIMEOUT)
    if run.error:  # a hung tmux is this server's detail, not the whole collector's failure
        return {**entry, "detail": truncate(run.error, 200)}
    if run.returncode != 0:
        return {**entry, "detail": truncate(run.stderr.strip() or "no server running", 200)}
    entry["sessions"] = [_session(line) for line in run.stdout.splitlines() if line]
    if table is not None:
        _add_panes(config, socket, entry["sessions"], table)
    return entry


def _add_panes(config: Config, socket: str, sessions: list[dict[str, Any]],
               table: dict[int, dict[str, Any]]) -> None:
    """Each session's pane processes with their identity (pid, name, start time): kill_pid may
    target only a process the snapshot showed, and must find it still the same process."""
    run = run_tmux(config, socket, "list-panes", "-a", "-F", "#{session_name}\t#{pane_pid}", timeout=TMUX_TIMEOUT)
    panes: dict[str, list[dict[str, Any]]] = {}
    for line in run.stdout.splitlines() if run.ok else []:
        name, _, pid_text = line.rpartition("\t")
        known = table.get(int(pid_text)) if pid_text.isdigit() else None
        if known is not None:
            panes.setdefault(truncate(name, 64), []).append(
                {"pid": known["pid"], "name": truncate(known["name"], 64), "create_time": known["create_time"]})
    for session in sessions:
        session["panes"] = panes.get(session["name"], [])


def _session(line: str) -> dict[str, Any]:
    name, windows, created, activity, attached = line.rsplit("\t", 4)
    return {"name": truncate(name, 64), "windows": int(windows), "created": int(created),
            "last_activity": int(activity), "attached": attached not in ("", "0")}
