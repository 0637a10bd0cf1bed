"""Processes matching ``ARGUS_ORPHAN_PATTERN`` (by default leftover ``node --test`` runs)."""

from __future__ import annotations

import os
import re
from typing import Any

from argus_cli.collectors.context import CollectContext


def collect(ctx: CollectContext) -> dict[str, Any]:
    pattern = ctx.config["ARGUS_ORPHAN_PATTERN"]
    return {"orphans": find_orphans(ctx.process_table(), pattern, ctx.now)}


def find_orphans(table: list[dict[str, Any]], pattern: str, now: float) -> dict[str, Any]:
    regex = re.compile(pattern)
    me = os.getpid()
    found = [p for p in table
             if p["pid"] != me and p["cmdline"] and regex.search(" ".join(p["cmdline"]))]
    ages = [now - p["create_time"] for p in found if p["create_time"]]
    return {"pattern": pattern, "count": len(found), "pids": sorted(p["pid"] for p in found),
            "oldest_age_seconds": int(max(ages)) if ages else 0}
