"""``argus history`` and ``argus explain``: what each cycle saw, decided and did, and why.

An operator woken by an alert asks "what happened, and why did it do that?"; cycles.jsonl knows,
but as one JSON line per cycle. Both commands only read (ARCHITECTURE.md §4): cycles.jsonl,
llm.jsonl, incidents.jsonl and incidents.json, through reports/history.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from argus_cli.cli.common import ArgusError, check_since, emit_json, load_config
from argus_cli.text import truncate

if TYPE_CHECKING:
    from argus_cli.reports.history import Window


def history(
    since: Annotated[str, typer.Option("--since", metavar="DURATION", callback=check_since,
                                       help="How far back: 90s, 15m, 1h, 7d or seconds.")] = "24h",
    subject: Annotated[Optional[str], typer.Option(
        "--subject", metavar="GLOB", help="Only cycles that found, acted on, opened, resolved or judged a "
                                          "subject matching GLOB (e.g. 'service:*', 'disk:*').")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per cycle.")] = False,
) -> None:
    """One line per cycle in the window, oldest first: time, health, mode (OBSERVE and DRY-RUN
    stand out), decider, each action with its status and the outcome a later cycle judged, and
    the incidents it opened or resolved. An empty window says how many cycles lie before it.

    Example: argus history --since 2h --subject 'service:*'

    Example: argus history --json | jq -r '.[] | select(.actions != []) | .ts'
    """
    from argus_cli.cli.render_history import history_json, history_line
    from argus_cli.config import parse_duration
    from argus_cli.reports.history import read_window, touches

    config = load_config()
    window = read_window(config.state_dir, time.time(), parse_duration(since) or 0)
    cycles = [c for c in window.cycles if subject is None or touches(c, subject)]
    if window.scan.skipped:
        typer.echo(f"argus: skipped {window.scan.skipped} line(s) of {window.path} that are no cycle record",
                   err=True)
    if json_out:
        emit_json([history_json(c) for c in cycles])
    else:
        _echo(history_line(c) for c in cycles)
    if not cycles:
        typer.echo(_nothing_shown(window, since, subject), err=json_out)


def _nothing_shown(window: Window, since: str, subject: str | None) -> str:
    """Why no line was printed: nothing matched, nothing this recent, or nothing recorded at all
    (exit 1: a wrong ARGUS_STATE_DIR looks like a quiet host otherwise)."""
    if window.cycles:
        return (f"none of the {len(window.cycles)} cycle(s) in the last {_label(since)} touched a subject "
                f"matching {truncate(subject or '', 80)!r}")
    if window.older is None:
        raise ArgusError(f"no cycles recorded in {window.path} (is ARGUS_STATE_DIR right? run `argus cycle`)", 1)
    return (f"no cycles in the last {_label(since)} ({window.path.name} has {window.older} older line(s), "
            f"the newest at {truncate(window.newest_older or '?', 40)})")


def _label(since: str) -> str:
    return f"{since}s" if since.lstrip("-").isdigit() else since


def explain(
    ref: Annotated[str, typer.Argument(
        metavar="CYCLE|INCIDENT", help="A cycle's time as `argus history` prints it, `last`, or -N (the Nth "
                                       "newest); or an incident's id or fingerprint ('service:web down').")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the explanation as one JSON object.")] = False,
) -> None:
    """Why a cycle did what it did: its findings, what the decider was shown and answered, each
    action with the guardrails' verdict and its outcome, the notices sent. Or an incident: when
    it opened and resolved, every cycle that touched its subject, and its state if still open.
    Nothing found: one line saying what was looked for and where, exit 1.

    Example: argus explain last

    Example: argus explain -2 --json | jq '.actions[] | {type, status, detail, outcome}'

    Example: argus explain 'service:web down'
    """
    from argus_cli.cli import render_history as render
    from argus_cli.reports import history as report

    state = load_config().state_dir
    if report.is_cycle_ref(ref):
        story = report.explain_cycle(state, ref)
        if story is None:
            raise ArgusError(_no_cycle(state, ref), 1)
        if json_out:
            emit_json(render.cycle_json(story))
        else:
            _echo(render.cycle_lines(story))
        return
    incident = report.explain_incident(state, ref)
    if incident is None:
        from argus_cli.state.layout import INCIDENT_LOG, INCIDENTS
        raise ArgusError(f"no incident with id or fingerprint {truncate(ref, 200)!r} in {state / INCIDENT_LOG} "
                         f"or {INCIDENTS.path(state)}", 1)
    if json_out:
        emit_json(render.incident_json(incident))
    else:
        _echo(render.incident_lines(incident))


def _no_cycle(state: Path, ref: str) -> str:
    from argus_cli.reports.history import count_cycles
    from argus_cli.state.layout import CYCLES

    path = state / CYCLES
    if ref == "last" or ref.startswith("-"):
        return f"no cycle {truncate(ref, 40)}: {path} holds {count_cycles(state)} cycle(s)"
    return f"no cycle at {truncate(ref, 60)!r} in {path} (`argus history` prints each cycle's time)"


def _echo(lines: Iterable[str]) -> None:
    for line in lines:
        typer.echo(truncate(line, 100_000))  # each value is made safe already; the whole line too
