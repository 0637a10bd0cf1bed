"""tmux sessions on each configured server (``default`` or a socket path)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from argus_cli.collectors.context import CollectContext
from argus_cli.config import Config
from argus_cli.snapshot import TmuxPane, TmuxServer, TmuxSession
from argus_cli.text import truncate
from argus_cli.tmux import installed, run_tmux

if TYPE_CHECKING:
    from argus_cli.processes import ProcessRow

_FORMAT = "#{session_name}\t#{session_windows}\t#{session_created}\t#{session_activity}\t#{session_attached}"
TMUX_TIMEOUT = 3.0


def collect(ctx: CollectContext) -> tuple[TmuxServer, ...]:
    table = {p.pid: p for p in ctx.process_table()}
    return tuple(list_sessions(ctx.config, sock, table) for sock in ctx.config.tmux_sockets)


def socket_path(socket: str) -> Path:
    """Where the server listens: a path as given, or tmux's own default location."""
    if socket != "default":
        return Path(socket)
    return Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / "default"  # noqa: S108


def list_sessions(config: Config, socket: str, table: dict[int, ProcessRow] | None = None) -> TmuxServer:
    """Sessions on one server; no server, no socket or no tmux is no sessions and a detail, not an error."""
    if not installed(config):
        return TmuxServer(socket=socket, detail="tmux not installed")
    if not socket_path(socket).exists():  # no server: skip spawning tmux just to hear that
        return TmuxServer(socket=socket, detail="socket does not exist" if socket != "default" else "no server running")
    run = run_tmux(config, socket, "list-sessions", "-F", _FORMAT, timeout=TMUX_TIMEOUT)
    if run.error:  # a hung tmux is this server's detail, not the whole collector's failure
        return TmuxServer(socket=socket, detail=truncate(run.error, 200))
    if run.returncode != 0:
        return TmuxServer(socket=socket, detail=truncate(run.stderr.strip() or "no server running", 200))
    lines = [line for line in run.stdout.splitlines() if line]
    panes = _panes(config, socket, table) if table is not None else {}
    return TmuxServer(socket=socket, sessions=tuple(_session(line, panes) for line in lines))


def _panes(config: Config, socket: str, table: dict[int, ProcessRow]) -> dict[str, tuple[TmuxPane, ...]]:
    """Each session's pane processes with their identity (pid, name, start time): kill_pid may
    target only a process the snapshot showed, and must find it still the same process."""
    run = run_tmux(config, socket, "list-panes", "-a", "-F", "#{session_name}\t#{pane_pid}", timeout=TMUX_TIMEOUT)
    panes: dict[str, list[TmuxPane]] = {}
    for line in run.stdout.splitlines() if run.ok else []:
        name, _, pid_text = line.rpartition("\t")
        known = table.get(int(pid_text)) if pid_text.isdigit() else None
        if known is not None:
            panes.setdefault(truncate(name, 64), []).append(
                TmuxPane(pid=known.pid, name=truncate(known.name, 64), create_time=known.create_time))
    return {name: tuple(found) for name, found in panes.items()}


def _session(line: str, panes: dict[str, tuple[TmuxPane, ...]]) -> TmuxSession:
    name, windows, created, activity, attached = line.rsplit("\t", 4)
    name = truncate(name, 64)
    return TmuxSession(name=name, windows=int(windows), created=int(created), last_activity=int(activity),
                       attached=attached not in ("", "0"), panes=panes.get(name, ()))
