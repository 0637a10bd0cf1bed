"""tmux sessions on each configured server (``default`` or a socket path)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from argus_cli.collectors.context import CollectContext, truncate
from argus_cli.redaction import child_env

_FORMAT = "#{session_name}\t#{session_windows}\t#{session_created}\t#{session_activity}\t#{session_attached}"
TMUX_TIMEOUT = 3.0


def tmux_argv(socket: str) -> list[str]:
    """``tmux`` on the default server, or ``tmux -S PATH`` on a socket path."""
    return ["tmux"] if socket == "default" else ["tmux", "-S", socket]


def collect(ctx: CollectContext) -> dict[str, Any]:
    return {"tmux": [list_sessions(sock) for sock in ctx.config["ARGUS_TMUX_SOCKETS"]]}


def socket_path(socket: str) -> Path:
    """Where the server listens: a path as given, or tmux's own default location."""
    if socket != "default":
        return Path(socket)
    return Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / "default"  # noqa: S108


def list_sessions(socket: str) -> dict[str, Any]:
    """Sessions on one server; no server, no socket or no tmux is an empty list, not an error."""
    entry: dict[str, Any] = {"socket": socket, "sessions": []}
    if shutil.which("tmux") is None:
        return {**entry, "detail": "tmux not installed"}
    if not socket_path(socket).exists():  # no server: skip spawning tmux just to hear that
        return {**entry, "detail": "socket does not exist" if socket != "default" else "no server running"}
    proc = subprocess.run([*tmux_argv(socket), "list-sessions", "-F", _FORMAT], capture_output=True,
                          text=True, timeout=TMUX_TIMEOUT, check=False, env=child_env())
    if proc.returncode != 0:
        return {**entry, "detail": truncate(proc.stderr.strip() or "no server running", 200)}
    entry["sessions"] = [_session(line) for line in proc.stdout.splitlines() if line]
    return entry


def _session(line: str) -> dict[str, Any]:
    name, windows, created, activity, attached = line.rsplit("\t", 4)
    return {"name": truncate(name, 64), "windows": int(windows), "created": int(created),
            "last_activity": int(activity), "attached": attached not in ("", "0")}
