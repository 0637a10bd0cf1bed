"""``argus replay``: past cycles asked again with a new system prompt, and what would change;
executes nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from argus_cli.cli.common import ArgusError, check_since, emit_json, load_config, read_prompt

STOPPED_EXIT = 1  # three failed calls in a row
INTERRUPTED_EXIT = 130  # Ctrl-C, as a shell reports it


def command(
    prompt: Annotated[Path, typer.Option("--prompt", metavar="FILE",
                                         help="The system prompt to try (a copy of prompt.md, edited).")],
    since: Annotated[str, typer.Option("--since", metavar="DURATION", callback=check_since,
                                       help="How far back: 30m, 12h, 7d or seconds.")] = "24h",
    max_calls: Annotated[int, typer.Option("--max-calls", metavar="N", min=1,
                                           help="At most this many LLM calls; the oldest cycles are left out.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print the cycles and the summary as JSON.")] = False,
) -> None:
    """Ask the LLM again, with a new system prompt, what it would have decided in past cycles, and
    show exactly what changes: per cycle the actions added (+), removed (-) and changed (~, an
    alert "reworded"), then a summary, host-changing actions added first. Nothing is executed.

    The cycles come from llm.jsonl and its rotated copies (real cycles only, not dry runs),
    newest first; each call sends the recorded user message verbatim with the new prompt and
    ARGUS_MODEL, and is kept in llm.jsonl as a dry run. Before the first call one line on stderr
    says how many calls and what they should cost. Needs ANTHROPIC_API_KEY (exit 2 without).
    Exit 1 when three calls in a row failed, 130 on Ctrl-C (what was done is printed).

    Example: argus replay --since 7d --prompt new-prompt.md --max-calls 50
    """
    from argus_cli.cli import render_replay as render
    from argus_cli.config import parse_duration
    from argus_cli.decide import replay

    config = load_config()
    if not config.has_api_key:
        raise ArgusError("argus replay needs ANTHROPIC_API_KEY (set it in the environment or the env file)", 2)
    text = read_prompt(prompt, config)
    found = replay.plan(config, time.time() - (parse_duration(since) or 0), max_calls)
    _echo(render.before(found, replay.estimate(found, text, config.model), config.model), err=True)
    show = (lambda done: None) if json_out else (lambda done: _echo(render.cycle_lines(done)))
    run = replay.replay(config, found, text, each=show)
    summary = replay.summarise(run, found, config.model)
    if json_out:
        emit_json(render.as_json(run, summary, found))
    elif found.selected:
        _echo(render.summary_lines(summary, str(prompt)))
    if run.stopped:
        raise typer.Exit(INTERRUPTED_EXIT if run.interrupted else STOPPED_EXIT)


def _echo(lines: list[str], *, err: bool = False) -> None:
    for line in lines:
        typer.echo(line, err=err)
