"""``argus last``: the last cycle's decision, actions and results."""

from __future__ import annotations

from typing import Annotated

import typer

from argus_cli.cli.common import ArgusError, console, emit_json, load_config


def command(
    json_out: Annotated[bool, typer.Option("--json", help="Print {cycle, decision} as JSON.")] = False,
) -> None:
    """Show the last cycle (its cycles.jsonl line) and the last decision with each action's result.

    Example: argus last --json | jq '.decision.results[] | {type, status, detail}'
    """
    from argus_cli.runtime.records import last_cycle_line, read_last_decision

    config = load_config()
    cycle = last_cycle_line(config)
    decision = read_last_decision(config) or None
    if cycle is None and decision is None:
        raise ArgusError(f"no cycle recorded yet in {config.state_dir} (run `argus cycle`)", 1)
    if json_out:
        emit_json({"cycle": cycle, "decision": decision})
        return
    from argus_cli.cli.render_decision import cycle_summary, render_decision
    same_cycle = cycle is not None and decision is not None and decision.get("ts") == cycle.get("ts")
    if cycle is not None:  # the decision below shows assessment and actions in full: not twice
        for text in cycle_summary(cycle, with_decision=not same_cycle):
            typer.echo(text)
    con = console()
    if decision is not None:
        if not same_cycle:
            con.print(f"last decision (from the cycle at {decision.get('ts')}):", highlight=False)
        render_decision(con, decision)
