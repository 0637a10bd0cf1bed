"""One pass over /proc through psutil; processes that vanish mid-read are skipped."""

from __future__ import annotations

from typing import Any

import psutil

_ATTRS = ["pid", "name", "memory_info", "create_time", "cmdline", "ppid"]


def read_process_table() -> list[dict[str, Any]]:
    table = []
    for proc in psutil.process_iter(_ATTRS):
        info = proc.info
        mem = info.get("memory_info")
        table.append({
            "pid": info["pid"],
            "ppid": info.get("ppid"),
            "name": info.get("name") or "",
            "rss_kb": (mem.rss // 1024) if mem else 0,
            "create_time": info.get("create_time"),
            "cmdline": info.get("cmdline") or [],
        })
    return table


def total_memory_kb() -> int:
    return psutil.virtual_memory().total // 1024
