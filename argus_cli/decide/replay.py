"""``argus replay``: ask the LLM again, with a new system prompt, what it would have decided in
past cycles, and compare (``replay_diff.py``). Nothing is executed.

The cycles come from llm.jsonl and its rotated copies, newest first: the recent ones show the
host as it is now, and ``--max-calls`` leaves out the oldest. Only real cycles are replayed:
a dry run (``argus decide``, ``cycle --dry-run``, a replay) is no decision the host lived with. A line
whose user message was cut at 64 KiB cannot be sent as it was and is skipped (counted).

Each request is a cycle's request with the system prompt swapped: the recorded user message
verbatim (redacted when it was written: the secrets never went in), the same tool, the model of
``ARGUS_MODEL``. Every call is recorded in llm.jsonl as a dry run, since it spent tokens; being
a dry run, a later replay passes over it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from argus_cli.config import Config
from argus_cli.decide import cost, llm, message, schema
from argus_cli.decide.replay_diff import Diff, Side, by_type, diff, no_decision, side_of
from argus_cli.state.files import LineStats
from argus_cli.state.layout import LLM_EXCHANGES
from argus_cli.state.records import SLACK, iter_backwards

ERRORS_IN_A_ROW = 3  # this many failed calls in a row: the API is down, stop spending the budget
CHARS_PER_TOKEN = 3.5  # for a line that recorded no token counts (its call failed): JSON is dense
OUTPUT_GUESS = 400  # output tokens per call when no recorded call says better


@dataclass(frozen=True)
class Recorded:
    """One past cycle to replay, as llm.jsonl kept it."""

    ts: str
    user: str
    old: Side
    usage: tuple[int, int] | None  # (input, output) tokens of the recorded call, when it got a reply


@dataclass
class Plan:
    """What the window of llm.jsonl holds, and which of its cycles are replayed."""

    path: Path
    since: float
    max_calls: int
    read: int = 0  # lines read, down to the first an hour past the window's edge
    malformed: int = 0  # not JSON, or no time stamp
    before: int = 0  # older than the window
    dry_runs: int = 0
    no_message: int = 0
    cut: int = 0  # the recorded user message was cut at 64 KiB
    selected: list[Recorded] = field(default_factory=list)  # the newest replayable ones, up to max_calls
    left_out: int = 0  # replayable, but past max_calls: only counted, their messages are not kept

    @property
    def cycles(self) -> int:
        """The real cycles in the window that asked the LLM."""
        return len(self.selected) + self.left_out + self.cut + self.no_message


def plan(config: Config, since: float, max_calls: int) -> Plan:
    """Read llm.jsonl newest first (as appended: in time order) down to the window's edge (lines
    may be a little out of order: reading stops ``SLACK`` past it) and sort its lines."""
    found = Plan(config.state_dir / LLM_EXCHANGES, since, max_calls)
    stats = LineStats()
    for line in iter_backwards(found.path, stats):
        when = _epoch(line.get("ts"))
        if when is not None and when < since - SLACK:
            found.before += 1
            break
        _sort(found, line, when)
    found.read, found.malformed = stats.lines, found.malformed + stats.malformed
    return found


def _sort(found: Plan, line: Mapping[str, object], when: float | None) -> None:
    user = line.get("user")
    if when is None:
        found.malformed += 1
    elif when < found.since:
        found.before += 1
    elif line.get("dry_run") is not False:
        found.dry_runs += 1
    elif not isinstance(user, str) or not user:
        found.no_message += 1
    elif line.get("truncated") is not False:
        found.cut += 1
    elif len(found.selected) < found.max_calls:
        found.selected.append(Recorded(str(line["ts"]), user, recorded_side(line), _usage(line.get("usage"))))
    else:
        found.left_out += 1


def _epoch(ts: object) -> float | None:
    if not isinstance(ts, str):
        return None
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo else None


def _usage(usage: object) -> tuple[int, int] | None:
    counted = cost.tokens(usage) if isinstance(usage, dict) else (0, 0)
    return counted if counted[0] else None


def recorded_side(line: Mapping[str, object]) -> Side:
    """The decision a recorded line holds, or why it holds none ("error: ...")."""
    outcome, error = line.get("outcome"), line.get("error")
    if outcome != "ok":
        return no_decision(f"{outcome}: {error}" if isinstance(error, str) and error else str(outcome))
    if line.get("answer_truncated") is True:
        return no_decision("unusable: the recorded answer was cut at 64 KiB")
    answer = line.get("answer")
    try:
        decision = schema.to_decision(schema.parse_text(answer) if isinstance(answer, str) else answer,
                                      decider="llm")
    except schema.UnusableDecision as exc:
        return no_decision(f"unusable: {exc}")
    return side_of(decision)


def recorded_host(user: str) -> str | None:
    """The host of the snapshot the user message shows, or None when it cannot be read from it.
    The fence cannot be forged: every ``<`` inside it is escaped (``message.fenced_json``)."""
    start = user.find("<snapshot>\n")
    end = user.find("\n</snapshot>", start)
    if start < 0 or end < 0:
        return None
    try:
        snapshot = json.loads(user[start + len("<snapshot>\n"):end])
    except ValueError:
        return None
    host = snapshot.get("host") if isinstance(snapshot, dict) else None
    return host if isinstance(host, str) and host else None


@dataclass(frozen=True)
class Estimate:
    calls: int
    input_tokens: int
    output_tokens: int
    dollars: float | None  # None: no list price for the model


def estimate(found: Plan, prompt: str, model: str) -> Estimate:
    """From the recorded calls' token counts (the same message and tool; the system prompt is
    the difference), else from the characters sent."""
    chosen = found.selected
    outputs = [r.usage[1] for r in chosen if r.usage is not None and r.usage[1]]
    per_output = sum(outputs) // len(outputs) if outputs else OUTPUT_GUESS
    tool = len(json.dumps(schema.DECISION_SCHEMA))
    inputs = sum(r.usage[0] if r.usage is not None else int((len(prompt) + len(r.user) + tool) / CHARS_PER_TOKEN)
                 for r in chosen)
    outputs_total = sum(r.usage[1] if r.usage is not None and r.usage[1] else per_output for r in chosen)
    return Estimate(len(chosen), inputs, outputs_total, cost.dollars(model, inputs, outputs_total))


@dataclass(frozen=True)
class Replayed:
    """One cycle asked again: the recorded side, the new one (None when the call failed) and
    what differs."""

    ts: str
    old: Side
    new: Side | None
    diff: Diff | None
    error: str | None
    usage: tuple[int, int]


def replay_one(config: Config, recorded: Recorded, prompt: str) -> Replayed:
    """One call, recorded as a dry run; ``<YOUR_HOSTNAME>`` is the recorded snapshot's host, as
    the cycle's prompt had it."""
    system = message.with_hostname(prompt, recorded_host(recorded.user))
    outcome = llm.ask_request(config, llm.request_for(config.model, system, recorded.user), dry_run=True)
    usage = cost.tokens(outcome.usage)
    if outcome.decision is None:
        return Replayed(recorded.ts, recorded.old, None, None, outcome.error or "no decision", usage)
    new = side_of(outcome.decision, config.secrets())
    return Replayed(recorded.ts, recorded.old, new, diff(recorded.old, new), None, usage)


@dataclass
class Run:
    cycles: list[Replayed] = field(default_factory=list)
    calls: int = 0  # sent, an interrupted one included: it may have spent tokens
    stopped: str | None = None  # why it ended before the plan did
    interrupted: bool = False  # by Ctrl-C


def replay(config: Config, found: Plan, prompt: str, each: Callable[[Replayed], None]) -> Run:
    """Replay the plan's cycles in order, ``each`` told of every one as it is done. A run cut by
    Ctrl-C returns what it did."""
    run = Run()
    try:
        for recorded in found.selected:
            run.calls += 1
            done = replay_one(config, recorded, prompt)
            run.cycles.append(done)
            each(done)
            if _failing(run.cycles):
                run.stopped = f"stopped after {ERRORS_IN_A_ROW} failed calls in a row (is the API down?)"
                break
    except KeyboardInterrupt:
        run.stopped, run.interrupted = "interrupted (Ctrl-C): the cycles above were replayed", True
    return run


def _failing(cycles: list[Replayed]) -> bool:
    recent = cycles[-ERRORS_IN_A_ROW:]
    return len(recent) == ERRORS_IN_A_ROW and all(c.error is not None for c in recent)


@dataclass(frozen=True)
class Summary:
    replayed: int
    unchanged: int
    changed: int
    no_old_decision: int  # the recorded call gave none (the rules stood in): its new actions count as added
    failed: int  # the replayed call gave no decision
    assessment_only: int  # cycles whose actions stayed and whose assessment did not
    host_changing_added: dict[str, int]
    added: dict[str, int]
    removed: dict[str, int]
    changed_actions: dict[str, int]
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # at list prices; None: the model has none in cost.PRICES
    model: str
    cut: int
    left_out: int
    stopped: str | None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def summarise(run: Run, found: Plan, model: str) -> Summary:
    diffs = [c.diff for c in run.cycles if c.diff is not None]
    compared = [c.diff for c in run.cycles if c.diff is not None and c.old.missing is None]
    added = [a for d in diffs for a in d.added]
    tokens_in, tokens_out = sum(c.usage[0] for c in run.cycles), sum(c.usage[1] for c in run.cycles)
    return Summary(
        replayed=len(run.cycles), unchanged=sum(not d.behaviour_changed for d in compared),
        changed=sum(d.behaviour_changed for d in compared), no_old_decision=len(diffs) - len(compared),
        failed=len(run.cycles) - len(diffs),
        assessment_only=sum(d.assessment_changed and not d.behaviour_changed for d in diffs),
        host_changing_added=by_type(a for a in added if a.changes_host), added=by_type(added),
        removed=by_type(a for d in diffs for a in d.removed),
        changed_actions=by_type(c.new for d in diffs for c in d.changed),
        calls=run.calls, input_tokens=tokens_in, output_tokens=tokens_out,
        cost_usd=cost.dollars(model, tokens_in, tokens_out), model=model,
        cut=found.cut, left_out=found.left_out, stopped=run.stopped)
