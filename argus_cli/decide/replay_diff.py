"""Two decisions for the same cycle, compared action by action (``argus replay``): pure, no I/O.

Actions are matched by (type, subject, target): one present on one side only is added or
removed; the same (type, subject, target) with other words (an alert's message, a log's
observation, a host-changing action's reason) is changed, "reworded" for the text actions. A
changed assessment is noted but is no change of behaviour: the host would see the same actions.
Identical actions are paired first, so two alerts on one subject that only swapped places are
no change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from argus_cli.model import ACTIONS, Decision
from argus_cli.redaction import redact

INVALID = "invalid"  # the type shown for an action that is no object or names no type


@dataclass(frozen=True)
class Act:
    """One action as compared: what identifies it, and its own words."""

    type: str
    subject: str | None
    target: str | None
    text: str  # an alert's message, a log's observation, else the reason

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        return self.type, self.subject, self.target

    @property
    def changes_host(self) -> bool:
        kind = ACTIONS.get(self.type)
        return kind is not None and kind.changes_host

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type, "subject": self.subject, "target": self.target, "text": self.text}


@dataclass(frozen=True)
class Side:
    """One decision as compared, or why there is none (``missing``: "error: ...")."""

    assessment: str | None
    actions: tuple[Act, ...]
    missing: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"assessment": self.assessment, "actions": [a.to_dict() for a in self.actions],
                "no_decision": self.missing}


def no_decision(why: str) -> Side:
    return Side(None, (), why)


@dataclass(frozen=True)
class Change:
    old: Act
    new: Act

    @property
    def label(self) -> str:
        kind = ACTIONS.get(self.new.type)
        return "reworded" if kind is not None and kind.text_field else "changed"

    def to_dict(self) -> dict[str, object]:
        return {"type": self.new.type, "subject": self.new.subject, "target": self.new.target,
                "old_text": self.old.text, "new_text": self.new.text, "kind": self.label}


@dataclass(frozen=True)
class Diff:
    added: tuple[Act, ...]
    removed: tuple[Act, ...]
    changed: tuple[Change, ...]
    assessment_changed: bool

    @property
    def behaviour_changed(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def side_of(decision: Decision, secrets: Sequence[str] = ()) -> Side:
    """``decision`` as compared; every string redacted, as the recorded side already is."""
    return Side(redact(decision.assessment, secrets), tuple(act_of(raw, secrets) for raw in decision.actions))


def act_of(raw: object, secrets: Sequence[str] = ()) -> Act:
    """An action as the decider sent it (unchecked: any field may be of any type)."""
    if not isinstance(raw, dict):
        return Act(INVALID, None, None, redact(_shown(raw) or "", secrets))
    kind_name = raw.get("type")
    kind = ACTIONS.get(kind_name) if isinstance(kind_name, str) else None
    words = _shown(raw.get(kind.text_field if kind is not None and kind.text_field else "reason")) or ""
    return Act(kind_name if isinstance(kind_name, str) and kind_name else INVALID,
               _optional(raw.get("subject"), secrets), _optional(raw.get("target"), secrets),
               redact(words, secrets))


def _optional(value: object, secrets: Sequence[str]) -> str | None:
    shown = _shown(value)
    return None if shown is None else redact(shown, secrets)


def _shown(value: object) -> str | None:
    """A field as text: a PID sent as 123 or "123" is the same target."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


def diff(old: Side, new: Side) -> Diff:
    """What ``new`` does differently from ``old``."""
    left = list(old.actions)
    unpaired = []
    for act in new.actions:
        if act in left:
            left.remove(act)  # the very same action: nothing to say
        else:
            unpaired.append(act)
    added, changed = [], []
    for act in unpaired:
        match = next((o for o in left if o.key == act.key), None)
        if match is None:
            added.append(act)
        else:
            left.remove(match)
            changed.append(Change(match, act))
    assessed = old.missing is None and new.missing is None and old.assessment != new.assessment
    return Diff(tuple(added), tuple(left), tuple(changed), assessed)


def by_type(acts: Iterable[Act]) -> dict[str, int]:
    """How many of each action type, in the table's order (unknown types after)."""
    counts: dict[str, int] = {}
    for act in acts:
        counts[act.type] = counts.get(act.type, 0) + 1
    order = list(ACTIONS)
    return dict(sorted(counts.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))
