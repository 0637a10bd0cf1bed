"""``cycle-state.json``: the last cycle's status and the count of failed cycles in a row (what the
self-monitor alerts on). Its name and shape live here, below both the cycle that writes it and
the collector that reports it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argus_cli.state.files import NUMBER, OPTIONAL_NUMBER, OPTIONAL_STR, check_fields, read_json

CYCLE_STATE = "cycle-state.json"


def valid_state(value: Any) -> None:
    """The shape of ``cycle-state.json``; a wrong type there is moved aside, not failed on."""
    check_fields(value, {"status": (str,), "timestamp": (str,), "detail": OPTIONAL_STR,
                         "consecutive_failures": NUMBER, "self_alert_for": OPTIONAL_NUMBER})


def read_cycle_state(state_dir: Path, *, repair: bool = True) -> dict[str, Any]:
    """The state, or {} when missing or unusable (moved aside only when ``repair``)."""
    return read_json(state_dir / CYCLE_STATE, dict, validate=valid_state, repair=repair)
