"""What the previous cycle left in ``cycle-state.json``."""

from __future__ import annotations

from typing import Any

from argus_cli.collectors.context import CollectContext
from argus_cli.state.files import read_json


def collect(ctx: CollectContext) -> dict[str, Any]:
    state = read_json(ctx.config.state_dir / "cycle-state.json", dict)
    if not state:
        return {"previous_cycle": None}
    return {"previous_cycle": {key: state.get(key) for key in
                               ("status", "timestamp", "detail", "consecutive_failures")}}
