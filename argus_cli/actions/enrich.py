"""Memory-hog enrichment for alert and log descriptions (the exact form pattern analysis reads)."""

from __future__ import annotations

import re
from typing import Any

from argus_cli.config import Config
from argus_cli.model import as_number

_UNSAFE = re.compile(r"[\s,;=]")  # would break the key=value,... form


def memory_percent(snapshot: dict[str, Any] | None) -> float | None:
    """The highest memory pressure the snapshot shows: host memory or the cgroup limit."""
    if not snapshot:
        return None
    values = [section.get("percent") for section in (snapshot.get("memory"), snapshot.get("cgroup_memory"))
              if isinstance(section, dict)]
    numbers = [n for v in values if (n := as_number(v)) is not None]
    return max(numbers) if numbers else None


def hog_suffix(snapshot: dict[str, Any] | None, config: Config) -> str:
    """``; hog_process=...`` when memory is at or above ARGUS_MEMORY_CRIT_PCT, else ``""``."""
    percent = memory_percent(snapshot)
    hog = snapshot.get("memory_hog") if snapshot else None
    if percent is None or percent < config["ARGUS_MEMORY_CRIT_PCT"] or not isinstance(hog, dict):
        return ""
    try:
        name = _UNSAFE.sub("_", str(hog["name"])) or "?"
        return (f"; hog_process={name},hog_pid={int(hog['pid'])},hog_rss_kb={int(hog['rss_kb'])},"
                f"hog_mem_pct={float(hog['mem_percent']):.1f},hog_runtime={_UNSAFE.sub('_', str(hog['runtime']))},"
                f"hog_kill_candidate={'yes' if hog.get('kill_candidate') else 'no'}")
    except (KeyError, TypeError, ValueError):
        return ""  # a partial hog entry: no enrichment rather than a wrong one
