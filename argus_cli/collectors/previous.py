"""What the previous cycle left in ``cycle-state.json``."""

from __future__ import annotations

from typing import Any

from argus_cli.collectors.context import CollectContext
from argus_cli.state.cycle_state import read_cycle_state


def collect(ctx: CollectContext) -> dict[str, Any]:
    state = read_cycle_state(ctx.config.state_dir, repair=False)  # collect only reads: the cycle repairs
    if not state:
        return {"previous_cycle": None}
    return {"previous_cycle": {key: state.get(key) for key in
                               ("status", "timestamp", "detail", "consecutive_failures")}}
