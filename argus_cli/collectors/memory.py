"""Memory, swap and the cgroup v2 memory limit Argus runs under (if any)."""

from __future__ import annotations

from pathlib import Path

import psutil

from argus_cli.collectors.context import CollectContext
from argus_cli.snapshot import CgroupMemory, Memory, Swap

_MB = 1024 * 1024


def collect(ctx: CollectContext) -> tuple[Memory, Swap, CgroupMemory | None]:
    vm = psutil.virtual_memory()
    sw = psutil.swap_memory()
    used = vm.total - vm.available
    memory = Memory(total_mb=vm.total // _MB, used_mb=used // _MB, available_mb=vm.available // _MB,
                    percent=round(100.0 * used / vm.total, 1) if vm.total else 0.0)
    swap = Swap(total_mb=sw.total // _MB, used_mb=sw.used // _MB, percent=round(sw.percent, 1))
    return memory, swap, cgroup_memory(Path("/proc/self/cgroup"), Path("/sys/fs/cgroup"))


def cgroup_memory(self_cgroup: Path, cgroup_root: Path) -> CgroupMemory | None:
    """current/max of our cgroup v2, or None outside cgroup v2 or without a limit file."""
    try:
        lines = self_cgroup.read_text().splitlines()
    except OSError:
        return None
    rel = next((line[3:] for line in lines if line.startswith("0::")), None)
    if rel is None:
        return None
    group = cgroup_root / rel.lstrip("/")
    try:
        current = int((group / "memory.current").read_text())
        raw_max = (group / "memory.max").read_text().strip()
    except (OSError, ValueError):
        return None
    limit = None if raw_max == "max" else int(raw_max)
    percent = round(100.0 * current / limit, 1) if limit else None
    return CgroupMemory(current_bytes=current, max_bytes=limit, percent=percent)
