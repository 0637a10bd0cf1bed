"""``argus status``: one line on the host's health, fit for a MOTD or a shell prompt, and an exit
code by it (0 ok, 1 warning or blind, 2 critical, or no recent cycle). It only reads."""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from typing import Annotated

import typer

from argus_cli.cli.common import emit_json, load_config
from argus_cli.config import Config
from argus_cli.text import one_line, truncate

STALE_SECONDS = 900  # three missed five-minute cycles: the watchdog itself is not running
EXIT = {"ok": 0, "warning": 1, "blind": 1, "critical": 2, "stale": 2, "unknown": 2}
SHOWN = 3  # open incidents named on the line; the rest are counted


def command(
    json_out: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """One line: health, the open incidents, when the last cycle ran and who decided.

    Health is the last cycle's: critical, warning, blind (nothing wrong in what Argus saw, but it
    could not see everything), ok; stale when no cycle ran for 15 minutes. Exit code 0 ok, 1
    warning or blind, 2 critical, stale or no cycle recorded.

    Example: argus status || echo "look at the host"
    """
    from argus_cli.runtime.records import last_cycle_line
    from argus_cli.state.layout import INCIDENTS

    config = load_config()
    now = time.time()
    line = last_cycle_line(config)
    book = INCIDENTS.read(config.state_dir, report=lambda message: None)
    # a hand-edited book may hold anything: a MOTD line must never carry a terminal escape
    open_now = [one_line(truncate(f"{i.subject} {i.condition}", 80))
                for i in (book.open.values() if book else ()) if not i.absent]
    ts = _epoch(line.get("ts")) if line else None
    health = str(line.get("health") or "unknown") if line else "unknown"
    if health not in EXIT or (line is not None and ts is None):  # a cycle at no readable time proves nothing
        health = "unknown"
    if ts is not None and abs(now - ts) > STALE_SECONDS:  # long ago, or ahead of the clock
        health = "stale"
    status = {"host": socket.gethostname(), "health": health, "open": open_now,
              "last_cycle": None if line is None else {"ts": line.get("ts"), "age_seconds": _age(now, ts),
                                                       "status": line.get("status"), "decider": line.get("decider"),
                                                       "mode": _mode(line)},
              "pending_approvals": _waiting(config, now), "silenced": _silenced(config, now),
              "exit_code": EXIT[health]}
    if json_out:
        emit_json(status)
    else:
        typer.echo(_line(status, line, now, ts))
    raise typer.Exit(EXIT[health])


def _line(status: Mapping[str, object], line: Mapping[str, object] | None, now: float, ts: float | None) -> str:
    opened = status["open"] if isinstance(status["open"], list) else []
    listed = ", ".join(opened[:SHOWN]) + (f", +{len(opened) - SHOWN} more" if len(opened) > SHOWN else "")
    parts = [f"{status['host']} argus: {str(status['health']).upper()}"
             + (f" {len(opened)} open ({listed})" if opened else "")]
    if line is None:
        parts.append("no cycle recorded: is the timer running?")
    else:
        parts.append(f"last cycle {_ago(now - ts) if ts is not None else 'at an unreadable time'}")
        parts.append(f"decider {line.get('decider') or 'none'}")
        if _mode(line) != "act":
            parts.append(f"{_mode(line)}: actions recorded, not run")
        if isinstance(line.get("maintenance"), str):
            parts.append("in a maintenance window")
    silenced = status.get("silenced")
    if isinstance(silenced, list) and silenced:  # the open incidents are real; the operator just hears less
        parts.append("notifications held for " + ", ".join(str(p) for p in silenced[:SHOWN]))
    waiting = status.get("pending_approvals")
    if isinstance(waiting, int) and waiting:
        parts.append(f"{waiting} action(s) await approval (argus pending)")
    return " · ".join(parts)


def _waiting(config: Config, now: float) -> int:
    """Requests waiting for the operator (ARGUS_AUTONOMY ask); 0 when none was ever made."""
    from argus_cli.state.layout import APPROVALS
    if not APPROVALS.path(config.state_dir).exists():
        return 0
    store = APPROVALS.read(config.state_dir, report=lambda message: None)
    return sum(1 for r in (store.requests.values() if store else ()) if r.state == "pending" and now < r.expires)


def _silenced(config: Config, now: float) -> list[str]:
    """The patterns of the silences in force (`argus silence list` has the rest)."""
    from argus_cli.state.layout import SILENCES
    if not SILENCES.path(config.state_dir).exists():
        return []
    from argus_cli.control.silences import active
    store = SILENCES.read(config.state_dir, report=lambda message: None)
    return [one_line(truncate(s.pattern, 40)) for s in active(store, now)] if store else []


def _mode(line: Mapping[str, object]) -> str:
    """act, observe or dry-run; a line from before modes were recorded tells only a dry run."""
    mode = line.get("mode")
    return one_line(truncate(mode, 20)) if isinstance(mode, str) else "dry-run" if line.get("dry_run") else "act"


def _epoch(value: object) -> float | None:
    from argus_cli.reports.window import parse_timestamp
    moment = parse_timestamp(value) if isinstance(value, str) else None
    return moment.timestamp() if moment is not None else None


def _age(now: float, ts: float | None) -> int | None:
    return None if ts is None else int(now - ts)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return "just now" if seconds < 60 else "1 min ago"
    minutes = int(seconds // 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
