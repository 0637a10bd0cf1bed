"""``argus eval``: run the eval cases through a decider and the guardrails; executes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from argus_cli.cli.common import ArgusError, emit_json, load_config, read_prompt
from argus_cli.text import truncate

if TYPE_CHECKING:
    from argus_cli.evals.score import Scorecard, Verdict

EVAL_DECIDERS = ("rules", "llm")


def _check_decider(value: str) -> str:
    if value not in EVAL_DECIDERS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(EVAL_DECIDERS)}")
    return value


def command(
    decider: Annotated[str, typer.Option("--decider", metavar="rules|llm", callback=_check_decider,
                                         help="Who decides each case.")] = "rules",
    cases_dir: Annotated[Optional[Path], typer.Option(
        "--cases", metavar="DIR",
        help="Directory of <name>/case.json (default: the cases shipped with Argus).")] = None,
    tags: Annotated[Optional[list[str]], typer.Option(
        "--tag", metavar="TAG", help="Only cases with this tag (detect, localise, mitigate, control, injection); "
                                     "repeat for several.")] = None,
    prompt: Annotated[Optional[Path], typer.Option(
        "--prompt", metavar="FILE", help="System prompt for the LLM decider (default: ARGUS_PROMPT_FILE).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the verdicts and the scorecard as JSON.")] = False,
) -> None:
    """Score a decider on the eval cases: each case's snapshot is decided and every proposed
    action checked by the guardrails against that snapshot; nothing is executed and the host's
    state is not touched. Prints each case's verdict, then a scorecard (recall, precision, false
    alarms on controls, guardrail refusals, forbidden proposals, LLM calls, tokens, cost).
    Exit 1 when a case marked must_pass fails, or any forbidden action gets through the guardrails.

    Each case is judged on its own settings over Argus's defaults; from this host only the LLM's
    key, base URL, model, timeout and prompt are used. --decider llm needs ANTHROPIC_API_KEY
    and spends one call per case.

    Example: argus eval --decider llm --prompt new-prompt.md --tag injection
    """
    from argus_cli.evals.case import CaseError, default_directory, load_cases
    from argus_cli.evals.run import Reach, run_cases
    from argus_cli.evals.score import scorecard

    config = load_config()
    if decider == "llm" and not config.has_api_key:
        raise ArgusError("--decider llm needs ANTHROPIC_API_KEY (set it in the environment or the env file), "
                         "or use --decider rules", 2)
    if prompt is not None:
        read_prompt(prompt, config)  # refused early: a directory, a huge file, an env file with the key
    try:
        cases = load_cases(cases_dir or default_directory(), tuple(tags or ()))
    except (CaseError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, CaseError) else "nested too deep"
        raise ArgusError(f"cannot load the eval cases: {truncate(reason, 1000)}", 2) from None
    if not cases:
        raise ArgusError(f"no case has the tag {', '.join(tags or ())}", 2)
    verdicts = run_cases(cases, decider, Reach.of(config, prompt), each=_quiet if json_out else _print_verdict)
    card = scorecard(verdicts, decider, config.model)
    if json_out:
        emit_json({"verdicts": [v.to_dict() for v in verdicts], "scorecard": card.to_dict()})
    else:
        _print_scorecard(card)
    if card.must_pass_failed or card.forbidden_after:  # a forbidden action let through fails any case
        raise typer.Exit(1)


def _quiet(verdict: Verdict) -> None:
    """--json: nothing before the one JSON document."""


def _print_verdict(verdict: Verdict) -> None:
    mark = "PASS" if verdict.passed else ("FAIL" if verdict.must_pass else "fail")
    line = f"{mark}  {truncate(verdict.case, 60)}  [{', '.join(verdict.tags)}]"
    reasons = verdict.failures or verdict.notes
    typer.echo(line + ("" if not reasons else "  " + truncate("; ".join(reasons), 400)))


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _print_scorecard(card: Scorecard) -> None:
    who = "rules" if card.decider == "rules" else f"llm ({card.model})"
    cost = "no list price for this model" if card.cost is None else f"${card.cost:.4f}"
    tags = ", ".join(f"{tag} {n['passed']}/{n['cases']}" for tag, n in card.by_tag.items() if n["cases"])
    held = card.must_pass - len(card.must_pass_failed)
    failed = f" (failed: {truncate(', '.join(card.must_pass_failed), 400)})" if card.must_pass_failed else ""
    lines = [
        "",
        f"scorecard: {who}, {card.cases} cases, {card.passed} passed; must_pass {held}/{card.must_pass}{failed}",
        f"  by tag: {tags}",
        f"  recall of required alerts, logs and actions: {_rate(card.recall)} ({card.met} of {card.required})",
        f"  precision of alerts and host-changing actions: {_rate(card.precision)} "
        f"({card.expected_alarms} of {card.alarms} expected)",
        f"  false alarms on controls: {card.false_alarms} over {card.controls} control case(s)",
        f"  proposals refused by the guardrails: {card.rejected}",
        f"  forbidden actions: {card.forbidden_proposed} proposed, "
        f"{card.forbidden_after} let through by the guardrails",
        f"  LLM calls: {card.llm_calls}, tokens {card.input_tokens} in / {card.output_tokens} out, cost {cost}"
        if card.llm_calls else "  LLM calls: none",
    ]
    typer.echo("\n".join(lines))
