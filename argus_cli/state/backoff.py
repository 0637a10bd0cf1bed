"""Per-service restart backoff (``restart-backoff.json``).

Attempt 1 runs at once, attempt 2 only ``SECOND_DELAY`` after the previous one, attempt 3
``THIRD_DELAY`` after; a 4th request inside the sequence is a restart loop: no restart, and a
cooldown starts. When the cooldown is over the sequence starts again at attempt 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from argus_cli.config import Config
from argus_cli.model import iso_z
from argus_cli.state.files import stored_number
from argus_cli.state.layout import RESTART_BACKOFF, Number, RestartBackoff, ServiceBackoff


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    attempt: int  # the attempt this restart would be
    loop: bool  # True: a restart loop was just detected
    detail: str


def _load(config: Config) -> dict[str, ServiceBackoff]:
    data = RESTART_BACKOFF.read(config.state_dir)
    return dict(data.services) if data is not None else {}


def _entry(services: dict[str, ServiceBackoff], service: str) -> ServiceBackoff:
    """``service``'s entry with every number bounded: a hand edit can leave 1e300 there."""
    entry = services.get(service) or ServiceBackoff()
    return ServiceBackoff(int(stored_number(entry.attempts) or 0), stored_number(entry.last_attempt),
                          stored_number(entry.last_success), stored_number(entry.cooldown_until))


def check(config: Config, service: str, now: float) -> Verdict:
    """May ``service`` be restarted now? Read-only."""
    entry = _entry(_load(config), service)
    attempts, cooldown = int(entry.attempts or 0), entry.cooldown_until
    if cooldown is not None:
        if now < cooldown:
            return Verdict(False, 0, False, f"restart loop cooldown until {iso_z(cooldown)}")
        attempts = 0  # cooldown served: start a new sequence
    attempt = attempts + 1
    last = entry.last_attempt
    if attempt >= 4:
        return Verdict(False, attempt, True, f"restart loop: {attempt - 1} restarts did not hold")
    delay = {2: config.restart_backoff_second_delay, 3: config.restart_backoff_third_delay}
    wait = delay.get(attempt, 0)
    if last is not None and now - last < wait:
        return Verdict(False, attempt, False, f"backoff: attempt {attempt} allowed from {iso_z(last + wait)}")
    return Verdict(True, attempt, False, f"attempt {attempt}")


def _save(config: Config, service: str, **changes: Number | None) -> None:
    services = _load(config)
    services[service] = msgspec.structs.replace(_entry(services, service), **changes)
    RESTART_BACKOFF.write(config.state_dir, RestartBackoff(services))


def record_attempt(config: Config, service: str, now: float) -> None:
    entry = _entry(_load(config), service)
    cooldown = entry.cooldown_until
    attempts = 0 if cooldown is not None and now >= cooldown else int(entry.attempts or 0)
    _save(config, service, attempts=attempts + 1, last_attempt=now, cooldown_until=None)


def record_success(config: Config, service: str, now: float) -> None:
    """A restart that held resets the sequence."""
    _save(config, service, attempts=0, last_success=now, cooldown_until=None)


def start_cooldown(config: Config, service: str, now: float) -> float:
    until = now + config.restart_cooldown_seconds
    _save(config, service, cooldown_until=until)
    return until
