"""What the previous cycle left in ``cycle-state.json``."""

from __future__ import annotations

from argus_cli.collectors.context import CollectContext
from argus_cli.snapshot import PreviousCycle
from argus_cli.state import layout


def collect(ctx: CollectContext) -> PreviousCycle | None:
    state = layout.CYCLE_STATE.read(ctx.config.state_dir)  # moved aside only by the cycle, which owns it
    if state is None:
        return None
    failures = state.consecutive_failures
    return PreviousCycle(status=state.status or None, timestamp=state.timestamp or None, detail=state.detail,
                         consecutive_failures=failures if isinstance(failures, int | float) else None)
