"""Delivery of the daily summary (``argus relay-summary``): Relay first, then the fallbacks.

``reports/summary.py`` builds the event; this module only sends it, so reports stay pure
aggregation (docs/ARCHITECTURE.md §2). On any Relay failure the event goes to the summary
fallback file (inside ``send_relay``) and, when Telegram is configured, the one-line summary
goes there too.
"""

from __future__ import annotations

from dataclasses import dataclass

from argus_cli.config import Config
from argus_cli.notify.relay import SUMMARY_TAGS, send_relay
from argus_cli.notify.telegram import Delivery, send_message


@dataclass(frozen=True)
class SummaryDelivery:
    relay: str  # "sent" | "fallback" | "disabled"
    telegram: Delivery | None = None  # only when Relay failed and Telegram is configured


def deliver_summary(config: Config, payload: dict[str, object], text: str) -> SummaryDelivery:
    """Send the summary event; never raises for a delivery failure, only the OSError of a fallback
    file that cannot take it (the summary would be lost: the command says so and fails)."""
    if not config.relay_summary_enabled:
        return SummaryDelivery("disabled")
    fallback = config.relay_summary_fallback_file
    if send_relay(config, payload, tags=SUMMARY_TAGS, fallback_file=fallback, priority="medium", strict=True):
        return SummaryDelivery("sent")
    return SummaryDelivery("fallback", send_message(config, text) if config.telegram_configured else None)
