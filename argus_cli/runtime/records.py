"""What a cycle leaves behind (ARCHITECTURE.md §4): cycle-state.json, cycles.jsonl, last_decision.json,
last_response.json; plus the two checks that read them: the self-check and the disk guard."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, NamedTuple

from argus_cli.config import Config
from argus_cli.model import ActionResult, Decision, iso_z
from argus_cli.state.cycle_state import CYCLE_STATE, read_cycle_state
from argus_cli.state.files import (
    OPTIONAL_NUMBER,
    OPTIONAL_STR,
    append_jsonl,
    atomic_write_json,
    check_fields,
    newest_valid,
    read_json,
)

CYCLES = "cycles.jsonl"
LAST_DECISION = "last_decision.json"
LAST_RESPONSE = "last_response.json"
LOCK = "cycle.lock"
SELF_ALERT_EVERY = 3  # the 3rd consecutive failure alerts, and every third after it


class CycleRecord:
    """Everything one cycle reports; ``line()`` is its cycles.jsonl line.

    A plain class: a dataclass this size costs ~1 ms to define, on every cycle's import path.
    """

    def __init__(self, now: float, dry_run: bool) -> None:
        self.now, self.dry_run = now, dry_run
        self.status, self.detail = "ok", ""
        self.decider: str | None = None
        self.llm_called = False
        self.llm_skip_reason: str | None = None
        self.llm_reason: str | None = None
        self.llm_error: str | None = None
        self.usage: dict[str, int] | None = None
        self.model: str | None = None
        self.assessment: str | None = None
        self.actions: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.extra: dict[str, Any] = {}
        self.duration_ms = 0

    def fail(self, detail: str) -> None:
        """Mark the cycle failed; the first cause is the detail, later ones are appended."""
        self.status = "failed"
        self.detail = detail if not self.detail else f"{self.detail}; {detail}"

    def line(self) -> dict[str, Any]:
        return {"ts": iso_z(self.now), "duration_ms": self.duration_ms, "status": self.status,
                "detail": self.detail, "decider": self.decider, "llm_called": self.llm_called,
                "llm_skip_reason": self.llm_skip_reason, "llm_reason": self.llm_reason,
                "llm_error": self.llm_error, "usage": self.usage, "model": self.model,
                "assessment": self.assessment, "actions": self.actions, "errors": self.errors,
                "dry_run": self.dry_run, **self.extra}


def action_summaries(decision: Decision, results: list[ActionResult]) -> list[dict[str, Any]]:
    by_index = {r.index: r for r in results}
    out = []
    for index, action in enumerate(decision.actions):
        result = by_index.get(index)
        kind = action.get("type") if isinstance(action, dict) else None
        out.append({"type": result.type if result else kind, "target": result.target if result else None,
                    "status": result.status if result else "not_run",
                    "detail": result.detail if result else "the cycle ended before this action"})
    return out


def valid_cycle_line(value: Any) -> None:
    """The shape of one cycles.jsonl line, as the renderers and reports read it."""
    check_fields(value, {"ts": (str,), "status": (str,), "detail": OPTIONAL_STR, "decider": OPTIONAL_STR,
                         "assessment": OPTIONAL_STR, "duration_ms": OPTIONAL_NUMBER, "actions": (list,),
                         "errors": (list,), "llm_skip_reason": OPTIONAL_STR})


def valid_decision(value: Any) -> None:
    """The shape of ``last_decision.json``."""
    check_fields(value, {"ts": (str,), "decider": OPTIONAL_STR, "assessment": OPTIONAL_STR, "actions": (list,),
                         "results": (list,), "observations": (list,)})


def last_cycle_line(config: Config, look_back: int = 20) -> dict[str, Any] | None:
    """The newest well-formed cycles.jsonl line (a hand-edited or foreign line is passed over)."""
    return newest_valid(config.state_dir / CYCLES, valid_cycle_line, look_back)


def read_last_decision(config: Config) -> dict[str, Any]:
    """For `argus last`, which only reads: a bad file is reported and left for the next cycle."""
    return read_json(config.state_dir / LAST_DECISION, dict, validate=valid_decision, repair=False)


def read_state(config: Config) -> dict[str, Any]:
    return read_cycle_state(config.state_dir)


def next_state(previous: dict[str, Any], status: str, detail: str, now: float) -> dict[str, Any]:
    """The new cycle-state: failures count up on ``failed`` and reset on ok/fallback."""
    before = previous.get("consecutive_failures")
    before = before if isinstance(before, int) and before >= 0 else 0
    failures = before + 1 if status == "failed" else 0
    state = {"status": status, "timestamp": iso_z(now), "detail": detail, "consecutive_failures": failures}
    if failures and previous.get("self_alert_for") is not None:
        state["self_alert_for"] = previous["self_alert_for"]
    return state


def self_alert_due(state: dict[str, Any]) -> int | None:
    """The failure count to alert about, when it is the 3rd, 6th, ... and not alerted yet."""
    failures = state.get("consecutive_failures")
    if not isinstance(failures, int) or failures < SELF_ALERT_EVERY or failures % SELF_ALERT_EVERY:
        return None
    return None if state.get("self_alert_for") == failures else failures


def mark_self_alerted(config: Config, state: dict[str, Any], failures: int) -> None:
    atomic_write_json(config.state_dir / CYCLE_STATE, {**state, "self_alert_for": failures})


class DiskGuard(NamedTuple):
    tripped: bool
    path: str
    free_mb: int


def disk_guard(config: Config) -> DiskGuard:
    """The tightest of the state dir's filesystem and the watched paths, against ARGUS_MIN_FREE_MB."""
    worst: DiskGuard | None = None
    for path in (str(config.state_dir), *config["ARGUS_DISK_PATHS"]):
        probe = Path(path)
        while not probe.exists() and probe != probe.parent:  # the state dir may not exist yet
            probe = probe.parent
        try:
            free_mb = shutil.disk_usage(probe).free // (1024 * 1024)
        except OSError:
            continue
        if worst is None or free_mb < worst.free_mb:
            worst = DiskGuard(free_mb < config["ARGUS_MIN_FREE_MB"], path, free_mb)
    return worst or DiskGuard(False, "", 0)


def append_cycle(config: Config, record: CycleRecord) -> None:
    append_jsonl(config.state_dir / CYCLES, record.line())


def append_minimal_cycle(config: Config, record: CycleRecord) -> None:
    """The line written when the full one cannot be: plain values only, so it always serialises."""
    append_jsonl(config.state_dir / CYCLES, {
        "ts": iso_z(record.now), "duration_ms": record.duration_ms, "status": "failed",
        "detail": str(record.detail)[:300], "dry_run": record.dry_run})


def write_last_decision(config: Config, decision: Decision, results: list[ActionResult],
                        record: CycleRecord) -> None:
    atomic_write_json(config.state_dir / LAST_DECISION, {
        "ts": iso_z(record.now), "status": record.status, "dry_run": record.dry_run,
        **decision.to_dict(), "results": [r.to_dict() for r in results],
    })


def write_last_response(config: Config, raw: dict[str, Any], now: float) -> None:
    atomic_write_json(config.state_dir / LAST_RESPONSE, {"ts": iso_z(now), "response": raw})


def write_state(config: Config, previous: dict[str, Any], record: CycleRecord) -> dict[str, Any]:
    state = next_state(previous, record.status, record.detail, record.now)
    atomic_write_json(config.state_dir / CYCLE_STATE, state)
    return state
