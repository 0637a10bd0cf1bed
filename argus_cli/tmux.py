"""How Argus talks to a tmux server: the binary from ``ARGUS_TMUX_BIN``, the server named explicitly.

Shared by the tmux collector and the kill_tmux action, so that actions/ need not import
collectors/ to reach the same server the snapshot was read from.
"""

from __future__ import annotations

import shutil

from argus_cli.children import ToolRun, run_tool
from argus_cli.config import Config


def tmux_argv(config: Config, socket: str) -> list[str]:
    """``tmux -L default`` for the default server (named, so no inherited $TMUX can redirect it),
    or ``tmux -S PATH`` on a socket path."""
    binary = config.tmux_bin
    return [binary, "-L", "default"] if socket == "default" else [binary, "-S", socket]


def installed(config: Config) -> bool:
    return shutil.which(config.tmux_bin) is not None


def run_tmux(config: Config, socket: str, *args: str, timeout: float) -> ToolRun:
    """``tmux ARGS`` on one server, through the one child runner (own group, bounded, clean env)."""
    return run_tool([*tmux_argv(config, socket), *args], timeout=timeout)
