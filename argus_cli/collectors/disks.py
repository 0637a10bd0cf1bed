"""Usage of each watched mount point (``ARGUS_DISK_PATHS``)."""

from __future__ import annotations

import shutil
from typing import Any

from argus_cli.collectors.context import CollectContext

_MB = 1024 * 1024


def collect(ctx: CollectContext) -> dict[str, Any]:
    return {"disks": [disk_usage(path) for path in ctx.config["ARGUS_DISK_PATHS"]]}


def disk_usage(path: str) -> dict[str, Any]:
    usage = shutil.disk_usage(path)
    # Like df: percent of the space a non-root user can use (reserved blocks excluded).
    usable = usage.used + usage.free
    return {"path": path, "total_mb": usage.total // _MB, "used_mb": usage.used // _MB,
            "free_mb": usage.free // _MB,
            "percent": round(100.0 * usage.used / usable, 1) if usable else 0.0}
