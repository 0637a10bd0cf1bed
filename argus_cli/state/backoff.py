"""Per-service restart backoff (``restart-backoff.json``).

Attempt 1 runs at once, attempt 2 only ``SECOND_DELAY`` after the previous one, attempt 3
``THIRD_DELAY`` after; a 4th request inside the sequence is a restart loop: no restart, and a
cooldown starts. When the cooldown is over the sequence starts again at attempt 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argus_cli.config import Config
from argus_cli.model import iso_z
from argus_cli.state.files import (
    OPTIONAL_NUMBER,
    atomic_write_json,
    check_fields,
    read_json,
    stored_number,
)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    attempt: int  # the attempt this restart would be
    loop: bool  # True: a restart loop was just detected
    detail: str


def backoff_path(config: Config) -> Path:
    return config.state_dir / "restart-backoff.json"


_ENTRY = dict.fromkeys(("attempts", "last_attempt", "last_success", "cooldown_until"), OPTIONAL_NUMBER)


def _valid(value: Any) -> None:
    check_fields(value, {"services": (dict,)})
    for service, entry in (value.get("services") or {}).items():
        check_fields(entry, _ENTRY, f"services[{service!r}]")


def _load(config: Config) -> dict[str, Any]:
    data = read_json(backoff_path(config), lambda: {"services": {}}, validate=_valid)
    if not isinstance(data.get("services"), dict):
        data["services"] = {}
    return data


def _entry(data: dict[str, Any], service: str) -> dict[str, Any]:
    entry = data["services"].get(service)
    entry = entry if isinstance(entry, dict) else {}
    times = {name: stored_number(entry.get(name)) for name in ("last_attempt", "last_success", "cooldown_until")}
    return {**entry, "attempts": int(stored_number(entry.get("attempts")) or 0), **times}


def check(config: Config, service: str, now: float) -> Verdict:
    """May ``service`` be restarted now? Read-only."""
    entry = _entry(_load(config), service)
    cooldown = entry["cooldown_until"]
    if isinstance(cooldown, int | float):
        if now < cooldown:
            return Verdict(False, 0, False, f"restart loop cooldown until {iso_z(cooldown)}")
        entry["attempts"] = 0  # cooldown served: start a new sequence
    attempt = int(entry["attempts"] or 0) + 1
    last = entry["last_attempt"] if isinstance(entry["last_attempt"], int | float) else None
    if attempt >= 4:
        return Verdict(False, attempt, True, f"restart loop: {attempt - 1} restarts did not hold")
    delay = {2: config["ARGUS_RESTART_BACKOFF_SECOND_DELAY"], 3: config["ARGUS_RESTART_BACKOFF_THIRD_DELAY"]}
    wait = delay.get(attempt, 0)
    if last is not None and now - last < wait:
        return Verdict(False, attempt, False, f"backoff: attempt {attempt} allowed from {iso_z(last + wait)}")
    return Verdict(True, attempt, False, f"attempt {attempt}")


def _save(config: Config, service: str, **changes: Any) -> None:
    data = _load(config)
    entry = _entry(data, service)
    entry.update(changes)
    data["services"][service] = entry
    atomic_write_json(backoff_path(config), data)


def record_attempt(config: Config, service: str, now: float) -> None:
    data = _load(config)
    entry = _entry(data, service)
    cooldown = entry["cooldown_until"]
    attempts = 0 if isinstance(cooldown, int | float) and now >= cooldown else int(entry["attempts"] or 0)
    _save(config, service, attempts=attempts + 1, last_attempt=now, cooldown_until=None)


def record_success(config: Config, service: str, now: float) -> None:
    """A restart that held resets the sequence."""
    _save(config, service, attempts=0, last_success=now, cooldown_until=None)


def start_cooldown(config: Config, service: str, now: float) -> float:
    until = now + config["ARGUS_RESTART_COOLDOWN_SECONDS"]
    _save(config, service, cooldown_until=until)
    return until
