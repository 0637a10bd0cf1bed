"""The decision's shape: the forced tool's input schema, and parsing an answer as a whole.

Only a decision unusable *as a whole* is refused here (not an object, no ``actions`` list).
Individual actions are passed on untouched: the actions layer validates and rejects them one
by one, so one bad action never discards the good ones next to it (ARCHITECTURE.md §3).
"""

from __future__ import annotations

import json
import re

from argus_cli.model import ACTION_TYPES, ACTIONS, MAX_ACTIONS, Decision, scrub_surrogates

TOOL_NAME = "decide"
TOOL_DESCRIPTION = "Record Argus's decision for this cycle: an assessment, the actions to take, observations."



def _per_type(facts: dict[str, str]) -> str:
    """``type: fact; type: fact`` in the table's order."""
    return "; ".join(f"{name}: {fact}" for name, fact in facts.items())


def _action_properties() -> dict[str, object]:
    """An action's fields, each described from model.ACTIONS, the one table of action types."""
    kinds = ACTIONS.values()
    properties: dict[str, object] = {
        "type": {"type": "string", "enum": list(ACTION_TYPES),
                 "description": _per_type({k.name: k.description for k in kinds})},
        "target": {"type": ["string", "integer"],
                   "description": _per_type({k.name: k.target for k in kinds if k.target})},
        "subject": {"type": "string",
                    "description": "What the action is about: one of the subjects listed in the context "
                                   "(memory, swap, load, disk:<path>, service:<name>, process:<name>, tmux:<session>, "
                                   "...). Keep it the same for a continuing problem: Argus groups alerts by it."},
        "reason": {"type": "string",
                   "description": "Required for " + ", ".join(k.name for k in kinds if k.changes_host)},
    }
    for kind in kinds:
        if kind.text_field:
            properties[kind.text_field] = {"type": "string", "description": f"{kind.name}: {kind.text}"}
    return properties


DECISION_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "assessment": {"type": "string", "description": "One or two sentences on the host's state."},
        "actions": {
            "type": "array",
            "maxItems": MAX_ACTIONS,
            "items": {
                "type": "object",
                "properties": _action_properties(),
                "required": ["type"],
            },
        },
        "observations": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["assessment", "actions"],
}


class UnusableDecision(ValueError):
    """The answer cannot be used as a decision at all; the rules engine decides instead."""


_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def strip_fences(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text.strip()


def parse_text(text: str) -> dict[str, object]:
    """A plain-text answer: a JSON object, possibly inside ``` fences or after a short preface."""
    body = strip_fences(text)
    try:
        value = json.loads(body)
    except RecursionError:
        raise UnusableDecision("the text answer is nested too deep") from None
    except ValueError:
        start, end = body.find("{"), body.rfind("}")
        if start < 0 or end <= start:
            raise UnusableDecision("the text answer holds no JSON object") from None
        try:
            value = json.loads(body[start:end + 1])
        except (ValueError, RecursionError) as exc:
            raise UnusableDecision(f"the text answer is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UnusableDecision(f"the answer is a JSON {type(value).__name__}, not an object")
    return value


def to_decision(value: object, *, decider: str, model: str | None = None,
                usage: dict[str, int] | None = None) -> Decision:
    """Build a Decision from a parsed answer; raise UnusableDecision when it is unusable as a whole."""
    value = scrub_surrogates(value)  # printable and writable from here on
    if not isinstance(value, dict):
        raise UnusableDecision(f"the decision is a {type(value).__name__}, not an object")
    actions = value.get("actions")
    if not isinstance(actions, list):
        raise UnusableDecision("the decision has no 'actions' list")
    assessment = value.get("assessment")
    observations = value.get("observations")
    return Decision(
        assessment=assessment if isinstance(assessment, str) else "",
        actions=list(actions),  # each item is validated later by the actions layer
        observations=[str(o) for o in observations] if isinstance(observations, list) else [],
        decider=decider, model=model, usage=usage,
    )
