"""Usage of each watched mount point (``ARGUS_DISK_PATHS``)."""

from __future__ import annotations

import shutil

from argus_cli.collectors.context import CollectContext
from argus_cli.snapshot import Disk

_MB = 1024 * 1024


def collect(ctx: CollectContext) -> tuple[Disk, ...]:
    return tuple(disk_usage(path) for path in ctx.config.disk_paths)


def disk_usage(path: str) -> Disk:
    usage = shutil.disk_usage(path)
    # Like df: percent of the space a non-root user can use (reserved blocks excluded).
    usable = usage.used + usage.free
    return Disk(path=path, total_mb=usage.total // _MB, used_mb=usage.used // _MB, free_mb=usage.free // _MB,
                percent=round(100.0 * usage.used / usable, 1) if usable else 0.0)
