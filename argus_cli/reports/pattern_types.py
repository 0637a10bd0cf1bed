"""The pattern report's shape, shared by the detectors and the seed's (``patterns_compat``), and
how a host string becomes part of a pattern id."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import NotRequired, TypedDict

from argus_cli.reports.incidents import TopSubject

# What a detector puts in ``data``: the seed's detectors a key and a count; the newer ones also
# lists (the hours that stand out) and small maps (counts per hour, per severity).
PatternValue = str | int | float | bool | None | list[str] | Mapping[str, float]


class Pattern(TypedDict):
    id: str
    type: str
    severity: str
    summary: str
    recommendation: str
    data: Mapping[str, PatternValue]


class PatternAnalysis(TypedDict):
    """``pattern-analysis.json``: the original script's keys, then Argus's own."""

    generated_at: str
    window_days: int
    total_problems: int
    patterns: list[Pattern]
    # Problems per UTC hour of day, all 24 ("00".."23"): the histogram of the human view. Not in
    # the seed's report (`patterns analyze --compat`).
    hour_of_day: NotRequired[dict[str, int]]
    # Added by `argus patterns analyze` from incidents.jsonl; not part of the detect signature.
    top_subjects: NotRequired[list[TopSubject]]


def make_pattern(pid: str, kind: str, severity: str, summary: str, recommendation: str,
                 *, data: Mapping[str, PatternValue]) -> Pattern:
    return {"id": pid, "type": kind, "severity": severity, "summary": summary,
            "recommendation": recommendation, "data": data}


SLUG_MAX = 40
_NOT_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str) -> str:
    """``text`` as the tail of a pattern id: letters, digits, ``._-`` and at most SLUG_MAX of them.

    A name that had to change for that (``$(rm -rf /)``, a markup-like ``[/x]``, a long one) gets
    8 hex digits of its hash, so two names that clean up alike still get two ids."""
    clean = _NOT_SLUG.sub("-", text).strip("-.")[:SLUG_MAX]
    if clean == text:
        return clean
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{clean}-{digest}" if clean else digest
