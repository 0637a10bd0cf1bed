"""``argus decide``: decide on a snapshot and print the decision; executes nothing."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import orjson
import typer

from argus_cli.cli.common import ArgusError, console, emit_json, load_config
from argus_cli.config import VARS_BY_NAME

if TYPE_CHECKING:  # msgspec loads with the first snapshot, not with the CLI
    from argus_cli.snapshot import Snapshot

DECIDERS = VARS_BY_NAME["ARGUS_DECIDER"].choices


def check_decider(value: Optional[str]) -> Optional[str]:
    if value is not None and value not in DECIDERS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(DECIDERS)}")
    return value


# `argus decide` and `argus cycle` take the same --decider
DeciderOption = Annotated[Optional[str], typer.Option(
    "--decider", metavar="|".join(DECIDERS), callback=check_decider, help="Who decides (default: ARGUS_DECIDER).")]


def read_snapshot(source: str, flag: str = "--metrics") -> Snapshot:
    """A saved snapshot (``argus collect --out``), or a file holding ``{"snapshot": ...}``; ``-`` = stdin.
    Any problem is one line naming the file (and the bad field), exit 2."""
    from argus_cli.snapshot import SnapshotShapeError, parse_snapshot
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise ArgusError(f"cannot read {flag} {source}: {exc.strerror}", 2) from None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ArgusError(f"{flag} {source} is not JSON: {exc}", 2) from None
    if isinstance(value, dict) and "snapshot" in value:  # a decision or a record that embeds one
        value = value["snapshot"]
    try:
        return parse_snapshot(value)
    except SnapshotShapeError as exc:
        raise ArgusError(f"{flag} {source} is not a usable snapshot: {exc}", 2) from None


def command(
    metrics: Annotated[Optional[str], typer.Option(
        "--metrics", metavar="FILE|-", help="Decide on this saved snapshot instead of collecting one.")] = None,
    decider: DeciderOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Decide what Argus would do for a snapshot. Nothing is executed; an LLM call is kept in
    llm.jsonl (as a dry run), since it spent tokens.

    Replaying a saved snapshot is how to test an edit of prompt.md.

    Example: argus collect --out snap.json && argus decide --metrics snap.json --decider llm --json
    """
    from argus_cli.decide.engine import decide

    config = load_config()
    now = time.time()
    if metrics is not None:
        snapshot = read_snapshot(metrics)
    else:
        from argus_cli.collectors import take_snapshot
        snapshot = take_snapshot(config, now)
    decided = decide(config, snapshot, now=now, override=decider, screen=False, remember=False)
    if decided.llm_error:
        typer.echo(f"argus: the LLM call failed ({decided.llm_error}); the rules engine decided", err=True)
    elif decided.llm_skip_reason == "no_api_key" and decided.decision.decider == "fallback":
        typer.echo("argus: --decider llm needs ANTHROPIC_API_KEY; the rules engine decided", err=True)
    if json_out:
        emit_json(decided.decision.to_dict())
    else:
        from argus_cli.cli.render_decision import render_decision
        render_decision(console(), decided.decision.to_dict())
