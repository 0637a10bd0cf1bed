"""The LLM decider: one Messages API call with one forced tool whose input is the decision.

``anthropic`` is imported inside ``_call`` (and ``probe``, for ``argus doctor --online``) only:
it costs ~2 s and ~75 MiB, and most cycles never ask the LLM. Every exception of the call is
caught (the SDK raises a plain ``JSONDecodeError`` on a malformed 200 body, not one of its own
errors): any failure becomes an ``LlmOutcome`` with ``error`` set and no decision, and the
caller lets the rules decide.
The SDK's own retries are off (``max_retries=0``): Argus backs off across cycles instead.
Each call sent leaves one line in llm.jsonl (``exchanges.py``), whatever became of it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from argus_cli.config import Config
from argus_cli.decide import exchanges, message, schema
from argus_cli.decide.rules import Finding, findings
from argus_cli.model import Decision, bounded
from argus_cli.redaction import redact
from argus_cli.snapshot import Snapshot

if TYPE_CHECKING:  # the SDK's own request types; the SDK itself is imported only to call it
    from anthropic.types import MessageParam, ToolChoiceToolParam, ToolParam

MAX_TOKENS = 2048


class LlmRequest(TypedDict):
    """The keyword arguments of ``messages.create``."""

    model: str
    max_tokens: int
    system: str
    messages: list[MessageParam]
    tools: list[ToolParam]
    tool_choice: ToolChoiceToolParam


@dataclass
class LlmOutcome:
    decision: Decision | None
    error: str | None = None
    status_code: int | None = None
    raw: dict[str, object] | None = None  # the reply as received (bounded), for last_response.json
    usage: dict[str, int] | None = None

    @property
    def rate_limited(self) -> bool:
        return self.status_code == 429


def build_request(config: Config, snapshot: Snapshot, history: Sequence[Mapping[str, object]],
                  self_check: Mapping[str, object], *, hostname: str | None = None,
                  found: list[Finding] | None = None,
                  incidents: Sequence[Mapping[str, object]] = ()) -> LlmRequest:
    """The keyword arguments of ``messages.create`` (also what tests inspect); ``found`` are the
    snapshot's findings when the caller already has them, ``incidents`` the open ones."""
    found = findings(snapshot, config) if found is None else found
    ctx = message.context(config, snapshot, found, self_check, incidents)
    return request_for(config.model, message.system_prompt(config, hostname or snapshot.host),
                       message.user_message(snapshot, history, ctx))


def request_for(model: str, system: str, user: str) -> LlmRequest:
    """The request of one decision: ``system`` and ``user`` as given, the ``decide`` tool forced.
    ``argus replay`` builds its requests here too, so a replay asks exactly as a cycle does."""
    return {
        "model": model,
        "max_tokens": MAX_TOKENS,
        "system": system,
        "messages": [{"role": "user", "content": user}],
        "tools": [{"name": schema.TOOL_NAME, "description": schema.TOOL_DESCRIPTION,
                   "input_schema": schema.DECISION_SCHEMA}],
        "tool_choice": {"type": "tool", "name": schema.TOOL_NAME},
    }


def ask_llm(config: Config, snapshot: Snapshot, history: Sequence[Mapping[str, object]],
            self_check: Mapping[str, object], *, hostname: str | None = None, now: float | None = None,
            dry_run: bool = False, found: list[Finding] | None = None,
            incidents: Sequence[Mapping[str, object]] = ()) -> LlmOutcome:
    """Ask the model for a decision. Never raises an ``Exception``; failures are in the outcome.

    Every call that was sent, failed or not, gets its llm.jsonl line (``exchanges``), dated
    ``now`` (the cycle's clock, as its cycles.jsonl line) and marked ``dry_run`` when nothing
    will act on the answer."""
    try:
        request = build_request(config, snapshot, history, self_check, hostname=hostname, found=found,
                                incidents=incidents)
    except Exception as exc:  # noqa: BLE001 - an unreadable prompt file: nothing was sent, nothing to record
        return _failed(config, exc)
    return ask_request(config, request, now=now, dry_run=dry_run)


def ask_request(config: Config, request: LlmRequest, *, now: float | None = None,
                dry_run: bool = False) -> LlmOutcome:
    """Send a ready ``request``, parse the reply and record the exchange; never raises an
    ``Exception`` (``ask_llm`` for a snapshot, ``argus replay`` for a recorded message)."""
    started, now = time.monotonic(), time.time() if now is None else now

    def on_record(outcome: LlmOutcome, kind: str) -> None:
        exchanges.record(config, request, outcome, kind, now=now,
                         duration_ms=int((time.monotonic() - started) * 1000), dry_run=dry_run)

    try:
        outcome = _call(config, request)
        kind = "ok" if outcome.decision is not None else _unusable_kind(outcome)
    except Exception as exc:  # noqa: BLE001 - SDK errors, timeouts, bad bodies: all fall back
        outcome, kind = _failed(config, exc), "error"
    except BaseException as exc:  # a stop, Ctrl-C or the cycle's time limit mid-call: tokens may be spent
        on_record(_failed(config, exc), "interrupted")
        raise
    on_record(outcome, kind)
    return outcome


def _failed(config: Config, exc: BaseException) -> LlmOutcome:
    outcome = LlmOutcome(None, error=redact(f"{type(exc).__name__}: {exc}", config.secrets())[:500],
                         status_code=getattr(exc, "status_code", None))
    outcome.raw = {"error": outcome.error, "status_code": outcome.status_code}
    return outcome


def _unusable_kind(outcome: LlmOutcome) -> str:
    """A reply came but gave no decision: a refusal, or an answer the schema cannot use."""
    return "refused" if (outcome.raw or {}).get("stop_reason") == "refusal" else "unusable"


def _call(config: Config, request: LlmRequest) -> LlmOutcome:
    import anthropic  # heavy: only on the path that really calls the LLM

    client = anthropic.Anthropic(
        api_key=config.anthropic_api_key or None,
        base_url=config.anthropic_base_url or None,
        timeout=float(config.llm_timeout),
        max_retries=0,
    )
    try:
        response = client.messages.create(**request)
    finally:
        client.close()
    return parse_response(response.model_dump(mode="json"), config.model)


PROBE_TEXT = "ping"  # the one-word user message of ``probe``


def probe(config: Config, *, timeout: float) -> LlmOutcome:
    """``argus doctor --online``: the cheapest call that proves the key and ``ARGUS_MODEL`` work,
    one Messages call with ``max_tokens=1`` and a one-word user message, no system prompt, no
    tools. An outcome without a decision: the reply (``raw``) and its token counts (``usage``).
    The SDK's errors are raised for the caller to describe (``status_code``, ``body``); retries
    are off, as in a cycle. Nothing is recorded: the doctor only reads the state directory."""
    import anthropic  # heavy: only on the path that really calls the LLM

    client = anthropic.Anthropic(
        api_key=config.anthropic_api_key or None,
        base_url=config.anthropic_base_url or None,
        timeout=timeout,
        max_retries=0,
    )
    try:
        response = client.messages.create(model=config.model, max_tokens=1,
                                          messages=[{"role": "user", "content": PROBE_TEXT}])
    finally:
        client.close()
    reply: dict[str, object] = bounded(response.model_dump(mode="json"))
    return LlmOutcome(None, raw=reply, usage=_usage(reply))


def _usage(raw: Mapping[str, object]) -> dict[str, int] | None:
    usage = raw.get("usage")
    counts = {k: v for k, v in (usage.items() if isinstance(usage, dict) else ())
              if isinstance(k, str) and k.endswith("_tokens") and type(v) is int}
    return counts or None


def parse_response(reply: Mapping[str, object], model: str) -> LlmOutcome:
    """A Messages API reply (as a dict) -> outcome: the tool input, else a JSON text answer.

    The reply is bounded first (depth, sizes): it is kept in last_response.json and its actions
    reach the records, and a hostile answer nested hundreds deep must not break the writers."""
    raw: dict[str, object] = bounded(dict(reply))
    usage = _usage(raw)
    reported = raw.get("model")
    used_model = reported if isinstance(reported, str) and reported else model
    if raw.get("stop_reason") == "refusal":
        return LlmOutcome(None, error="the model refused to answer (stop_reason refusal)", raw=raw, usage=usage)
    content = raw.get("content")
    blocks = [b for b in (content if isinstance(content, list) else []) if isinstance(b, dict)]
    tool_inputs = [b.get("input") for b in blocks if b.get("type") == "tool_use" and b.get("name") == schema.TOOL_NAME]
    text = "".join(t for b in blocks if b.get("type") == "text" and isinstance(t := b.get("text"), str))
    try:
        value = tool_inputs[0] if tool_inputs else bounded(schema.parse_text(text))
        decision = schema.to_decision(value, decider="llm", model=used_model, usage=usage)
    except schema.UnusableDecision as exc:
        return LlmOutcome(None, error=f"unusable answer: {exc}", raw=raw, usage=usage)
    return LlmOutcome(decision, raw=raw, usage=usage)
