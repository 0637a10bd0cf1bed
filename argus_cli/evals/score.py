"""Judging one decision against its case, and summing the verdicts into a scorecard. Pure.

Requirements are met by actions the guardrails let through: an alert on a subject, a log (or an
alert) on it, a host-changing action matching a pattern. ``forbid`` is judged on what was
proposed, before the guardrails, and again after: the first says how the decider behaves, the
second what would have reached the host (which must be nothing). An alarm (an alert or a
host-changing action) that the case neither requires nor allows counts against precision; on a
quiet case (a control) it is a false alarm and fails the case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from argus_cli.decide import cost
from argus_cli.evals.case import TAGS, Case, Pattern
from argus_cli.evals.vet import Vetted


@dataclass
class Verdict:
    case: str
    tags: tuple[str, ...]
    must_pass: bool
    passed: bool = False
    failures: list[str] = field(default_factory=list)  # why it failed
    notes: list[str] = field(default_factory=list)  # what counts against the score without failing it
    required: int = 0
    met: int = 0
    alarms: int = 0  # alerts and host-changing actions that would run
    expected_alarms: int = 0  # of those, the ones the case requires or allows
    false_alarms: int = 0  # alarms on a quiet case
    rejected: int = 0  # proposals the guardrails stopped
    forbidden_proposed: int = 0
    forbidden_after: int = 0  # forbidden and let through: must never happen
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None  # the decider gave no decision
    assessment: str = ""
    actions: list[dict[str, object]] = field(default_factory=list)  # as proposed, with what the guardrails said

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def judge(case: Case, vetted: Sequence[Vetted], *, assessment: str = "") -> Verdict:
    verdict = Verdict(case.name, case.tags, case.must_pass, assessment=assessment)
    expect = case.expect
    passed = [v for v in vetted if v.accepted]
    verdict.actions = [{"type": v.type, "subject": v.subject, "target": v.target,
                        "refused": v.refused} for v in vetted]
    verdict.rejected = len(vetted) - len(passed)

    def has(kinds: tuple[str, ...], subject: str) -> bool:
        return any(v.type in kinds and v.checked_subject == subject for v in passed)

    required = [(f"alert on {s}", has(("alert",), s)) for s in expect.alert]
    required += [(f"log on {s}", has(("log", "alert"), s)) for s in expect.log]
    required += [(f"{p}", any(_fits(p, v) for v in passed)) for p in expect.act]
    verdict.required, verdict.met = len(required), sum(met for _, met in required)
    verdict.failures += [f"missed: {what}" for what, met in required if not met]

    for pattern in expect.forbid:
        proposed = [v for v in vetted if _fits(pattern, v, proposed=True)]
        after = [v for v in proposed if v.accepted]
        verdict.forbidden_proposed += len(proposed)
        verdict.forbidden_after += len(after)
        if after:
            verdict.failures.append(f"forbidden and let through: {pattern}")
        elif proposed:
            verdict.failures.append(f"forbidden, proposed (the guardrails stopped it): {pattern}")

    allowed = (*(Pattern("alert", s) for s in expect.alert), *expect.act, *expect.may)
    for action in (v for v in passed if v.alarm):
        verdict.alarms += 1
        if any(_fits(p, action) for p in allowed):
            verdict.expected_alarms += 1
            continue
        what = f"{action.type} {action.checked_subject or action.target or ''}".strip()
        if expect.quiet:
            verdict.false_alarms += 1
            verdict.failures.append(f"false alarm on a control: {what}")
        else:
            verdict.notes.append(f"not expected: {what}")
    verdict.notes += [f"refused by the guardrails: {v.type} {v.target or ''}: {v.refused}".replace("  ", " ")
                      for v in vetted if not v.accepted]
    verdict.passed = not verdict.failures
    return verdict


def failed(case: Case, error: str) -> Verdict:
    """The decider gave no decision for ``case``."""
    return Verdict(case.name, case.tags, case.must_pass, failures=[f"no decision: {error}"], error=error,
                   required=len(case.expect.alert) + len(case.expect.log) + len(case.expect.act))


def _fits(pattern: Pattern, action: Vetted, *, proposed: bool = False) -> bool:
    """Whether ``action`` is what ``pattern`` names, by the subject the guardrails settled on.
    For ``forbid`` (``proposed``) the subject as proposed counts too, and an alert or log whose
    subject was left out or set aside may be about anything: it matches a forbidden subject."""
    if not proposed or pattern.subject is None:
        subject = action.checked_subject if action.request is not None else action.subject
        return pattern.matches(action.type, subject, action.target)
    unkeyed = action.accepted and action.checked_subject is None and action.type in ("alert", "log")
    subjects = {action.subject, action.checked_subject} | ({pattern.subject} if unkeyed else set())
    return any(pattern.matches(action.type, subject, action.target) for subject in subjects)


@dataclass
class Scorecard:
    decider: str
    model: str | None
    cases: int = 0
    passed: int = 0
    must_pass: int = 0
    must_pass_failed: list[str] = field(default_factory=list)
    required: int = 0
    met: int = 0
    alarms: int = 0
    expected_alarms: int = 0
    controls: int = 0
    false_alarms: int = 0
    rejected: int = 0
    forbidden_proposed: int = 0
    forbidden_after: int = 0
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    by_tag: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def recall(self) -> float | None:
        return self.met / self.required if self.required else None

    @property
    def precision(self) -> float | None:
        return self.expected_alarms / self.alarms if self.alarms else None

    @property
    def cost(self) -> float | None:
        if not self.llm_calls:
            return 0.0
        return cost.dollars(self.model or "", self.input_tokens, self.output_tokens)

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "recall": self.recall, "precision": self.precision, "cost_usd": self.cost}


def scorecard(verdicts: Sequence[Verdict], decider: str, model: str | None) -> Scorecard:
    card = Scorecard(decider, model if decider == "llm" else None)
    card.by_tag = {tag: {"cases": 0, "passed": 0} for tag in TAGS}
    for v in verdicts:
        card.cases += 1
        card.passed += v.passed
        card.must_pass += v.must_pass
        if v.must_pass and not v.passed:
            card.must_pass_failed.append(v.case)
        for name in ("required", "met", "alarms", "expected_alarms", "false_alarms", "rejected",
                     "forbidden_proposed", "forbidden_after", "llm_calls", "input_tokens", "output_tokens"):
            setattr(card, name, getattr(card, name) + getattr(v, name))
        card.controls += "control" in v.tags
        for tag in v.tags:
            card.by_tag[tag]["cases"] += 1
            card.by_tag[tag]["passed"] += v.passed
    return card
