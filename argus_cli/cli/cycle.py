"""``argus cycle``: one full cycle (what the timer runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from argus_cli.cli.common import emit_json, load_config, require_state_dir
from argus_cli.cli.decide import DeciderOption


def command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and validate, record what would run; "
                                                            "change nothing.")] = False,
    decider: DeciderOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the cycle's cycles.jsonl line as JSON.")] = False,
) -> None:
    """Run one cycle: lock, outbox, self-check, disk guard, orphan sweep, collect, pre-screen,
    decide, act, record. Exit 0 when it ran (or another cycle held the lock), 1 when it failed.

    Example: argus cycle --dry-run --decider rules
    """
    from argus_cli.cycle import run_cycle

    config = load_config()
    require_state_dir(config.state_dir)  # a dry run still takes the lock and records its line
    line = run_cycle(config, dry_run=dry_run, decider=decider)
    if json_out:
        emit_json(line)
    else:
        from argus_cli.cli.render_decision import cycle_summary
        for text in cycle_summary(line):
            typer.echo(text)
    if line["status"] == "failed":
        raise typer.Exit(1)
