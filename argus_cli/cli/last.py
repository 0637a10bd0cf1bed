"""``argus last``: the last cycle's decision, actions and results; ``--llm``: the last LLM exchange."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated

import typer

from argus_cli.cli.common import ArgusError, console, emit_json, load_config
from argus_cli.config import Config


def command(
    json_out: Annotated[bool, typer.Option("--json", help="Print {cycle, decision} as JSON.")] = False,
    llm: Annotated[bool, typer.Option("--llm", help="Show the last LLM exchange (llm.jsonl) instead: "
                                                    "what the model was shown and what it answered.")] = False,
) -> None:
    """Show the last cycle (its cycles.jsonl line) and the last decision with each action's result.

    Example: argus last --json | jq '.decision.results[] | {type, status, detail}'

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


# The user message and the answer quote the host and the model: no terminal escape may pass.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _last_exchange(config: Config, json_out: bool) -> None:
    from argus_cli.decide.exchanges import last_exchange
    from argus_cli.state.layout import LLM_EXCHANGES

    line = last_exchange(config)
    if line is None:
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
