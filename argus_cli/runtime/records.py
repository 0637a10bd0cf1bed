"""What a cycle leaves behind (ARCHITECTURE.md §4): cycle-state.json, cycles.jsonl, last_decision.json,
last_response.json; plus the two checks that read them: the self-check and the disk guard; and the
rotation of the append-only records, which only the cycle does."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from argus_cli.config import Config
from argus_cli.model import ActionResult, Decision, iso_z
from argus_cli.state import layout
from argus_cli.state.files import OPTIONAL_NUMBER, OPTIONAL_STR, append_jsonl, check_fields
from argus_cli.state.layout import CycleState, LastDecision, LastResponse
from argus_cli.state.records import newest_valid
from argus_cli.text import one_line

SELF_ALERT_EVERY = 3  # the 3rd consecutive failure alerts, and every third after it


def record_files(config: Config) -> tuple[Path, ...]:
    """The append-only records that rotate by ARGUS_RECORDS_MAX_MB (``state/records.py``)."""
    state = config.state_dir
    return (config.problems_file, state / layout.CYCLES, state / layout.METRICS, state / layout.LLM_EXCHANGES)


def rotate_records(config: Config) -> tuple[list[str], list[str]]:
    """Rotate each record past ARGUS_RECORDS_MAX_MB, keeping ARGUS_RECORDS_KEEP copies; called
    by the lock holder once at the start of a cycle, so a cycle's lines stay in one file.
    (rotated names, errors): a record that cannot rotate is said, and the cycle goes on."""
    from argus_cli.state.records import rotate

    rotated, errors = [], []
    for path in record_files(config):
        try:
            if rotate(path, config.records_max_mb * 1024 * 1024, config.records_keep):
                rotated.append(path.name)
        except OSError as exc:
            errors.append(f"rotating {path}: {exc.strerror or exc}")
    return rotated, errors


@dataclass
class CycleRecord:
    """Everything one cycle reports, filled in as its steps return; ``line()`` is its cycles.jsonl line."""

    now: float
    dry_run: bool
    status: str = "ok"
    detail: str = ""
    decider: str | None = None
    llm_called: bool = False
    llm_skip_reason: str | None = None
    llm_reason: str | None = None
    llm_error: str | None = None
    usage: dict[str, int] | None = None
    model: str | None = None
    assessment: str | None = None
    actions: list[dict[str, object]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)  # outbox, self_monitor, disk_guard, orphan_sweep
    duration_ms: int = 0
    health: str = "blind"  # ok | warning | critical | blind: what the host looked like; blind until seen
    open_findings: int = 0
    findings: list[dict[str, str]] = field(default_factory=list)  # what the rules saw (capped), for explain
    # act | observe (nothing host-changing may run: ARGUS_AUTONOMY or a maintenance window) | dry-run
    mode: str = "act"
    autonomy: str = "act"  # the effective ARGUS_AUTONOMY of this cycle, e.g. "ask,clean_disk=act"

    def fail(self, detail: str) -> None:
        """Mark the cycle failed; the first cause is the detail, later ones are appended."""
        self.status = "failed"
        self.detail = detail if not self.detail else f"{self.detail}; {detail}"

    @property
    def effective_mode(self) -> str:
        return "dry-run" if self.dry_run else self.mode

    def line(self) -> dict[str, object]:
        return {"ts": iso_z(self.now), "duration_ms": self.duration_ms, "status": self.status,
                "detail": self.detail, "decider": self.decider, "llm_called": self.llm_called,
                "llm_skip_reason": self.llm_skip_reason, "llm_reason": self.llm_reason,
                "llm_error": self.llm_error, "usage": self.usage, "model": self.model,
                "assessment": self.assessment, "actions": self.actions, "errors": self.errors,
                "dry_run": self.dry_run, "health": self.health, "open_findings": self.open_findings,
                "findings": self.findings, "mode": self.effective_mode,
                "autonomy": self.autonomy, **self.extra}


HEALTH_ORDER = ("ok", "blind", "warning", "critical")  # worse to the right


def health_of(severities: list[str], blind: bool) -> str:
    """The cycle's verdict on the host: its worst open problem; ``blind`` when nothing is wrong
    in what it saw but it could not see everything (a "status ok" is not a healthy host)."""
    if "critical" in severities:
        return "critical"
    if "warning" in severities:
        return "warning"
    return "blind" if blind else "ok"


def action_summaries(decision: Decision, results: list[ActionResult]) -> list[dict[str, object]]:
    """Each action as cycles.jsonl keeps it: with its subject and its own words (message,
    observation or reason), which the next decision is shown."""
    by_index = {r.index: r for r in results}
    out = []
    for index, action in enumerate(decision.actions):
        result = by_index.get(index)
        raw = action if isinstance(action, dict) else {}
        words = next((raw[k] for k in ("message", "observation", "reason") if isinstance(raw.get(k), str)), None)
        # the subject as the guardrails checked it; a refused action's as the decider wrote it
        subject = result.extra.get("subject") if result and "subject" in result.extra else raw.get("subject")
        out.append({"type": result.type if result else raw.get("type"), "target": result.target if result else None,
                    "subject": subject if isinstance(subject, str) else None,
                    "text": one_line(words, 300) if words else None,
                    # why the decider asked for it (a host-changing action's own words are its reason)
                    "reason": one_line(raw["reason"], 300) if isinstance(raw.get("reason"), str) else None,
                    "status": result.status if result else "not_run",
                    "detail": result.detail if result else "the cycle ended before this action"})
    return out


def valid_cycle_line(value: Any) -> None:
    """The shape of one cycles.jsonl line, as the renderers and reports read it."""
    check_fields(value, {"ts": (str,), "status": (str,), "detail": OPTIONAL_STR, "decider": OPTIONAL_STR,
                         "assessment": OPTIONAL_STR, "duration_ms": OPTIONAL_NUMBER, "actions": (list,),
                         "errors": (list,), "llm_skip_reason": OPTIONAL_STR})


def last_cycle_line(config: Config, look_back: int = 20) -> dict[str, Any] | None:
    """The newest well-formed cycles.jsonl line (a hand-edited or foreign line is passed over)."""
    return newest_valid(config.state_dir / layout.CYCLES, valid_cycle_line, look_back)


def read_state(config: Config) -> CycleState:
    """The last cycle's state; the defaults when there is none (first run, or unusable)."""
    return layout.CYCLE_STATE.read(config.state_dir) or CycleState()


def next_state(previous: CycleState, status: str, detail: str, now: float, mode: str | None = None) -> CycleState:
    """The new cycle-state: failures count up on ``failed`` and reset on ok/fallback. A dry run
    (someone trying a change by hand) says when it ran and how, but leaves the count of the
    real cycles' failures, and the self-monitor that counts on it, as it was."""
    before = previous.consecutive_failures
    before = before if isinstance(before, int) and before >= 0 else 0
    failures = before if mode == "dry-run" else before + 1 if status == "failed" else 0
    return CycleState(status, iso_z(now), detail, failures, previous.self_alert_for if failures else None, mode)


def self_alert_due(state: CycleState) -> int | None:
    """The failure count to alert about, when it is the 3rd, 6th, ... and not alerted yet."""
    failures = state.consecutive_failures
    if not isinstance(failures, int) or failures < SELF_ALERT_EVERY or failures % SELF_ALERT_EVERY:
        return None
    return None if state.self_alert_for == failures else failures


def mark_self_alerted(config: Config, state: CycleState, failures: int) -> None:
    layout.CYCLE_STATE.write(config.state_dir, msgspec.structs.replace(state, self_alert_for=failures))


class DiskGuard(NamedTuple):
    tripped: bool
    path: str
    free_mb: int


def disk_guard(config: Config) -> DiskGuard:
    """The tightest of the state dir's filesystem and the watched paths, against ARGUS_MIN_FREE_MB."""
    worst: DiskGuard | None = None
    for path in (str(config.state_dir), *config.disk_paths):
        probe = Path(path)
        while not probe.exists() and probe != probe.parent:  # the state dir may not exist yet
            probe = probe.parent
        try:
            free_mb = shutil.disk_usage(probe).free // (1024 * 1024)
        except OSError:
            continue
        if worst is None or free_mb < worst.free_mb:
            worst = DiskGuard(free_mb < config.min_free_mb, path, free_mb)
    return worst or DiskGuard(False, "", 0)


def append_cycle(config: Config, record: CycleRecord) -> None:
    append_jsonl(config.state_dir / layout.CYCLES, record.line())


def append_minimal_cycle(config: Config, record: CycleRecord) -> None:
    """The line written when the full one cannot be: plain values only, so it always serialises."""
    append_jsonl(config.state_dir / layout.CYCLES, {
        "ts": iso_z(record.now), "duration_ms": record.duration_ms, "status": "failed",
        "detail": str(record.detail)[:300], "dry_run": record.dry_run})


def read_last_decision(config: Config) -> LastDecision | None:
    return layout.LAST_DECISION.read(config.state_dir)


def write_last_decision(config: Config, decision: Decision, results: list[ActionResult],
                        record: CycleRecord) -> None:
    # every key of the decision: a field Decision gains and this type lacks fails loudly here
    fields: dict[str, Any] = decision.to_dict()
    layout.LAST_DECISION.write(config.state_dir, LastDecision(
        ts=iso_z(record.now), status=record.status, dry_run=record.dry_run,
        **fields, results=[r.to_dict() for r in results]))


def write_last_response(config: Config, raw: dict[str, object], now: float) -> None:
    layout.LAST_RESPONSE.write(config.state_dir, LastResponse(iso_z(now), raw))


def write_state(config: Config, previous: CycleState, record: CycleRecord) -> CycleState:
    state = next_state(previous, record.status, record.detail, record.now, record.effective_mode)
    layout.CYCLE_STATE.write(config.state_dir, state)
    return state
