"""The snapshot's ``orphans``: orphaned test processes, as ``argus_cli.processes`` defines them.

The definition lives in ``argus_cli/processes.py`` because the orphan sweep (an action) must
mean the same processes; this collector only reports what it finds.
"""

from __future__ import annotations

from msgspec import UNSET

from argus_cli.collectors.context import CollectContext
from argus_cli.processes import Orphan, find_orphans, own_lineage
from argus_cli.snapshot import OrphanProcess, Orphans
from argus_cli.text import truncate

REPORTED_MAX = 50  # processes listed in the snapshot; the count covers all


def collect(ctx: CollectContext) -> Orphans:
    config = ctx.config
    found = find_orphans(ctx.process_table(), config.orphan_pattern,
                         config.kill_allowlist, own_lineage())
    return describe(found, config.orphan_pattern, ctx.now)


def describe(found: list[Orphan], pattern: str, now: float) -> Orphans:
    """The snapshot's ``orphans``: counts, and the identity of each process it mentions."""
    ages = [now - o.create_time for o in found if o.create_time]
    return Orphans(pattern=pattern, count=len(found), killable=sum(o.killable for o in found),
                   pids=tuple(o.pid for o in found[:REPORTED_MAX]),
                   processes=tuple(_process(o) for o in found[:REPORTED_MAX]),
                   oldest_age_seconds=int(max(ages)) if ages else 0)


def _process(orphan: Orphan) -> OrphanProcess:
    return OrphanProcess(pid=orphan.pid, name=truncate(orphan.name, 64), create_time=orphan.create_time,
                         killable=orphan.killable, why_not=orphan.why_not or UNSET)
