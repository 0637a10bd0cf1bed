"""The audit trail read back, for ``argus history`` and ``argus explain`` (ARCHITECTURE.md §4, §8).

cycles.jsonl says what each cycle saw, decided and did; whether a host-changing action helped is
only judged by a later cycle (``incidents.outcomes``), so a cycle is understood together with the
ones after it. This module reads the lines a question needs, from the end of the file (it grows
for ever, the questions are about recent cycles), joins each action that ran to the verdict a
later cycle gave it, and gathers what explains one cycle (its exchange in llm.jsonl) or one
incident (incidents.jsonl, incidents.json). Data only: cli/history.py renders it. Any line may
come from an older version or a hand: every value is narrowed where it is read.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from argus_cli.model import ACTIONS
from argus_cli.reports.window import parse_timestamp
from argus_cli.state import records
from argus_cli.state.files import LineStats, accepts, iter_jsonl, iter_jsonl_backwards
from argus_cli.state.layout import CYCLES, INCIDENT_LOG, INCIDENTS, LLM_EXCHANGES, Incident
from argus_cli.state.records import generations

Line = dict[str, Any]  # one JSONL record as read
NOT_JUDGED = "not judged yet"  # a host-changing action that ran, with no verdict so far
_INDEX = re.compile(r"-[1-9][0-9]{0,8}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T")


# --- one cycle, narrowed ---------------------------------------------------------------------------

@dataclass
class ActionView:
    type: str
    target: str | None
    subject: str | None
    status: str
    detail: str
    reason: str | None  # why the decider asked for it
    text: str | None  # an alert's message, a log's observation
    outcome: str | None = None  # fixed | unchanged | worse | NOT_JUDGED; None: no check applies
    judged_at: str | None = None  # the ts of the cycle that judged it


@dataclass(frozen=True)
class Judged:
    """A verdict this cycle gave an action of an earlier one (``incidents.outcomes``)."""

    subject: str
    condition: str
    type: str
    target: str | None
    outcome: str
    at: str | None = None  # the ts of the cycle whose action it judges (absent in older lines)


@dataclass
class CycleView:
    ts: str
    epoch: float
    status: str
    detail: str
    health: str | None  # None: a line from before health was recorded
    mode: str  # act | observe | dry-run
    autonomy: str | None
    decider: str | None
    llm_called: bool | None
    llm_skip_reason: str | None
    llm_error: str | None
    model: str | None
    assessment: str | None
    duration_ms: float | None
    dry_run: bool
    open_findings: int | None
    findings: list[dict[str, str]]
    actions: list[ActionView]
    opened: list[str]
    resolved: list[str]
    judged: list[Judged]
    notices: list[dict[str, str]]
    errors: list[str]
    approvals: list[str] = field(default_factory=list)  # answers read, approved actions run (ARGUS_AUTONOMY ask)

    def subjects(self) -> set[str]:
        """Every subject this cycle touched: found, acted on, opened, resolved, judged, notified."""
        found = {f["subject"] for f in self.findings} | {a.subject for a in self.actions if a.subject}
        keys = [*self.opened, *self.resolved, *(n["fingerprint"] for n in self.notices if "told" not in n),
                *(k for n in self.notices if n.get("told") for k in n["told"].split("; "))]
        return found | {subject_of(k) for k in keys} | {j.subject for j in self.judged}


def subject_of(fingerprint: str) -> str:
    """A fingerprint is ``<subject> <condition>`` and a condition has no space."""
    return fingerprint.rpartition(" ")[0] or fingerprint


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _maps(value: object) -> list[Mapping[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strs(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _fields(item: Mapping[str, object], *names: str) -> dict[str, str]:
    return {name: str(item.get(name, "")) for name in names}


def _notice(item: Mapping[str, object]) -> dict[str, str]:
    """A notice; the end of a silence or a window names what ended, and what it told of."""
    if item.get("kind") != "quiet-ended":
        return _fields(item, "kind", "fingerprint", "status")
    told = [*_strs(item.get("open")), *_strs(item.get("resolved"))]
    return {"kind": "quiet-ended", "fingerprint": str(item.get("what", "")), "status": str(item.get("status", "")),
            "told": "; ".join(told)}


def _action(item: Mapping[str, object]) -> ActionView:
    return ActionView(str(item.get("type")), _str(item.get("target")), _str(item.get("subject")),
                      str(item.get("status")), str(item.get("detail") or ""), _str(item.get("reason")),
                      _str(item.get("text")))


def _judged(item: Mapping[str, object]) -> Judged:
    return Judged(str(item.get("subject")), str(item.get("condition")), str(item.get("type")),
                  _str(item.get("target")), str(item.get("outcome")), _str(item.get("at")))


def cycle_view(line: Mapping[str, object], epoch: float) -> CycleView:
    """One valid cycles.jsonl line; the keys older versions did not write read as absent."""
    incidents = line.get("incidents")
    book: Mapping[str, object] = incidents if isinstance(incidents, dict) else {}
    dry_run = line.get("dry_run") is True
    open_findings = _number(line.get("open_findings"))
    return CycleView(
        ts=str(line["ts"]), epoch=epoch, status=str(line["status"]), detail=str(line.get("detail") or ""),
        health=_str(line.get("health")), mode=_str(line.get("mode")) or ("dry-run" if dry_run else "act"),
        autonomy=_str(line.get("autonomy")), decider=_str(line.get("decider")),
        llm_called=called if isinstance(called := line.get("llm_called"), bool) else None,
        llm_skip_reason=_str(line.get("llm_skip_reason")), llm_error=_str(line.get("llm_error")),
        model=_str(line.get("model")), assessment=_str(line.get("assessment")),
        duration_ms=_number(line.get("duration_ms")), dry_run=dry_run,
        open_findings=int(open_findings) if open_findings is not None and 0 <= open_findings < 2**31 else None,
        findings=[_fields(f, "subject", "condition", "severity", "text") for f in _maps(line.get("findings"))],
        actions=[_action(a) for a in _maps(line.get("actions"))],
        opened=_strs(book.get("opened")), resolved=_strs(book.get("resolved")),
        judged=[_judged(o) for o in _maps(book.get("outcomes"))],
        notices=[_notice(n) for n in _maps(line.get("notices"))],
        errors=_strs(line.get("errors")), approvals=_approvals(line.get("approvals")))


def _approvals(value: object) -> list[str]:
    """What a cycle did about approvals, one phrase each: answers, refusals, expiries, runs."""
    got: Mapping[str, object] = value if isinstance(value, dict) else {}
    out = [f"{verdict} {_str(a.get('request'))} by {_str(a.get('by'))}"
           for verdict in ("approved", "denied", "snoozed") for a in _maps(got.get(verdict))]
    out += [f"refused a press ({_str(a.get('reason'))})" for a in _maps(got.get("refused"))]
    out += [f"expired {r}" for r in _strs(got.get("expired"))]
    out += [f"approved {_str(r.get('type'))} {_str(r.get('target'))} {_str(r.get('state'))}: {_str(r.get('detail'))}"
            for r in _maps(got.get("ran"))]
    return out


def judge(cycles: list[CycleView]) -> None:
    """Give each host-changing action that ran the verdict a later cycle gave it, in place.

    ``cycles`` oldest first. The book judges an incident's actions in the order they ran, so the
    first verdict for a type and target belongs to the oldest such action still waiting. A dry
    run changed nothing and judged on a book it never saved: it neither waits nor judges.
    """
    waiting: dict[tuple[str, str | None], deque[tuple[str, ActionView]]] = {}
    for cycle in cycles:
        if cycle.dry_run:
            continue
        for verdict in cycle.judged:  # step 7 judges before step 10 acts
            queue = waiting.get((verdict.type, verdict.target))
            if not queue:
                continue
            # a verdict that names its action's cycle (``at``) goes to that one, else to the oldest
            match = next((item for item in queue if item[0] == verdict.at), None) if verdict.at else queue[0]
            if match is not None:
                queue.remove(match)
                match[1].outcome, match[1].judged_at = verdict.outcome, cycle.ts
        for action in cycle.actions:
            kind = ACTIONS.get(action.type)
            if action.status == "success" and kind is not None and kind.changes_host:
                action.outcome = NOT_JUDGED
                waiting.setdefault((action.type, action.target), deque()).append((cycle.ts, action))


# --- reading cycles.jsonl from the end ------------------------------------------------------------

@dataclass
class Scan:
    """What a reader passed over: unparsable lines and lines that are not a cycle's."""

    stats: LineStats = field(default_factory=LineStats)
    foreign: int = 0

    @property
    def skipped(self) -> int:
        return self.stats.malformed + self.foreign


def _epoch(ts: object) -> float | None:
    moment = parse_timestamp(ts) if isinstance(ts, str) else None
    return moment.timestamp() if moment is not None else None


def _cycles_backwards(path: Path, scan: Scan) -> Iterator[CycleView]:
    from argus_cli.runtime.records import valid_cycle_line  # the one shape of a cycle line

    for record in records.iter_backwards(path, stats=scan.stats):  # cycles.jsonl, then its rotated copies
        try:
            valid_cycle_line(record)
        except ValueError:
            scan.foreign += 1
            continue
        epoch = _epoch(record["ts"])
        if epoch is None:
            scan.foreign += 1
            continue
        yield cycle_view(record, epoch)


@dataclass
class Window:
    path: Path
    cycles: list[CycleView]  # oldest first, each action with its outcome
    older: int | None  # well-formed lines before the window; counted only when it is empty
    newest_older: str | None
    scan: Scan


def read_window(state_dir: Path, now: float, seconds: int) -> Window:
    """The cycles of ``[now - seconds, +inf)``: a line from a clock ahead still shows.

    Lines are appended in time order, so the first one before the window ends the read: only
    the tail is read. An empty window reads on, to count what lies before it (the operator must
    tell "nothing happened" from "nothing recorded here").
    """
    path, scan = state_dir / CYCLES, Scan()
    inside: list[CycleView] = []
    older, newest_older, streak = None, None, 0
    lines = _cycles_backwards(path, scan)
    for cycle in lines:
        if cycle.epoch >= now - seconds:
            inside.append(cycle)
            streak = 0
            continue
        newest_older = newest_older or cycle.ts
        streak += 1  # one line from a clock set back (an RTC reset) is not the window's edge
        if streak >= STRAY_LINES:
            break
    if not inside and newest_older is not None:  # none: no cycle recorded at all
        older = streak + sum(1 for _ in lines)
    inside.reverse()
    judge(inside)
    return Window(path, inside, older, newest_older, scan)


STRAY_LINES = 288  # older lines in a row that mark a window's edge (fewer: a clock set back, up to a day)
LATER_CYCLES = 50  # newer cycles kept to judge a cycle's actions (the next one usually does)
TIMELINE_CYCLES = 4096  # cycles an incident's timeline reads at most (two weeks of five-minute cycles)


def touches(cycle: CycleView, pattern: str) -> bool:
    """Did the cycle find, act on, open, resolve, judge or notify a subject matching the glob?"""
    return any(fnmatchcase(subject, pattern) for subject in cycle.subjects())


# --- explain a cycle -------------------------------------------------------------------------------

@dataclass
class CycleStory:
    cycle: CycleView
    back: int  # it is the ``back``-th newest cycle: ``argus explain -back`` names it too
    exchange: Line | None  # its llm.jsonl line, when it called the LLM and the line is kept
    exchange_file: Path | None


def is_cycle_ref(ref: str) -> bool:
    """``last``, ``-N`` or a timestamp; anything else names an incident."""
    return ref == "last" or bool(_INDEX.fullmatch(ref)) or bool(_TIMESTAMP.match(ref))


def explain_cycle(state_dir: Path, ref: str) -> CycleStory | None:
    """The cycle ``ref`` names (``last``, ``-N``, or its ts), judged against the cycles after it."""
    back = 1 if ref == "last" else -int(ref) if _INDEX.fullmatch(ref) else None
    wanted = None if back is not None else _epoch(ref)
    later: deque[CycleView] = deque(maxlen=LATER_CYCLES)  # the nearest newer ones judge its actions
    streak = 0
    for seen, cycle in enumerate(_cycles_backwards(state_dir / CYCLES, Scan())):
        if back == seen + 1 or cycle.ts == ref or (wanted is not None and cycle.epoch == wanted):
            judge([cycle, *reversed(later)])
            return CycleStory(cycle, seen + 1, *_exchange(state_dir, cycle))
        streak = streak + 1 if wanted is not None and cycle.epoch < wanted else 0
        if streak >= STRAY_LINES:
            return None  # in time order: it is not further back either
        later.append(cycle)
    return None


def count_cycles(state_dir: Path) -> int:
    return sum(1 for _ in _cycles_backwards(state_dir / CYCLES, Scan()))


def _exchange(state_dir: Path, cycle: CycleView) -> tuple[Line | None, Path | None]:
    """The llm.jsonl line of the cycle's call: the same second (both take the cycle's clock) and
    the same dry-run flag (`argus decide` records too). Newest file first, from its end."""
    from argus_cli.decide.exchanges import valid_line

    if cycle.llm_called is False:
        return None, None
    for path in generations(state_dir / LLM_EXCHANGES):
        for record in iter_jsonl_backwards(path):
            epoch = _epoch(record.get("ts"))
            if epoch is None or not accepts(valid_line, record):
                continue
            if int(epoch) == int(cycle.epoch) and (record.get("dry_run") is True) == cycle.dry_run:
                return record, path
            if epoch < int(cycle.epoch):
                return None, None
    return None, None


# --- explain an incident ---------------------------------------------------------------------------

@dataclass
class Moment:
    """One cycle of an incident's timeline; ``repeated`` more cycles showed the same finding only."""

    ts: str
    findings: list[dict[str, str]]
    actions: list[ActionView]
    judged: list[Judged]
    notices: list[dict[str, str]]
    opened: bool
    resolved: bool
    repeated: int = 0
    until: str | None = None

    def plain(self) -> bool:
        return not (self.actions or self.judged or self.notices or self.opened or self.resolved)


@dataclass
class IncidentStory:
    id: str
    subject: str
    condition: str
    events: list[Line]  # its incidents.jsonl lines, opened then resolved
    current: Incident | None  # as incidents.json holds it while it is open
    timeline: list[Moment]

    @property
    def fingerprint(self) -> str:
        return f"{self.subject} {self.condition}"


def explain_incident(state_dir: Path, ref: str) -> IncidentStory | None:
    """The incident with id ``ref``, or the newest with fingerprint ``ref``; None when neither."""
    # incidents.jsonl holds one line per opening and resolution: small enough to read whole
    events = [e for e in iter_jsonl(state_dir / INCIDENT_LOG) if _event(e)]
    book = INCIDENTS.read(state_dir)
    current = next((i for key, i in (book.open.items() if book else ()) if ref in (i.id, key)), None)
    ident = current.id if current else next(
        (e["id"] for e in reversed(events) if ref in (e["id"], f"{e['subject']} {e['condition']}")), None)
    if ident is None:
        return None
    mine = [e for e in events if e["id"] == ident]
    subject = current.subject if current else mine[0]["subject"]
    condition = current.condition if current else mine[0]["condition"]
    story = IncidentStory(ident, subject, condition, mine, current, [])
    story.timeline = _timeline(state_dir, story, *_span(current, mine))
    return story


def _span(current: Incident | None, events: list[Line]) -> tuple[float | None, float | None]:
    """When it opened and, once resolved, when that was recorded (None: unknown, or still open)."""
    resolved = next((e for e in events if e["event"] == "resolved"), None)
    opened = next((e["ts"] for e in events if e["event"] == "opened"), resolved and resolved.get("opened"))
    start = current.opened if current is not None else _epoch(opened)
    return start, None if resolved is None else _epoch(resolved["ts"])


def _event(record: Line) -> bool:
    return all(isinstance(record.get(k), str) for k in ("ts", "event", "id", "subject", "condition"))


def _timeline(state_dir: Path, story: IncidentStory, start: float | None, end: float | None) -> list[Moment]:
    """The cycles from its opening to its resolution that touched its subject; the cycles after
    it are read too, since they judge its last actions."""
    cycles: list[CycleView] = []
    for cycle in _cycles_backwards(state_dir / CYCLES, Scan()):
        if start is not None and cycle.epoch < int(start):  # a cycle's ts is cut to the second
            break
        cycles.append(cycle)
        if len(cycles) >= TIMELINE_CYCLES:  # an incident with no known opening: the last week or so
            break
    cycles.reverse()
    judge(cycles)
    moments: list[Moment] = []
    for cycle in cycles:
        if end is not None and cycle.epoch > end:
            break
        moment = _moment(cycle, story)
        if moment is not None:
            _add(moments, moment)
    return moments


def _moment(cycle: CycleView, story: IncidentStory) -> Moment | None:
    subject, key = story.subject, story.fingerprint
    moment = Moment(cycle.ts, [f for f in cycle.findings if f["subject"] == subject],
                    [a for a in cycle.actions if a.subject == subject],
                    [j for j in cycle.judged if j.subject == subject],
                    [n for n in cycle.notices if n["fingerprint"] == key], key in cycle.opened, key in cycle.resolved)
    return None if moment.plain() and not moment.findings else moment


def _add(moments: list[Moment], moment: Moment) -> None:
    """Cycles that only saw the same finding again fold into the one before (an incident open for
    a day would otherwise be 288 lines)."""
    last = moments[-1] if moments else None
    if last is not None and last.plain() and moment.plain() and last.findings == moment.findings:
        last.repeated, last.until = last.repeated + 1, moment.ts
        return
    moments.append(moment)
