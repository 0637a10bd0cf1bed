"""``argus relay-summary``: the daily summary to Relay, with file and Telegram fallbacks."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from argus_cli.cli.common import emit_json, load_config
from argus_cli.cli.reports_common import incident_history, io_errors, warn_skipped

if TYPE_CHECKING:  # the real import waits for the command to run (it pulls in notify)
    from pathlib import Path

    from argus_cli.notify.summary import SummaryDelivery


def command(
    window_days: Annotated[Optional[int], typer.Option(
        "--window-days", min=1, max=3650,
        help="Days the summary covers, this run only (default ARGUS_STATS_WINDOW_DAYS and "
             "ARGUS_PATTERN_WINDOW_DAYS).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Build the summary, send nothing.")] = False,
    print_event: Annotated[bool, typer.Option("--print", help="Print the whole event as JSON instead of the "
                                                              "one-line summary.")] = False,
) -> None:
    """Send stats + patterns + incident counts as an argus.daily_summary event to Relay.

    When Relay is missing, failing or slow the event is appended to
    ARGUS_RELAY_SUMMARY_FALLBACK_FILE and, if Telegram is configured, the one-line summary is
    sent there. Prints the one-line summary, which ends with the window it covers.

    Example: argus relay-summary --window-days 1 --dry-run --print
    """
    from argus_cli.reports.summary import daily_summary

    config = load_config()
    now = time.time()
    incidents = incident_history(config, now, window_days or config.stats_window_days).counts()
    with io_errors(f"reading {config.problems_file}"):  # an OSError is exit 1, never a traceback
        summary = daily_summary(config, now, incidents, window_days)
    warn_skipped(summary.scan)
    for key, count in summary.omitted.items():
        typer.echo(f"argus: summary over the Relay size limit; omitted {count} {key} entries", err=True)
    if dry_run:
        typer.echo("argus: dry run: nothing sent to Relay, the fallback file or Telegram", err=True)
    else:
        from argus_cli.notify.summary import deliver_summary
        with io_errors("keeping the summary in its fallback file (Relay did not take it)"):
            sent = deliver_summary(config, summary.payload, summary.text)
        typer.echo(f"argus: {_delivery(sent, config.relay_summary_fallback_file)}", err=True)
    if print_event:
        emit_json(summary.payload)
    else:
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
