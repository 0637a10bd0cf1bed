"""The views of ``argus history`` and ``argus explain``: plain text lines and the JSON objects,
both from the same reports/history.py values.

Every value shown comes from a file a decider's words, the host or a hand may have filled: each
goes through ``safe`` (one line, non-printable characters as ``?``, capped), so no terminal
escape and no screenful of text gets through.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from argus_cli.model import ACTIONS
from argus_cli.reports.history import NOT_JUDGED
from argus_cli.text import one_line, truncate

if TYPE_CHECKING:
    from argus_cli.reports.history import ActionView, CycleStory, CycleView, IncidentStory, Judged, Line, Moment

EXCERPT_LINES = 25  # of the user message the decider was shown
EXCERPT_LINE_CHARS = 200
# what the guardrails and the runner made of an action, by its status
STATUS_WORDS = {
    "success": "accepted by the guardrails, ran: success",
    "failure": "accepted by the guardrails, ran and failed",
    "rejected": "rejected by the guardrails",
    "suppressed": "accepted, not sent: suppressed by its incident",
    "skipped": "skipped",
    "not_run": "not run",
    "pending": "accepted by the guardrails, awaiting the operator's approval",
    "observed": "accepted by the guardrails, observed only (not run: observe mode)",
}


def safe(value: object, limit: int = 120) -> str:
    return truncate(one_line(str(value), limit + 1), limit)


# --- argus history --------------------------------------------------------------------------------

def history_line(cycle: CycleView) -> str:
    """One line per cycle: time, health, mode (anything but act in capitals), decider, what it did."""
    mode = cycle.mode if cycle.mode == "act" else cycle.mode.upper()
    head = f"{safe(cycle.ts, 40)}  {safe(cycle.health or '-', 10):<8}  {safe(mode, 10):<7}  " \
           f"{safe(cycle.decider or '-', 10):<8}"
    detail = f" ({cycle.detail})" if cycle.detail else ""
    parts = [] if cycle.status == "ok" else [safe(cycle.status.upper() + detail)]
    parts += [_action_short(a) for a in cycle.actions]
    parts += [f"opened {safe(k)}" for k in cycle.opened] + [f"resolved {safe(k)}" for k in cycle.resolved]
    parts += [f"judged {_judged(j)}" for j in cycle.judged]
    parts += [safe(a, 160) for a in cycle.approvals]
    if not (cycle.actions or cycle.opened or cycle.resolved or cycle.judged or cycle.approvals):
        parts.append("quiet" if cycle.health == "ok" else "no actions" + _open_findings(cycle))
    return f"{head}  {' · '.join(parts)}"


def _open_findings(cycle: CycleView) -> str:
    return f" ({cycle.open_findings} open finding(s))" if cycle.open_findings else ""


def _action_short(action: ActionView) -> str:
    kind = ACTIONS.get(action.type)
    # an alert's or a log's target is where it goes; its subject says what it is about
    about = action.subject if kind is not None and kind.text_field else action.target or action.subject
    outcome = f" ({action.outcome})" if action.outcome else ""
    return f"{safe(action.type, 40)} {safe(about or '-', 80)} {safe(action.status, 20)}{outcome}"


def _judged(judged: Judged) -> str:
    return f"{safe(judged.type, 40)} {safe(judged.target or '-', 80)}: {safe(judged.outcome, 20)}"


def history_json(cycle: CycleView) -> dict[str, object]:
    """The fields the line shows, under stable keys."""
    return {"ts": cycle.ts, "status": cycle.status, "detail": cycle.detail, "health": cycle.health,
            "mode": cycle.mode, "autonomy": cycle.autonomy, "decider": cycle.decider,
            "llm_called": cycle.llm_called, "open_findings": cycle.open_findings,
            "findings": [f"{f['subject']} {f['condition']}" for f in cycle.findings],
            "actions": [{"type": a.type, "target": a.target, "subject": a.subject, "status": a.status,
                         "outcome": a.outcome} for a in cycle.actions],
            "opened": cycle.opened, "resolved": cycle.resolved, "judged": [asdict(j) for j in cycle.judged],
            "notices": cycle.notices, "approvals": cycle.approvals}


# --- argus explain CYCLE --------------------------------------------------------------------------

def cycle_lines(story: CycleStory) -> list[str]:
    cycle = story.cycle
    return [*_cycle_head(story), *_findings(cycle), *_decider(story), *_actions(cycle), *_aftermath(cycle)]


def _cycle_head(story: CycleStory) -> list[str]:
    cycle = story.cycle
    autonomy = f" (autonomy {safe(cycle.autonomy, 80)})" if cycle.autonomy else ""
    duration = f" · {int(cycle.duration_ms)} ms" if cycle.duration_ms is not None else ""
    out = [f"cycle {safe(cycle.ts, 40)} (-{story.back}, counting back from the newest)",
           f"  status {safe(cycle.status, 20)} · health {safe(cycle.health or 'not recorded', 20)} · mode "
           f"{safe(cycle.mode if cycle.mode == 'act' else cycle.mode.upper(), 20)}{autonomy} · decider "
           f"{safe(cycle.decider or 'none', 20)}{duration}"]
    out += [f"  detail: {safe(cycle.detail, 300)}"] if cycle.detail else []
    out += [f"  assessment: {safe(cycle.assessment, 300)}"] if cycle.assessment else []
    return out


def _findings(cycle: CycleView) -> list[str]:
    out = [f"findings ({len(cycle.findings)})" if cycle.findings else "findings: none recorded"]
    out += [f"  {safe(f['subject'])} {safe(f['condition'], 40)}  {safe(f['severity'], 20)}  {safe(f['text'], 200)}"
            for f in cycle.findings]
    return out


def _decider(story: CycleStory) -> list[str]:
    cycle, line = story.cycle, story.exchange
    if cycle.llm_called is False:
        why = safe(cycle.llm_skip_reason or "no reason recorded", 80)
        return ["decider", f"  decided by {safe(cycle.decider or 'none', 20)}; the LLM was not asked: {why}"]
    error = [f"  LLM error: {safe(cycle.llm_error, 300)}"] if cycle.llm_error else []
    if line is None:
        called = "the LLM was asked" if cycle.llm_called else "no LLM call recorded"
        return ["decider", f"  decided by {safe(cycle.decider or 'none', 20)}; {called}, but no llm.jsonl line "
                           "of this second is kept (rotated away, or recording failed)", *error]
    out = ["decider", f"  decided by {safe(cycle.decider or 'none', 20)}; the LLM was asked ({_call(line)})"]
    return out + error + _answer(line.get("answer")) + _shown(line, story)


def _call(line: Line) -> str:
    usage = line.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    return (f"model {safe(line.get('model'), 60)}, outcome {safe(line.get('outcome'), 20)}, "
            f"{safe(usage.get('input_tokens', '?'), 12)} tokens in, {safe(usage.get('output_tokens', '?'), 12)} "
            f"out, {safe(line.get('duration_ms'), 12)} ms")


def _answer(answer: object) -> list[str]:
    if not isinstance(answer, dict):
        return [f"  it answered: {safe(answer, 300) if answer is not None else '(nothing)'}"]
    out = [f"  it answered: {safe(answer.get('assessment'), 300)}"]
    asked = answer.get("actions")
    actions = [a for a in asked if isinstance(a, dict)] if isinstance(asked, list) else []
    out += [f"    asked for {_asked(a)}" for a in actions] or ["    asked for no action"]
    notes = answer.get("observations")
    out += [f"    observed: {safe(n, 200)}" for n in notes if isinstance(n, str)] if isinstance(notes, list) else []
    return out


def _asked(action: dict[str, object]) -> str:
    words = next((action[k] for k in ("reason", "message", "observation") if isinstance(action.get(k), str)), None)
    return (f"{safe(action.get('type'), 40)} {safe(action.get('target') or '-', 80)} "
            f"(subject {safe(action.get('subject') or '-')})" + (f": {safe(words, 200)}" if words else ""))


def excerpt(user: str) -> tuple[list[str], bool]:
    """The first lines of the user message, each capped; and whether anything was left out."""
    lines = user.splitlines()
    shown = [truncate(text, EXCERPT_LINE_CHARS) for text in lines[:EXCERPT_LINES]]  # indented JSON stays so
    return shown, len(lines) > EXCERPT_LINES or any(len(t) > EXCERPT_LINE_CHARS for t in lines[:EXCERPT_LINES])


def _shown(line: Line, story: CycleStory) -> list[str]:
    user = line.get("user") if isinstance(line.get("user"), str) else ""
    shown, cut = excerpt(str(user))
    kept = " (the record itself keeps its first 64 KiB)" if line.get("truncated") else ""
    where = f"the line with ts {safe(line.get('ts'), 40)} in {safe(story.exchange_file, 300)}"
    size = f"{safe(line.get('user_bytes'), 12)} bytes{kept}"
    head = (f"  what it was shown (capped: the first {len(shown)} lines of {size}; the whole message is {where})"
            if cut else f"  what it was shown ({size})")
    return [head, *(f"    | {text}" for text in shown)]


def _actions(cycle: CycleView) -> list[str]:
    out = [f"actions ({len(cycle.actions)})" if cycle.actions else "actions: none"]
    for index, action in enumerate(cycle.actions, 1):
        out.append(f"  {index}. {safe(action.type, 40)} {safe(action.target or '-', 80)}  "
                   f"(subject {safe(action.subject or '-')})")
        out += [f"     reason: {safe(action.reason, 300)}"] if action.reason else []
        out += [f"     text: {safe(action.text, 300)}"] if action.text and action.text != action.reason else []
        words = STATUS_WORDS.get(action.status, f"status {safe(action.status, 20)}")
        out.append(f"     {words}" + (f": {safe(action.detail, 300)}" if action.detail else ""))
        out += _outcome(cycle, action)
    return out


def _outcome(cycle: CycleView, action: ActionView) -> list[str]:
    kind = ACTIONS.get(action.type)
    if kind is None or not kind.changes_host:
        return []
    if action.outcome == NOT_JUDGED:
        return ["     outcome: not judged yet (no later cycle has measured its subject)"]
    if action.outcome is not None:
        return [f"     outcome: {safe(action.outcome, 20)} (judged by the cycle at {safe(action.judged_at, 40)})"]
    why = "a dry run changes nothing" if cycle.dry_run else "it did not run successfully"
    return [f"     outcome: none ({why})"]


def _aftermath(cycle: CycleView) -> list[str]:
    out = ["outcomes judged in this cycle (actions of earlier cycles)"] if cycle.judged else []
    out += [f"  {_judged(j)} on {safe(j.subject)} {safe(j.condition, 40)}" for j in cycle.judged]
    changed = [f"opened {safe(k)}" for k in cycle.opened] + [f"resolved {safe(k)}" for k in cycle.resolved]
    out.append("incidents: " + ("; ".join(changed) or "none opened or resolved"))
    out.append(f"notices ({len(cycle.notices)})" if cycle.notices else "notices: none")
    out += [f"  {safe(n['kind'], 20)} {safe(n['fingerprint'])}: {safe(n['status'], 20)}" for n in cycle.notices]
    out += [f"approvals: {safe(a, 300)}" for a in cycle.approvals]
    out += [f"error: {safe(e, 300)}" for e in cycle.errors]
    return out


def cycle_json(story: CycleStory) -> dict[str, object]:
    cycle = asdict(story.cycle)
    parts = {k: cycle.pop(k) for k in ("findings", "actions", "judged", "opened", "resolved", "notices")}
    cycle.pop("epoch")
    return {"kind": "cycle", "back": story.back, "cycle": cycle, "findings": parts["findings"], "llm": _llm_json(story),
            "actions": parts["actions"], "judged": parts["judged"],
            "incidents": {"opened": parts["opened"], "resolved": parts["resolved"]}, "notices": parts["notices"]}


def _llm_json(story: CycleStory) -> dict[str, object] | None:
    line = story.exchange
    if line is None:
        return None
    user = line.get("user") if isinstance(line.get("user"), str) else ""
    shown, cut = excerpt(str(user))
    return {**{k: line.get(k) for k in ("ts", "model", "outcome", "dry_run", "duration_ms", "usage", "error",
                                        "answer", "user_bytes", "user_sha256", "truncated")},
            "user_excerpt": "\n".join(shown), "user_capped": cut, "file": str(story.exchange_file)}


# --- argus explain INCIDENT -----------------------------------------------------------------------

def incident_lines(story: IncidentStory) -> list[str]:
    out = [f"incident {safe(story.id, 40)}  {safe(story.fingerprint)}"]
    for event in story.events:
        out.append(f"  {safe(event.get('event'), 20)} {safe(event.get('ts'), 40)} ({safe(event.get('severity'), 20)})"
                   + _resolution(event))
    out += _current(story)
    out.append(f"timeline ({len(story.timeline)} entries)" if story.timeline else
               "timeline: no cycle in cycles.jsonl touched its subject")
    for moment in story.timeline:
        out += _moment(moment)
    return out


def _resolution(event: Line) -> str:
    if event.get("event") != "resolved":
        return ""
    taken = event.get("actions")
    actions = [a for a in taken if isinstance(a, dict)] if isinstance(taken, list) else []
    done = "; ".join(f"{safe(a.get('type'), 40)} {safe(a.get('target') or '-', 80)}: {safe(a.get('outcome'), 20)}"
                     for a in actions)
    return (f" after {safe(event.get('duration_seconds'), 12)} s, {safe(event.get('notifications'), 12)} "
            f"notification(s)" + (f"; actions: {done}" if done else ""))


def _current(story: IncidentStory) -> list[str]:
    from argus_cli.model import iso_z

    now = story.current
    if now is None:
        return ["  no longer open" if any(e.get("event") == "resolved" for e in story.events) else
                "  not in incidents.json (its state is unknown)"]
    notified = f"notified {iso_z(now.notified)} ({safe(now.notified_severity, 20)})" if now.notified else "not notified"
    out = [f"  still open: {safe(now.severity, 20)} (worst {safe(now.worst, 20)}), last seen {iso_z(now.last_seen)}, "
           f"absent {now.absent} cycle(s), {notified}" + (", FLAPPING" if now.flapping else "")]
    out += [f"    action {safe(a.type, 40)} {safe(a.target or '-', 80)} at {iso_z(a.at)}: {safe(a.status, 20)}, "
            f"{safe(a.outcome or NOT_JUDGED, 20)}" for a in now.actions]
    out += [f"    notice {safe(n.kind, 20)} at {iso_z(n.at)}: {safe(n.status, 20)}" for n in now.notices]
    return out


def _moment(moment: Moment) -> list[str]:
    again = f" (and {moment.repeated} more cycle(s) like it, until {safe(moment.until, 40)})" if moment.repeated else ""
    marks = ("  opened" if moment.opened else "") + ("  resolved" if moment.resolved else "")
    out = [f"  {safe(moment.ts, 40)}{marks}{again}"]
    out += [f"    finding {safe(f['condition'], 40)} {safe(f['severity'], 20)}: {safe(f['text'], 200)}"
            for f in moment.findings]
    out += [f"    action {_action_short(a)}" + (f": {safe(a.detail, 200)}" if a.detail else "") for a in moment.actions]
    out += [f"    judged {_judged(j)}" for j in moment.judged]
    out += [f"    notice {safe(n['kind'], 20)}: {safe(n['status'], 20)}" for n in moment.notices]
    return out


def incident_json(story: IncidentStory) -> dict[str, object]:
    import msgspec

    return {"kind": "incident", "id": story.id, "fingerprint": story.fingerprint, "subject": story.subject,
            "condition": story.condition, "events": story.events,
            "open": None if story.current is None else msgspec.to_builtins(story.current),
            "timeline": [asdict(m) for m in story.timeline]}
