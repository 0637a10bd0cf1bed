"""Memory-hog enrichment for alert and log descriptions (the exact form pattern analysis reads)."""

from __future__ import annotations

import re

from argus_cli.config import Config
from argus_cli.snapshot import Snapshot, TopProcess

_UNSAFE = re.compile(r"[\s,;=]")  # would break the key=value,... form


def memory_percent(snapshot: Snapshot | None) -> float | None:
    """The highest memory pressure the snapshot shows: host memory or the cgroup limit."""
    if snapshot is None:
        return None
    numbers = [float(section.percent) for section in (snapshot.memory, snapshot.cgroup_memory)
               if section is not None and section.percent is not None]
    return max(numbers) if numbers else None


def hog_suffix(snapshot: Snapshot | None, config: Config) -> str:
    """``; hog_process=...`` when memory is at or above ARGUS_MEMORY_CRIT_PCT, else ``""``."""
    percent = memory_percent(snapshot)
    hog = snapshot.memory_hog if snapshot is not None else None
    if percent is None or percent < config.memory_crit_pct or hog is None:
        return ""
    return _hog_fields(hog)


def _hog_fields(hog: TopProcess) -> str:
    name, pid, rss_kb, mem_percent, runtime = hog.name, hog.pid, hog.rss_kb, hog.mem_percent, hog.runtime
    if name is None or pid is None or rss_kb is None or mem_percent is None or runtime is None:
        return ""  # a partial hog entry: no enrichment rather than a wrong one
    return (f"; hog_process={_UNSAFE.sub('_', name) or '?'},hog_pid={pid},hog_rss_kb={int(rss_kb)},"
            f"hog_mem_pct={float(mem_percent):.1f},hog_runtime={_UNSAFE.sub('_', runtime)},"
            f"hog_kill_candidate={'yes' if hog.kill_candidate else 'no'}")
