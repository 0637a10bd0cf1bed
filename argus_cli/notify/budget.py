"""What one cycle may still spend on Telegram (``ARGUS_TELEGRAM_BUDGET_SECONDS`` and
``ARGUS_TELEGRAM_MAX_PER_CYCLE``), shared by every sender of that cycle: the outbox flush, the
self-monitor and disk-guard alerts, every alert action.

Its own light module: every cycle creates one, most never send anything, and the HTTP client
(urllib, ssl) costs ~6 MiB that a quiet cycle should not pay.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from argus_cli.config import Config
from argus_cli.text import one_line


@dataclass
class DeliveryBudget:
    """A Telegram that times out must not eat the cycle: once it failed, or the time or the message
    cap is used up, ``refusal`` says why and callers queue in the outbox without trying the
    network. ``sent_ids`` are outbox entries already handed to Telegram this cycle: one is never
    sent twice in a cycle, whatever fails around it."""

    seconds: float
    max_messages: int
    clock: Callable[[], float] = time.monotonic
    messages: int = 0
    telegram_error: str | None = None
    outbox_error: str | None = None
    sent_ids: set[str] = field(default_factory=set)
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @classmethod
    def for_cycle(cls, config: Config) -> DeliveryBudget:
        return cls(config.telegram_budget_seconds, config.telegram_max_per_cycle)

    def remaining(self) -> float:
        return self.seconds - (self.clock() - self.started)

    def refusal(self) -> str | None:
        """Why no further message may go to Telegram in this cycle; None while one may."""
        if self.telegram_error is not None:
            return f"not tried, telegram failed earlier this cycle: {one_line(self.telegram_error, 200)}"
        if self.messages >= self.max_messages:
            return f"not tried, {self.max_messages} message(s) already sent this cycle (ARGUS_TELEGRAM_MAX_PER_CYCLE)"
        if self.remaining() <= 0:
            return f"not tried, delivery time used up (ARGUS_TELEGRAM_BUDGET_SECONDS={self.seconds:g})"
        return None
