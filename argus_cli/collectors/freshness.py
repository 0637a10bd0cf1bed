"""Freshness: has anything under PATH changed within MAX_AGE seconds?"""

from __future__ import annotations

import os

from argus_cli.collectors.context import CollectContext
from argus_cli.model import iso_z
from argus_cli.snapshot import Freshness

MAX_ENTRIES = 50_000  # bound the walk on huge trees; the newest-so-far is still a fair answer


def collect(ctx: CollectContext) -> tuple[Freshness, ...]:
    results = []
    for check in ctx.config.freshness:
        newest = newest_mtime(check.path)
        age = None if newest is None else max(0, int(ctx.now - newest))
        results.append(Freshness(
            name=check.name, path=check.path,
            last_change=None if newest is None else iso_z(newest),
            age_seconds=age,
            stale=age is None or age > check.max_age_seconds,
        ))
    return tuple(results)


def newest_mtime(path: str) -> float | None:
    """Newest mtime of PATH and everything below it, without following symlinks."""
    try:
        newest = os.lstat(path).st_mtime
    except OSError:
        return None
    stack, seen = [path], 0
    while stack and seen < MAX_ENTRIES:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    seen += 1
                    try:
                        newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                    except OSError:
                        continue
        except OSError:
            continue
    return newest
