"""The human view of a decision, and of the last cycle (`argus decide`, `argus cycle`, `argus last`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from argus_cli.state.layout import Incident

_STATUS_STYLE = {"success": "green", "failure": "bold red", "rejected": "bold red",
                 "suppressed": "yellow", "skipped": "dim", "pending": "bold yellow", "observed": "cyan"}


# The records are read back from JSON files a hand may have edited: every value is narrowed here.

def _items(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _fields(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _action_text(action: object) -> str:
    if not isinstance(action, dict):
        return repr(action)
    fields = [f"{k}={action[k]}" for k in ("target", "reason", "message", "observation") if k in action]
    return f"{action.get('type', '?')}  " + "  ".join(fields)


def render_decision(con: Console, decision: Mapping[str, object]) -> None:
    from rich.markup import escape  # host strings may contain [brackets]; they are data, not markup

    model = f"  model {escape(str(decision['model']))}" if decision.get("model") else ""  # as the API named it
    con.print(f"[bold]decider[/bold] {escape(str(decision.get('decider')))}{model}")
    con.print(f"[bold]assessment[/bold] {escape(str(decision.get('assessment', '')))}")
    actions = _items(decision.get("actions"))
    con.print(f"[bold]actions[/bold] ({len(actions)})" + ("" if actions else ": none"))
    results = {r.get("index"): r for r in _items(decision.get("results")) if isinstance(r, dict)}
    for index, action in enumerate(actions):
        result = results.get(index)
        suffix = ""
        if result:
            status = result.get("status")
            style = _STATUS_STYLE.get(status, "") if isinstance(status, str) else ""
            suffix = f"  -> [{style}]{status}[/{style}] {escape(str(result.get('detail', '')))}"
        con.print(f"  {index + 1}. {escape(_action_text(action))}{suffix}", highlight=False)
    for note in _items(decision.get("observations")):
        con.print(f"  - {escape(str(note))}", highlight=False)


def cycle_summary(line: Mapping[str, object], *, with_decision: bool = True) -> list[str]:
    """One cycles.jsonl line as plain text lines (no rich: the timer's journal needs no colour).

    ``with_decision=False`` leaves out the assessment and actions, for callers that render the
    full decision next to it."""
    # health first: "status ok" only says the cycle ran, the host may still be critical
    health = f"health {str(line['health']).upper()}  " if isinstance(line.get("health"), str) else ""
    head = f"cycle {line.get('ts')}  {health}status {line.get('status')}  {line.get('duration_ms')} ms"
    if line.get("decider"):  # a skipped or interrupted cycle never got to decide: say nothing about it
        reason = line.get("llm_skip_reason")
        llm = "called" if line.get("llm_called") else f"not called ({reason})" if reason else "not called"
        head += f"  decider {line['decider']}  LLM {llm}"
    mode = line.get("mode")
    marks = {"observe": "  OBSERVE (actions recorded, not run)", "dry-run": "  DRY RUN"}
    out = [head + (marks.get(mode, "") if isinstance(mode, str) else "  DRY RUN" if line.get("dry_run") else "")]
    if isinstance(line.get("maintenance"), str):
        out.append(f"  maintenance window {line['maintenance']}: actions observed, notifications held")
    if line.get("detail"):
        out.append(f"  detail: {line['detail']}")
    if with_decision:
        if line.get("assessment"):
            out.append(f"  assessment: {line['assessment']}")
        out.extend(f"  action {a.get('type')} {a.get('target') or ''}: {a.get('status')} {a.get('detail', '')}"
                   for a in _items(line.get("actions")) if isinstance(a, dict))
    out.extend(_sweep_and_outbox(line))
    out.extend(f"  error: {err}" for err in _items(line.get("errors")))
    return out


def _sweep_and_outbox(line: Mapping[str, object]) -> list[str]:
    """What the cycle did outside the decision: the orphan sweep's kills (they change the host, so
    the journal must show them) and alerts delivered from, or still waiting in, the outbox."""
    out = []
    sweep = line.get("orphan_sweep")
    if isinstance(sweep, dict) and (sweep.get("killed") or sweep.get("due")):
        out.extend(_sweep_lines(sweep))
    outbox = line.get("outbox")
    if isinstance(outbox, dict) and (outbox.get("delivered") or outbox.get("queued")):
        out.append(f"  outbox: {outbox.get('delivered', 0)} delivered, {outbox.get('queued', 0)} still queued")
    return out


def _sweep_lines(sweep: Mapping[str, object]) -> list[str]:
    killed, due = _items(sweep.get("killed")), _items(sweep.get("due"))
    if sweep.get("dry_run") or sweep.get("observe") or sweep.get("enabled") is False:
        verb = ("would kill" if sweep.get("dry_run") else "ARGUS_ORPHAN_SWEEP=false, would kill"
                if sweep.get("enabled") is False else "observe (ARGUS_AUTONOMY kill_pid), would kill")
        pids = due
    else:
        verb, pids = f"killed {len(killed)} of", killed
    children = len(_items(sweep.get("children_killed")))
    deferred = len(_items(sweep.get("deferred")))
    out = [f"  orphan sweep: {verb} {len(due)} orphans matching {sweep.get('pattern')}"
           + (f" (pids {', '.join(map(str, pids))})" if pids else "")
           + (f", and {children} of their test workers" if children else "")
           + (f"; {deferred} more left for the next cycles (ARGUS_ORPHAN_MAX_KILLS)" if deferred else "")]
    out.extend(f"  orphan sweep: refused {pid}: {why}" for pid, why in _fields(sweep.get("refused")).items())
    return out


def incident_lines(incidents: Mapping[str, Incident] | None, now: float, unusable: str | None = None) -> list[str]:
    """The open incidents (incidents.json) as plain text lines for `argus last`: one line each
    (fingerprint, severity, since when and for how long, the last notice, markers), then one line
    per action taken on it with its outcome. ``None`` with ``unusable``: the file could not be
    read, said in one line."""
    if incidents is None:
        return [f"open incidents: unknown, {(unusable or 'incidents.json is unusable').removeprefix('argus: ')}"]
    if not incidents:
        return ["no open incidents"]
    out = [f"open incidents ({len(incidents)}):"]
    for key, incident in incidents.items():
        out.append(f"  {key}  {_severity(incident)}  since {_when(incident.opened)} "
                   f"({_lasted(now - incident.opened)})  {_notified(incident)}{_markers(incident)}")
        out.extend(f"    {a.type} {a.target or '-'} at {_when(a.at)}: {a.status}, "
                   f"{a.outcome or 'not checked yet'}" for a in incident.actions)
    return out


def _severity(incident: Incident) -> str:
    worst = f" (worst {incident.worst})" if incident.worst != incident.severity else ""
    return f"{incident.severity}{worst}"


def _notified(incident: Incident) -> str:
    if incident.notified is None:
        return "not notified"
    from argus_cli.incidents.book import DELIVERED
    went_out = [n for n in incident.notices if n.status in DELIVERED and n.at == incident.notified]
    how = f" ({went_out[-1].kind}, {went_out[-1].status})" if went_out else ""
    return f"last notified {_when(incident.notified)}{how}"


def _markers(incident: Incident) -> str:
    marks = []
    if incident.flapping:
        marks.append("FLAPPING: notices held until it settles")
    if incident.absent:
        marks.append(f"clearing: absent {incident.absent} cycle(s)")
    if incident.reported:
        marks.append("raised by the decider")
    marks.extend(f"ineffective: {pair}" for pair in incident.escalated)
    return "".join(f"  [{mark}]" for mark in marks)


def _when(epoch: float) -> str:
    """ISO time of an epoch read back from a file a hand may have edited: never a crash."""
    from argus_cli.model import iso_z
    try:
        return iso_z(epoch)
    except (OverflowError, ValueError, OSError):
        return f"{epoch!r} (not a time)"


def _lasted(seconds: float) -> str:
    from argus_cli.incidents.notify import duration
    try:
        return duration(seconds)
    except (OverflowError, ValueError):
        return "?"
