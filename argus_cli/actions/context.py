"""What every action gets (config, snapshot, clock, tuning) and what it hands back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from argus_cli.config import Autonomy, Config
from argus_cli.snapshot import Snapshot

if TYPE_CHECKING:  # the notify layer loads only when an alert runs
    from argus_cli.incidents.book import Book
    from argus_cli.notify.budget import DeliveryBudget


@dataclass(frozen=True)
class Tuning:
    """Waits and hooks; the defaults are those of docs/ARCHITECTURE.md, tests shorten them."""

    kill_grace: float = 5.0  # SIGTERM -> SIGKILL
    active_timeout: float = 10.0  # restart_service: is-active must say active within this
    poll_interval: float = 0.5
    command_timeout: float = 30.0  # any systemctl/tmux call
    sleep: Callable[[float], None] = time.sleep
    home: str | None = None  # $HOME for ~/.cache roots; None = the process's
    before_descend: Callable[[str], None] | None = None  # clean_disk test hook: called with a relative path


@dataclass
class ActionContext:
    config: Config
    snapshot: Snapshot | None
    now: float
    dry_run: bool
    tuning: Tuning = field(default_factory=Tuning)
    delivery: DeliveryBudget | None = None  # the cycle's Telegram budget, shared by its alerts
    # False when the snapshot was taken after the decision (argus act on a bare decision): good for
    # enriching an alert, not for proving that a PID is the process the decider meant.
    decided_on_snapshot: bool = True
    incidents: Book | None = None  # the cycle's incident book; None for `argus act` on its own
    # ARGUS_AUTONOMY as it holds now (a maintenance window makes it observe); None: the configured one
    autonomy: Autonomy | None = None
    approved_now: frozenset[str] = frozenset()  # "type target" of approved requests run this cycle


@dataclass
class ProblemDraft:
    """A registry line to write, minus ts/host/bead (filled in when recorded)."""

    type: str
    severity: str
    description: str
    action_taken: str
    action_result: str
    bead: str = "auto"  # auto (failure or recurrence) | always | never
    bead_key: str | None = None  # a stable key for the bead, when not the problem's own
    relay: bool = True
    key: str | None = None  # the incident's fingerprint, when the action named a subject


@dataclass
class Outcome:
    status: str  # success | failure | skipped | suppressed | rejected
    detail: str
    problem: ProblemDraft | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    after_record: Callable[[str | None], None] | None = None  # gets the bead id, e.g. to close it
    would: bool = False  # a dry run's "would do it": every host check passed (observe and ask rely on it)


def rejected_or_failed(status: str, why: str, *, reason: str, action_taken: str, problem_type: str,
                       bead_key: str | None = None, extra: dict[str, Any] | None = None) -> Outcome:
    """A host-changing action refused at execution time (``rejected``, a warning) or gone wrong
    (``failure``, critical). The registry keeps the decider's reason and what stopped it."""
    mark, severity = ("failed", "critical") if status == "failure" else ("rejected", "warning")
    draft = ProblemDraft(problem_type, severity, f"{reason} [{mark}: {why}]", action_taken, status,
                         bead_key=bead_key)
    return Outcome(status, why, draft, dict(extra or {}))


_CRITICAL = ("critical", "fail", "down", "unreachable", "error")
_WARNING = ("warn", "high")
_TYPE_WORDS = (
    ("disk", ("disk", "space", "tmp", "cache")),
    ("memory", ("memory", "oom", "rss")),
    ("swap", ("swap",)),
    ("service", ("service", "systemctl", "restart", "gateway", "down", "unreachable")),
)


def infer_severity(text: str) -> str:
    lowered = text.lower()
    if any(word in lowered for word in _CRITICAL):
        return "critical"
    if any(word in lowered for word in _WARNING):
        return "warning"
    return "info"


def infer_type(text: str) -> str:
    lowered = text.lower()
    for kind, words in _TYPE_WORDS:
        if any(word in lowered for word in words):
            return kind
    return "process"
