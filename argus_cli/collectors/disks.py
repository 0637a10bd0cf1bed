"""Usage of each watched mount point (``ARGUS_DISK_PATHS``).

Each path is measured on its own: one that cannot be (missing, unreadable) is one ``errors``
entry naming it, and every other path is still measured. A path that is not a mount point is
measured as the filesystem it is on; ``argus doctor`` warns about it.
"""

from __future__ import annotations

import shutil

from argus_cli.collectors import Partial
from argus_cli.collectors.context import CollectContext
from argus_cli.snapshot import Disk
from argus_cli.text import ONE_LINE_MAX, truncate

_MB = 1024 * 1024


def collect(ctx: CollectContext) -> Partial[tuple[Disk, ...]]:
    disks: list[Disk] = []
    errors: list[str] = []
    for path in ctx.config.disk_paths:
        try:
            disks.append(disk_usage(path))
        except (OSError, ValueError) as exc:  # ValueError: a path no system call accepts (a NUL byte)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            errors.append(truncate(f"{path}: {reason}", ONE_LINE_MAX))
    return Partial(tuple(disks), tuple(errors))


def disk_usage(path: str) -> Disk:
    usage = shutil.disk_usage(path)
    # Like df: percent of the space a non-root user can use (reserved blocks excluded).
    usable = usage.used + usage.free
    return Disk(path=path, total_mb=usage.total // _MB, used_mb=usage.used // _MB, free_mb=usage.free // _MB,
                percent=round(100.0 * usage.used / usable, 1) if usable else 0.0)
