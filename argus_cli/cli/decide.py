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


# What a snapshot measured of the host; ts, host, argus_version and previous_cycle say nothing about it
MEASURED = ("system", "memory", "swap", "cgroup_memory", "disks", "memory_hog", "top_processes", "services",
            "orphans", "tmux", "freshness")


def _holds_a_value(section: object) -> bool:
    if section is None:
        return False
    if isinstance(section, tuple):
        return bool(section)
    fields: tuple[str, ...] = getattr(section, "__struct_fields__", ())
    return any(getattr(section, name) not in (None, ()) for name in fields)


def require_measurements(snapshot: Snapshot, source: str, flag: str = "--metrics") -> None:
    """Stop (one line, exit 2) on a snapshot with nothing measured in it: no section of MEASURED
    holds a value and no collector said it failed. ``{}`` or ``{"host": "x"}`` is not a host, and
    deciding on it would only say "All nominal"."""
    if snapshot.errors or any(_holds_a_value(getattr(snapshot, name)) for name in MEASURED):
        return
    raise ArgusError(f"{flag} {source} measured nothing (every section empty, no collector error): not a host "
                     "to decide on (argus collect --out FILE writes a snapshot)", 2)


def command(
    metrics: Annotated[Optional[str], typer.Option(
        "--metrics", metavar="FILE|-",
        help="Decide on this saved snapshot instead of collecting one. It must measure something: "
             "a snapshot where no section (system, memory, swap, cgroup_memory, disks, memory_hog, "
             "top_processes, services, orphans, tmux, freshness) holds a value and no collector "
             "error is listed is refused (exit 2).")] = None,
    decider: DeciderOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Decide what Argus would do for a snapshot. Nothing is executed; an LLM call is kept in
    llm.jsonl (as a dry run), since it spent tokens.

    Replaying a saved snapshot is how to test an edit of prompt.md. --decider llm without
    ANTHROPIC_API_KEY is an error (exit 2); ARGUS_DECIDER=llm without it lets the rules decide,
    as a cycle would, and says so on stderr.

    Example: argus collect --out snap.json && argus decide --metrics snap.json --decider llm --json
    """
    from argus_cli.decide.engine import decide

    config = load_config()
    if decider == "llm" and not config.has_api_key:
        raise ArgusError("--decider llm needs ANTHROPIC_API_KEY (set it in the environment or the env file), "
                         "or use --decider rules", 2)
    now = time.time()
    if metrics is not None:
        snapshot = read_snapshot(metrics)
        require_measurements(snapshot, metrics)
    else:
        from argus_cli.collectors import take_snapshot
        snapshot = take_snapshot(config, now)
    decided = decide(config, snapshot, now=now, override=decider, screen=False, remember=False)
    if decided.llm_error:
        typer.echo(f"argus: the LLM call failed ({decided.llm_error}); the rules engine decided", err=True)
    elif decided.llm_skip_reason == "no_api_key" and decided.decision.decider == "fallback":
        typer.echo("argus: ARGUS_DECIDER=llm needs ANTHROPIC_API_KEY; the rules engine decided", err=True)
    if json_out:
        emit_json(decided.decision.to_dict())
    else:
        from argus_cli.cli.render_decision import render_decision
        render_decision(console(), decided.decision.to_dict())
