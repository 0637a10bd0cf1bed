"""The snapshot's ``orphans``: orphaned test processes, as ``argus_cli.processes`` defines them.

The definition lives in ``argus_cli/processes.py`` because the orphan sweep (an action) must
mean the same processes; this collector only reports what it finds.
"""

from __future__ import annotations

from typing import Any

from argus_cli.collectors.context import CollectContext
from argus_cli.processes import Orphan, find_orphans, own_lineage
from argus_cli.text import truncate

REPORTED_MAX = 50  # processes listed in the snapshot; the count covers all


def collect(ctx: CollectContext) -> dict[str, Any]:
    config = ctx.config
    found = find_orphans(ctx.process_table(), config["ARGUS_ORPHAN_PATTERN"],
                         config["ARGUS_KILL_ALLOWLIST"], own_lineage())
    return {"orphans": describe(found, config["ARGUS_ORPHAN_PATTERN"], ctx.now)}


def describe(found: list[Orphan], pattern: str, now: float) -> dict[str, Any]:
    """The snapshot's ``orphans``: counts, and the identity of each process it mentions."""
    ages = [now - o.create_time for o in found if o.create_time]
    return {"pattern": pattern, "count": len(found), "killable": sum(o.killable for o in found),
            "pids": [o.pid for o in found[:REPORTED_MAX]],
            "processes": [{"pid": o.pid, "name": truncate(o.name, 64), "create_time": o.create_time,
                           "killable": o.killable, **({"why_not": o.why_not} if o.why_not else {})}
                          for o in found[:REPORTED_MAX]],
            "oldest_age_seconds": int(max(ages)) if ages else 0}
