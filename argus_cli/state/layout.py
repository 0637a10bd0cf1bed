"""Every file in the state directory (ARCHITECTURE.md §4): its name and, for each JSON state file,
its type, its one reader and its one writer.

Nothing else spells a state file's name. Four paths are configurable and so default in
``config.py``, a leaf below this module: the problem registry (``problems.jsonl``), the two
Relay fallback files and the log directory (``logs/``, holding ``LOG``).

A JSON state file is read by decoding it into its type: a file that does not decode (not JSON,
a wrong-typed field) is unusable, reported and read as missing (None); the owner of the state
moves it aside (``files.read_state``). Its writer is atomic (temp file, fsync, rename) and keeps
the keys earlier versions wrote: a missing key takes the field's default, so an older file
still reads, and ``UNSET`` marks the keys a writer leaves out rather than writing null.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Generic, TypeVar

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType, field

from argus_cli.state.files import Reporter, atomic_write_json, owning_state, read_state, to_stderr
from argus_cli.state.lock import waiting

# As read: a bool is no number, and an integer past 64 bits (which no writer could write back)
# makes the file unusable, so the owner moves it aside instead of failing on every rewrite.
Number = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)] | float
Count = Annotated[int, Meta(ge=0, le=2**63 - 1)]  # a count or an id that must be a whole number
# An epoch any date can show (1970 to 9999): a time past it in a hand-edited file makes the file
# unusable (moved aside by the owner) rather than failing every cycle where it is printed.
Time = Annotated[int, Meta(ge=0, le=253_402_300_799)] | Annotated[float, Meta(ge=0, le=253_402_300_799)]
LISTED = 100  # the most entries a list in incidents.json may hold (the book keeps 20)
S = TypeVar("S", bound=Struct)

# --- JSONL files (append_jsonl / iter_jsonl), locks and text files ------------------------------
CYCLES = "cycles.jsonl"  # one line per cycle: the audit trail
LLM_EXCHANGES = "llm.jsonl"  # one line per LLM call (+ rotated copies, state/records.py)
OUTBOX = "outbox.jsonl"  # Telegram alerts not yet delivered
OUTBOX_DELIVERED = "outbox-delivered.jsonl"  # ids Telegram took, until the outbox drops them
PATTERNS = "patterns.jsonl"  # one line per pattern bead
INCIDENT_LOG = "incidents.jsonl"  # one line per incident opened or resolved
METRICS = "metrics.jsonl"  # one compact line of measurements per cycle (+ rotated copies)
CYCLE_LOCK = "cycle.lock"
OUTBOX_LOCK = "outbox.lock"
OUTBOX_FLUSH_LOCK = "outbox.flush.lock"
PATTERN_DETECT_LOCK = "pattern-detect.lock"
OBSERVATIONS = "observations.md"  # the log action's notes
LOG = "argus.log"  # in config.log_dir
PATTERN_ANALYSIS = "pattern-analysis.json"  # a report Argus writes and never reads back


class Unusable(RuntimeError):
    """A state file is there but cannot be used (unreadable, or bad and not moved aside): taking it
    for a missing one would answer "nothing" when Argus cannot know, or write over it."""


_READ_AS = re.compile(r"; (read as missing|left as it is)$")


class JsonFile(Generic[S]):
    """One JSON state file: its name, its type, one reader and one writer."""

    def __init__(self, name: str, shape: type[S]) -> None:
        self.name, self.shape = name, shape

    def path(self, state_dir: Path) -> Path:
        return state_dir / self.name

    def read(self, state_dir: Path, report: Reporter = to_stderr) -> S | None:
        """The file's value; None when it is missing or unusable (reported; moved aside only by
        the owner of the state)."""
        return read_state(self.path(state_dir), self._decode, report)

    def write(self, state_dir: Path, value: S) -> None:
        """Atomically; a value from outside that msgspec cannot encode is written as its str()."""
        atomic_write_json(self.path(state_dir), msgspec.to_builtins(value, enc_hook=str))

    def read_strict(self, state_dir: Path, report: Reporter = to_stderr) -> S | None:
        """``read``, but one still there that could not be used raises Unusable (one line) instead of
        reading as missing; one the owner moved aside is reported and reads as missing."""
        said: list[str] = []
        value = self.read(state_dir, said.append)
        if value is None and os.path.lexists(self.path(state_dir)):
            reasons = [_READ_AS.sub("", line.removeprefix("argus: ")) for line in said]
            raise Unusable("; ".join(reasons) or f"{self.path(state_dir)} cannot be used")
        for line in said:
            report(line)
        return value

    @contextlib.contextmanager
    def editing(self, state_dir: Path, lock: str, empty: Callable[[], S], tidy: Callable[[S], None], *,
                report: Reporter = to_stderr, wait: float = 5.0) -> Iterator[S]:
        """Read-modify-write for a file a cycle and an operator's command both change, each for
        milliseconds: under ``lock`` (waited for ``wait`` seconds, then LockBusy), as the file's
        owner (a bad one is moved aside; one that cannot be is Unusable, never overwritten);
        ``tidy`` bounds it; written back atomically when the block changed it."""
        with waiting(state_dir / lock, wait), owning_state():
            value = self.read_strict(state_dir, report) or empty()
            before = msgspec.json.encode(value)
            yield value
            tidy(value)
            if msgspec.json.encode(value) != before:
                self.write(state_dir, value)

    def _decode(self, data: bytes) -> S:
        return msgspec.json.decode(data, type=self.shape)


# --- the cycle ------------------------------------------------------------------------------------

class CycleState(Struct, frozen=True, omit_defaults=True):
    """The last cycle's status and the count of failed cycles in a row (the self-monitor)."""

    status: str = ""
    timestamp: str = ""
    detail: str | None = None
    consecutive_failures: Number | UnsetType = UNSET
    self_alert_for: Number | None = None  # the failure count already alerted about
    mode: str | None = None  # act | observe | dry-run (None: written before modes existed)


class LastDecision(Struct, frozen=True):
    """The last cycle's decision and each action's result, as ``argus last`` shows them: only
    the fields it relies on are checked, and every one may be absent."""

    ts: str | UnsetType = UNSET
    status: object = UNSET
    dry_run: object = UNSET
    assessment: str | UnsetType | None = UNSET
    actions: list[object] | UnsetType = UNSET
    observations: list[object] | UnsetType = UNSET
    decider: str | UnsetType | None = UNSET
    model: object = UNSET  # an LLM decision only
    usage: object = UNSET
    results: list[object] | UnsetType = UNSET


class LastResponse(Struct, frozen=True):
    """The LLM's last answer as received (bounded); written for the operator, never read back."""

    ts: str
    response: dict[str, object]


CYCLE_STATE = JsonFile("cycle-state.json", CycleState)
LAST_DECISION = JsonFile("last_decision.json", LastDecision)
LAST_RESPONSE = JsonFile("last_response.json", LastResponse)


# --- actions ----------------------------------------------------------------------------------------

class DedupEntry(Struct, frozen=True, omit_defaults=True):
    last_seen: Number | None = None  # when the alert last went out (or, unsent, was last seen)
    count: Number | None = None  # every sighting
    unsent: bool = False  # never went out: counts sightings, suppresses nothing


class Dedup(Struct, frozen=True):
    """When each alert key last went out."""

    keys: dict[str, DedupEntry] = field(default_factory=dict)


class ServiceBackoff(Struct, frozen=True):
    attempts: Number | None = None
    last_attempt: Number | None = None
    last_success: Number | None = None
    cooldown_until: Number | None = None


class RestartBackoff(Struct, frozen=True):
    """Restart attempts and cooldowns per unit."""

    services: dict[str, ServiceBackoff] = field(default_factory=dict)


class OrphanSighting(Struct, frozen=True):
    create_time: Number | None = None  # the same PID with another start time is another process
    seen: Number = 0  # consecutive cycles


class Orphans(Struct, frozen=True):
    """Consecutive sightings per orphan (the orphan sweep)."""

    seen_cycles: Number | None = None
    last_sweep: Number | None = None
    pids: dict[str, OrphanSighting] = field(default_factory=dict)


DEDUP = JsonFile("dedup.json", Dedup)
RESTART_BACKOFF = JsonFile("restart-backoff.json", RestartBackoff)
ORPHANS = JsonFile("orphans.json", Orphans)


# --- incidents (incidents/book.py) ------------------------------------------------------------------

class Notice(Struct):
    """A notification an incident caused: opened, escalated, reminder, flapping, settled,
    ineffective or resolved; ``status`` is how it went (sent, queued, recorded, failed)."""

    kind: str
    at: Time
    status: str


class IncidentAction(Struct):
    """A host-changing action taken on an incident, what it should have changed, and whether
    the next cycle found it ``fixed``, ``unchanged`` or ``worse`` (None: not checked yet)."""

    type: str
    target: str | None
    at: Time
    status: str  # the action's own result
    pid: Count | None = None  # kill_pid: the process that must be gone
    create_time: Time | None = None
    percent: Number | None = None  # the subject's usage when the action ran (memory, disk)
    reclaimed: Number | None = None  # clean_disk: bytes freed
    reset_failed: bool = False  # restart_service: systemd's start limit was reset first
    outcome: str | None = None
    checked: Time | None = None


class Incident(Struct):
    """One open incident: a condition of a subject, from its first finding to its resolution."""

    id: str
    subject: str
    condition: str
    severity: str  # as last seen
    worst: str
    text: str  # the last finding's or alert's words, for notices
    opened: Time
    last_seen: Time
    absent: Count = 0  # consecutive cycles without its condition
    cleared: Time | None = None  # the first of those cycles: when it ended, for the duration
    reported: bool = False  # opened by a decider's action, no rule behind it
    notified: Time | None = None  # when a notification last went out about it
    notified_severity: str | None = None
    notices: Annotated[list[Notice], Meta(max_length=LISTED)] = field(default_factory=list)
    actions: Annotated[list[IncidentAction], Meta(max_length=LISTED)] = field(default_factory=list)
    # when the condition came or went, within the last hour (flapping)
    changes: Annotated[list[Time], Meta(max_length=LISTED)] = field(default_factory=list)
    flapping: bool = False
    # "type target" pairs found ineffective
    escalated: Annotated[list[str], Meta(max_length=LISTED)] = field(default_factory=list)
    # e.g. systemd restarting the unit on its own
    notes: Annotated[list[str], Meta(max_length=LISTED)] = field(default_factory=list)
    n_restarts: Count | None = None
    bead_id: str | None = None
    page: bool = False  # the operator must hear of it even if no decider alert says so


class Settled(Struct):
    """A fingerprint resolved within the last hour: its changes carry over if it comes back, so
    a flapping check is recognised across reopenings."""

    changes: Annotated[list[Time], Meta(max_length=LISTED)] = field(default_factory=list)
    flapping: bool = False
    resolved: Time = 0
    told: bool = False  # the operator was told it flaps: its end is worth a notice too
    notified: Time | None = None  # a reported incident's last notice, carried if it is raised again
    notified_severity: str | None = None


class Incidents(Struct):
    open: dict[str, Incident] = field(default_factory=dict)  # by fingerprint
    recent: dict[str, Settled] = field(default_factory=dict)
    # cycles in a row a finding that must hold a while (a check answering unknown) has been seen
    streaks: dict[str, Count] = field(default_factory=dict)
    gaps: dict[str, Count] = field(default_factory=dict)  # streaks kept through one clean cycle
    # resolved while a silence or a maintenance window held notifications about them, after the
    # operator had been told they were open: their resolved notice goes out when it ends
    held: Annotated[list[Incident], Meta(max_length=LISTED)] = field(default_factory=list)
    # alerts naming no subject that a silence of "*" or a window held back (their words)
    held_alerts: Annotated[list[str], Meta(max_length=LISTED)] = field(default_factory=list)
    held_dropped: Count = 0  # held notices past LISTED, dropped: the end notice says how many


INCIDENTS = JsonFile("incidents.json", Incidents)


# --- approvals (control/approvals.py) -------------------------------------------------------------

class ApprovalRequest(Struct):
    """An action ARGUS_AUTONOMY said to ask about: what it would do, the facts it relies on (checked
    again before it runs), and what became of it: ``pending``, then ``approved`` (to run next),
    ``denied``, ``snoozed``, ``expired``, ``done`` (it ran; ``outcome``) or ``dropped`` (the host
    changed before it could run; ``outcome`` says how)."""

    id: str
    type: str
    target: str
    subject: str | None
    reason: str
    created: Time
    expires: Time
    facts: dict[str, str | Number | None] = field(default_factory=dict)
    state: str = "pending"
    by: str | None = None  # who decided: "@name (telegram)" or "user (shell)"
    decided: Time | None = None
    until: Time | None = None  # denied or snoozed: not asked again before
    message_id: Count | None = None  # the Telegram message with the buttons
    announced: str | None = None  # sent | failed | unconfigured: how the request reached the operator
    outcome: str | None = None


class RefusedPress(Struct):
    """A button press (or an approve/deny command) that was not accepted, and why."""

    at: Time
    reason: str
    request: str | None = None
    origin: str = ""  # the chat or user it came from, printable


class Approvals(Struct):
    requests: Annotated[dict[str, ApprovalRequest], Meta(max_length=LISTED * 2)] = field(default_factory=dict)
    offset: Count = 0  # the next Telegram update to read (getUpdates)
    refused: Annotated[list[RefusedPress], Meta(max_length=LISTED)] = field(default_factory=list)


APPROVALS = JsonFile("approvals.json", Approvals)
APPROVALS_LOCK = "approvals.lock"
APPROVAL_KEY = "approval.key"  # the HMAC key that signs the buttons; 0600, created on first use


# --- the LLM pre-screen ---------------------------------------------------------------------------

class LlmBackoff(Struct, frozen=True):
    """The LLM's cooldown after failed calls; a success writes it without the last two keys."""

    failures: Number = 0
    until: Number = 0
    delay_seconds: Number | UnsetType = UNSET
    last_error: str | None = None
    last_failure: Number | None = None
    rate_limited: bool | UnsetType = UNSET
    failing_since: Number | None = None  # the first failure since the last answer (decider degraded)


class Coarse(Struct, frozen=True):
    """What the host looked like at the last LLM call (``prescreen.coarse``), compared as numbers."""

    memory: Number | None = None
    swap: Number | None = None
    disk: dict[str, Number | None] = field(default_factory=dict)
    load_per_core: Number | None = None
    services: dict[str, object] | UnsetType = UNSET
    errors: list[object] | UnsetType = UNSET


class Prescreen(Struct, frozen=True):
    last_call: Number | None = None
    signature: str | None = None
    coarse: Coarse | UnsetType = UNSET


LLM_BACKOFF = JsonFile("llm-backoff.json", LlmBackoff)
PRESCREEN = JsonFile("prescreen.json", Prescreen)


# --- collectors and reports -------------------------------------------------------------------------

class CpuTimes(Struct, frozen=True):
    """CPU counters at the last collect. Any value is accepted and checked where used: a hand edit
    that is no number is no baseline and costs one short sample, as it always has."""

    ts: object = None
    busy: object = None
    idle: object = None


class PatternDetectState(Struct, frozen=True):
    """The pattern signatures reported today (one bead each)."""

    date: str | None = None
    signatures: list[str] = field(default_factory=list)
    last_signature: str | None = None
    last_bead_id: str | None = None
    beads: dict[str, str] = field(default_factory=dict)  # today's bead of each signature
    attempts: dict[str, Count] = field(default_factory=dict)  # today's tries of each, bead or not


CPU_TIMES = JsonFile("cpu-times.json", CpuTimes)
PATTERN_DETECT_STATE = JsonFile("pattern-detect-state.json", PatternDetectState)


# --- the Prometheus textfile (reports/prometheus.py, runtime/counters.py) -------------------------

LABELS = 32  # distinct statuses or modes counted by name; more (hand edits) count as "other"


class CycleTotals(Struct):
    """What cycles.jsonl adds up to: the Prometheus counters and the last cycle's gauges."""

    statuses: Annotated[dict[str, Count], Meta(max_length=LABELS)] = field(default_factory=dict)
    modes: Annotated[dict[str, Count], Meta(max_length=LABELS)] = field(default_factory=dict)
    llm_calls: Count = 0
    input_tokens: Count = 0
    output_tokens: Count = 0
    malformed: Count = 0  # lines that are no JSON object
    last_ts: str | None = None
    last_status: str | None = None
    last_mode: str | None = None
    # of the last cycle that looked at the host (a skipped one did not): its health and decider
    last_health: str | None = None
    last_decider: str | None = None


class CycleCounters(Struct):
    """The running totals behind the per-cycle textfile: cycles.jsonl counted up to byte ``offset``
    of the file whose first line hashes to ``head``, and the older files (rotated copies) named in
    ``finished`` to their end. ``pending`` is the ts of the writer's own line, counted before it was
    appended (the line says how the textfile went), so passed over once met."""

    totals: CycleTotals = field(default_factory=CycleTotals)
    offset: Count = 0
    head: str = ""
    finished: Annotated[list[str], Meta(max_length=LISTED + 1)] = field(default_factory=list)
    pending: str | None = None
    seeded: Time = 0  # when the totals were last counted from the whole file


CYCLE_COUNTERS = JsonFile("prometheus-counters.json", CycleCounters)


# --- silences (control/silences.py) ---------------------------------------------------------------

class Silence(Struct):
    """Notifications about the subjects matching ``pattern`` (an fnmatch glob) are held back from
    ``created`` until ``ends``; expiring it early sets ``ends`` and ``expired_by``."""

    id: str
    pattern: str
    reason: str
    created: Time
    ends: Time
    by: str  # the unix user who added it
    expired_by: str | None = None  # who ended it early
    announced: bool = False  # a cycle announced its end


class Silences(Struct):
    silences: Annotated[dict[str, Silence], Meta(max_length=LISTED)] = field(default_factory=dict)  # by id
    maintenance: str | None = None  # the maintenance window in force at the last cycle (the cycle's)


SILENCES = JsonFile("silences.json", Silences)
SILENCES_LOCK = "silences.lock"
