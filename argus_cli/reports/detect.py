"""``argus patterns detect``: one summary bead per pattern signature per UTC day.

The signature is the sha256 of the canonical JSON (sorted keys, compact, UTF-8) of the patterns
list, so the same findings give the same signature whatever the key order. Every signature
reported today is remembered in ``pattern-detect-state.json``, so findings that flip back and
forth within a day still produce one bead each, not one per run. A signature whose bead could
not be made (bd missing or failing) is not remembered: the next run tries again, at most
``MAX_ATTEMPTS`` times a day (a bd that makes the bead and then fails must not make one per run).
A lock keeps two concurrent runs from both creating the bead.

The analysis written to ``pattern-analysis.json`` carries ``top_subjects`` (the incident subjects
that recur most in the window, from ``incidents.jsonl``) as ``patterns analyze`` writes it; they
are not part of the signature, which stays the registry's findings alone.

How the bead is made is the caller's: ``detect`` takes the creator (``notify.beads`` in the
command), so reports decide *when* to report and never import a sender (docs/ARCHITECTURE.md §2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from argus_cli.config import Config
from argus_cli.model import iso_z
from argus_cli.reports.incidents import IncidentHistory, read_incidents
from argus_cli.reports.patterns import Pattern, PatternAnalysis, compute_patterns
from argus_cli.reports.scan import ScanResult
from argus_cli.state import layout
from argus_cli.state.files import append_jsonl, atomic_write_json
from argus_cli.state.layout import PATTERN_DETECT_STATE, PatternDetectState
from argus_cli.state.lock import FileLock

BEAD_TITLE = "[argus] pattern-analysis: recurring operational patterns"
MAX_ATTEMPTS = 3  # bead creations tried per signature per UTC day

# (config, title, body) -> the new bead's id, or None when bd is missing or failed.
BeadCreator = Callable[[Config, str, str], str | None]


@dataclass(frozen=True)
class DetectOutcome:
    status: str  # "none" | "already-reported" | "reported"
    pattern_count: int
    signature: str | None
    bead_id: str | None
    scan: ScanResult
    incidents: IncidentHistory  # its skipped lines are the caller's to report, like the scan's
    window_days: int = 0

    attempts: int = 0

    @property
    def retry(self) -> bool:
        """Reported without a bead: the next run tries again (while tries are left today)."""
        return self.status == "reported" and self.bead_id is None and self.attempts < MAX_ATTEMPTS

    def to_dict(self, now: float) -> dict[str, object]:
        return {"status": self.status, "date": iso_z(now)[:10], "window_days": self.window_days,
                "pattern_count": self.pattern_count, "signature": self.signature, "bead_id": self.bead_id,
                "attempts_today": self.attempts, "retry_next_run": self.retry}

    def message(self) -> str:
        if self.status == "none":
            return "No patterns detected"
        if self.status == "already-reported":
            return f"Patterns already reported today ({self.pattern_count} patterns)"
        bead = (f", bead {self.bead_id}" if self.bead_id
                else ", no bead (bd unavailable or failed; tried again next run)")
        return f"Pattern detection reported ({self.pattern_count} patterns{bead})"


def signature_of(patterns: list[Pattern]) -> str:
    return hashlib.sha256(orjson.dumps(patterns, option=orjson.OPT_SORT_KEYS)).hexdigest()


def run_analysis(config: Config, now: float) -> tuple[PatternAnalysis, ScanResult, IncidentHistory]:
    """``patterns analyze`` as detect runs it: the analysis, with the top recurring incident
    subjects of the same window, written to pattern-analysis.json. Raises OSError when the
    registry or the incident log cannot be read, as ``patterns analyze`` does."""
    days = config.pattern_window_days
    analysis, scan = compute_patterns(config.problems_file, config.state_dir, now, days)
    history = read_incidents(config.state_dir / layout.INCIDENT_LOG, now, days)
    analysis["top_subjects"] = history.top_subjects
    atomic_write_json(config.state_dir / layout.PATTERN_ANALYSIS, analysis)
    return analysis, scan, history


def detect(config: Config, now: float, create_bead: BeadCreator) -> DetectOutcome:
    """Analyse, and report the patterns once per signature per UTC day. Raises LockBusy.

    ``create_bead`` runs under the lock, so two concurrent runs never both create one."""
    analysis, scan, history = run_analysis(config, now)
    patterns = analysis["patterns"]
    days = config.pattern_window_days
    if not patterns:
        return DetectOutcome("none", 0, None, None, scan, history, days)
    signature = signature_of(patterns)
    today = iso_z(now)[:10]
    with FileLock(config.state_dir / layout.PATTERN_DETECT_LOCK):
        state = PATTERN_DETECT_STATE.read(config.state_dir) or PatternDetectState()
        same_day = state.date == today
        reported = state.signatures if same_day else []
        beads = dict(state.beads) if same_day else {}
        attempts = dict(state.attempts) if same_day else {}
        if signature in reported or attempts.get(signature, 0) >= MAX_ATTEMPTS:
            bead = beads.get(signature) or (state.last_bead_id if state.last_signature == signature else None)
            return DetectOutcome("already-reported", len(patterns), signature, bead, scan, history, days,
                                 attempts.get(signature, 0))
        attempts[signature] = attempts.get(signature, 0) + 1
        bead_id = create_bead(config, BEAD_TITLE, bead_body(analysis, signature, now))
        append_jsonl(config.state_dir / layout.PATTERNS, {
            "ts": iso_z(now), "signature": signature, "pattern_count": len(patterns), "bead_id": bead_id})
        # only a bead that exists closes the day for this signature: a failed one is tried again
        remembered = [*reported, signature] if bead_id else reported
        if bead_id:
            beads[signature] = bead_id
        PATTERN_DETECT_STATE.write(config.state_dir, PatternDetectState(
            today, remembered, signature, bead_id, beads, attempts))
    return DetectOutcome("reported", len(patterns), signature, bead_id, scan, history, days, attempts[signature])


def bead_body(analysis: PatternAnalysis, signature: str, now: float) -> str:
    lines = [f"Argus pattern detection summary ({iso_z(now)})", "",
             f"Window days: {analysis['window_days']}",
             f"Total problems analyzed: {analysis['total_problems']}",
             f"Pattern count: {len(analysis['patterns'])}", ""]
    lines += [f"- [{p['severity']}] {p['summary']} Recommendation: {p['recommendation']}"
              for p in analysis["patterns"]]
    lines += ["", f"Signature: {signature}"]
    return "\n".join(lines)
