"""A stand-in for any tool that hangs: it starts a ``sleep`` grandchild, records both pids and
waits. Only a kill of the whole process group ends both before the sleep runs out."""

from __future__ import annotations

from pathlib import Path

from conftest import write_executable
from helpers_notify import wait_dead

_HANG = '''#!/bin/sh
sleep 30 &
echo "$$ $!" > "$0.hang-pids"
wait
'''


def install_hanging(bin_dir: Path, name: str) -> Path:
    return write_executable(bin_dir / name, _HANG)


def group_killed(tool: Path) -> bool:
    """True once the stand-in and its ``sleep`` are both gone (zombies count as gone)."""
    pids = tool.with_name(tool.name + ".hang-pids").read_text().split()
    return len(pids) == 2 and wait_dead([int(pid) for pid in pids])
