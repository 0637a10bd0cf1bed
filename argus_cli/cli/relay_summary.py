"""``argus relay-summary``: the daily summary to Relay, with file and Telegram fallbacks."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from argus_cli.cli.common import load_config
from argus_cli.cli.reports_common import incident_history, io_errors, warn_skipped

if TYPE_CHECKING:  # the real import waits for the command to run (it pulls in notify)
    from pathlib import Path

    from argus_cli.notify.summary import SummaryDelivery


def command() -> None:
    """Send stats + patterns + incident counts as an argus.daily_summary event to Relay.

    When Relay is missing, failing or slow the event is appended to
    ARGUS_RELAY_SUMMARY_FALLBACK_FILE and, if Telegram is configured, the one-line summary is
    sent there. Prints the one-line summary.

    Example: argus relay-summary
    """
    from argus_cli.notify.summary import deliver_summary
    from argus_cli.reports.summary import daily_summary

    config = load_config()
    now = time.time()
    incidents = incident_history(config, now, config.stats_window_days).counts()
    with io_errors(f"reading {config.problems_file}"):  # an OSError is exit 1, never a traceback
        summary = daily_summary(config, now, incidents)
    with io_errors("keeping the summary in its fallback file (Relay did not take it)"):
        sent = deliver_summary(config, summary.payload, summary.text)
    warn_skipped(summary.scan)
    for key, count in summary.omitted.items():
        typer.echo(f"argus: summary over the Relay size limit; omitted {count} {key} entries", err=True)
    typer.echo(f"argus: {_delivery(sent, config.relay_summary_fallback_file)}", err=True)
    typer.echo(summary.text)


def _delivery(sent: SummaryDelivery, fallback: Path) -> str:
    if sent.relay == "disabled":
        return "relay summary disabled (ARGUS_RELAY_SUMMARY_ENABLED=false); nothing sent"
    if sent.relay == "sent":
        return "summary sent to relay"
    telegram = sent.telegram
    extra = "; telegram not configured" if telegram is None else (
        "; sent to telegram" if telegram.ok else f"; telegram failed: {telegram.detail}")
    return f"relay unavailable; summary appended to {fallback}{extra}"
