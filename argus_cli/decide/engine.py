"""Choose the decider and decide: pre-screen, then the LLM, or the rules (directly or as fallback)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from argus_cli.config import Config
from argus_cli.decide import prescreen
from argus_cli.decide.rules import Finding, decide_rules, findings
from argus_cli.model import Decision
from argus_cli.snapshot import Snapshot


@dataclass
class Decided:
    decision: Decision
    llm_called: bool
    llm_skip_reason: str | None  # why the LLM was not asked (None when it was)
    llm_reason: str | None = None  # why it was asked
    llm_error: str | None = None
    raw_response: dict[str, object] | None = None


def _direct_gate(config: Config, override: str | None) -> prescreen.Gate:
    """`argus decide`: no pre-screen and no backoff, the operator asked for a decision now."""
    settled = prescreen.mode_gate(config, override)
    return settled if settled is not None else prescreen.Gate(True, "requested")


def decide(config: Config, snapshot: Snapshot, *, now: float, override: str | None = None,
           self_check: Mapping[str, object] | None = None, past: Sequence[Mapping[str, object]] | None = None,
           screen: bool = True, remember: bool = True) -> Decided:
    """One decision for ``snapshot``.

    ``screen`` applies the pre-screen and backoff (as a cycle does); ``remember`` lets the
    outcome update llm-backoff.json / prescreen.json (off for `argus decide` and dry runs).
    """
    found = findings(snapshot, config)
    if screen:
        gate = prescreen.gate(config, snapshot, found, now=now, override=override)
    else:
        gate = _direct_gate(config, override)
    return decide_gated(config, snapshot, found, gate, now=now, self_check=self_check, past=past,
                        remember=remember, incidents=_open_incidents(config, now) if gate.call else ())


def _open_incidents(config: Config, now: float) -> list[dict[str, object]]:
    """The open incidents as the last cycle left them (read only: the cycle owns the book)."""
    from argus_cli.incidents.book import Book
    return Book.load(config, now).for_decider()


def decide_gated(config: Config, snapshot: Snapshot, found: list[Finding], gate: prescreen.Gate, *,
                 now: float, self_check: Mapping[str, object] | None = None,
                 past: Sequence[Mapping[str, object]] | None = None, remember: bool = True,
                 incidents: Sequence[Mapping[str, object]] = ()) -> Decided:
    """Decide once the pre-screen has spoken: the rules when ``gate`` says no, else the LLM
    (shown ``incidents``, the open ones)."""
    if not gate.call:
        return Decided(_rules(snapshot, config, found, fallback=gate.fallback), False, gate.reason)
    return _ask(config, snapshot, found, now=now, reason=gate.reason, self_check=self_check or {},
                past=past, remember=remember, incidents=incidents)


def _rules(snapshot: Snapshot, config: Config, found: list[Finding], *, fallback: bool) -> Decision:
    decision = decide_rules(snapshot, config, found=found)
    decision.decider = "fallback" if fallback else "rules"
    return decision


def _ask(config: Config, snapshot: Snapshot, found: list[Finding], *, now: float, reason: str,
         self_check: Mapping[str, object], past: Sequence[Mapping[str, object]] | None,
         remember: bool, incidents: Sequence[Mapping[str, object]]) -> Decided:
    from argus_cli.decide import llm, message  # llm.py pulls in the SDK lazily; keep even this off the rules path

    # remember=False is a dry run or `argus decide`: nothing acts on this answer, its tokens still count
    outcome = llm.ask_llm(config, snapshot, message.history(config) if past is None else past, self_check,
                          now=now, dry_run=not remember, found=found, incidents=incidents)
    if outcome.decision is not None:
        if remember:
            prescreen.record_success(config, snapshot, found, now)
        return Decided(outcome.decision, True, None, reason, raw_response=outcome.raw)
    if remember:
        prescreen.record_failure(config, outcome.error or "unknown error", outcome.rate_limited, now)
    return Decided(_rules(snapshot, config, found, fallback=True), True, None, reason,
                   llm_error=outcome.error, raw_response=outcome.raw)
