"""``argus last``: the last cycle's decision, actions and results, and the open incidents;
``--llm``: the last LLM exchange. It only reads (ARCHITECTURE.md §4)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

from argus_cli.cli.common import ArgusError, console, emit_json, load_config
from argus_cli.config import Config

if TYPE_CHECKING:
    from argus_cli.state.layout import Incident


def command(
    json_out: Annotated[bool, typer.Option("--json", help="Print {cycle, decision, incidents} as JSON; null "
                                                          "(and exit 1) when nothing is recorded yet.")] = False,
    llm: Annotated[bool, typer.Option("--llm", help="Show the last LLM exchange (llm.jsonl) instead: "
                                                    "what the model was shown and what it answered.")] = False,
) -> None:
    """Show the last cycle (its cycles.jsonl line), the last decision with each action's result,
    and the incidents still open (incidents.json). Nothing recorded yet: one line on stderr and
    exit 1 (with --json, `null` on stdout as well).

    Example: argus last --json | jq '.decision.results[] | {type, status, detail}'

    Example: argus last --json | jq -r '.incidents[] | "\\(.fingerprint) \\(.severity)"'

    Example: argus last --llm --json | jq -r .user
    """
    import msgspec

    from argus_cli.runtime.records import last_cycle_line, read_last_decision

    config = load_config()
    if llm:
        _last_exchange(config, json_out)
        return
    cycle = last_cycle_line(config)
    decision = msgspec.to_builtins(read_last_decision(config)) or None
    if cycle is None and decision is None:
        _nothing_yet(json_out)
        raise ArgusError(f"no cycle recorded yet in {config.state_dir} (run `argus cycle`)", 1)
    incidents, unusable = _open_incidents(config)
    if json_out:
        if unusable is not None:
            typer.echo(_CONTROL.sub("?", unusable), err=True)
        listed = None if incidents is None else [
            {"fingerprint": key, **msgspec.to_builtins(incident)} for key, incident in incidents.items()]
        emit_json({"cycle": cycle, "decision": decision, "incidents": listed})
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
    from argus_cli.cli.render_decision import incident_lines
    for text in incident_lines(incidents, time.time(), unusable):
        typer.echo(_CONTROL.sub("?", text))


def _open_incidents(config: Config) -> tuple[dict[str, Incident] | None, str | None]:
    """The open incidents by fingerprint (none when no cycle ever opened one), or (None, why)
    when incidents.json is unusable: read only, it stays as it is for the next cycle."""
    from argus_cli.state.layout import INCIDENTS

    said: list[str] = []
    book = INCIDENTS.read(config.state_dir, report=said.append)
    if book is None:
        return (None, said[-1]) if said else ({}, None)
    return dict(book.open), None


def _nothing_yet(json_out: bool) -> None:
    """With --json, ``null`` on stdout before the exit-1 line: a `jq` reading it sees no record
    rather than no output at all."""
    if json_out:
        emit_json(None)


# The user message and the answer quote the host and the model: no terminal escape may pass.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _last_exchange(config: Config, json_out: bool) -> None:
    from argus_cli.decide.exchanges import last_exchange
    from argus_cli.state.layout import LLM_EXCHANGES

    line = last_exchange(config)
    if line is None:
        _nothing_yet(json_out)
        raise ArgusError(f"no LLM exchange recorded yet in {config.state_dir / LLM_EXCHANGES}", 1)
    if json_out:
        emit_json(line)
        return
    for text in exchange_text(line):
        typer.echo(_CONTROL.sub("?", text))


def exchange_text(line: Mapping[str, object]) -> list[str]:
    """The human view: one header line, tokens and time, the error, then the message and the answer."""
    usage = line.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    user = line.get("user")
    user = user if isinstance(user, str) else ""
    dry = "  DRY RUN" if line.get("dry_run") else ""
    out = [f"llm {line.get('ts')}  model {line.get('model')}  outcome {line.get('outcome')}{dry}",
           f"tokens in {usage.get('input_tokens', '?')} out {usage.get('output_tokens', '?')}  "
           f"duration {line.get('duration_ms')} ms"]
    if line.get("error"):
        out.append(f"error {line['error']}")
    cut = f", cut to {len(user.encode())} bytes" if line.get("truncated") else ""
    out += [f"--- user message ({line.get('user_bytes')} bytes{cut}, sha256 {line.get('user_sha256')}; "
            f"system prompt sha256 {line.get('system_sha256')}) ---", user]
    out += ["--- answer" + (" (cut)" if line.get("answer_truncated") else "") + " ---",
            _answer_text(line.get("answer"))]
    return out


def _answer_text(answer: object) -> str:
    if answer is None:
        return "(none)"
    if isinstance(answer, str):
        return answer
    return json.dumps(answer, indent=2, ensure_ascii=False)
