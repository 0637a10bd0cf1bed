"""The human view of a decision, and of the last cycle (`argus decide`, `argus cycle`, `argus last`)."""

from __future__ import annotations

from typing import Any

_STATUS_STYLE = {"success": "green", "failure": "bold red", "rejected": "bold red",
                 "suppressed": "yellow", "skipped": "dim"}


def _action_text(action: Any) -> str:
    if not isinstance(action, dict):
        return repr(action)
    fields = [f"{k}={action[k]}" for k in ("target", "reason", "message", "observation") if k in action]
    return f"{action.get('type', '?')}  " + "  ".join(fields)


def render_decision(con: Any, decision: dict[str, Any]) -> None:
    from rich.markup import escape  # host strings may contain [brackets]; they are data, not markup

    model = f"  model {escape(str(decision['model']))}" if decision.get("model") else ""  # as the API named it
    con.print(f"[bold]decider[/bold] {escape(str(decision.get('decider')))}{model}")
    con.print(f"[bold]assessment[/bold] {escape(str(decision.get('assessment', '')))}")
    actions = decision.get("actions") or []
    con.print(f"[bold]actions[/bold] ({len(actions)})" + ("" if actions else ": none"))
    results = {r.get("index"): r for r in decision.get("results") or [] if isinstance(r, dict)}
    for index, action in enumerate(actions):
        result = results.get(index)
        suffix = ""
        if result:
            style = _STATUS_STYLE.get(result.get("status", ""), "")
            suffix = f"  -> [{style}]{result.get('status')}[/{style}] {escape(str(result.get('detail', '')))}"
        con.print(f"  {index + 1}. {escape(_action_text(action))}{suffix}", highlight=False)
    for note in decision.get("observations") or []:
        con.print(f"  - {escape(str(note))}", highlight=False)


def cycle_summary(line: dict[str, Any], *, with_decision: bool = True) -> list[str]:
    """One cycles.jsonl line as plain text lines (no rich: the timer's journal needs no colour).

    ``with_decision=False`` leaves out the assessment and actions, for callers that render the
    full decision next to it."""
    head = f"cycle {line.get('ts')}  status {line.get('status')}  {line.get('duration_ms')} ms"
    if line.get("decider"):  # a skipped or interrupted cycle never got to decide: say nothing about it
        reason = line.get("llm_skip_reason")
        llm = "called" if line.get("llm_called") else f"not called ({reason})" if reason else "not called"
        head += f"  decider {line['decider']}  LLM {llm}"
    out = [head + ("  DRY RUN" if line.get("dry_run") else "")]
    if line.get("detail"):
        out.append(f"  detail: {line['detail']}")
    if with_decision:
        if line.get("assessment"):
            out.append(f"  assessment: {line['assessment']}")
        out.extend(f"  action {a.get('type')} {a.get('target') or ''}: {a.get('status')} {a.get('detail', '')}"
                   for a in line.get("actions") or [] if isinstance(a, dict))
    out.extend(_sweep_and_outbox(line))
    out.extend(f"  error: {err}" for err in line.get("errors") or [])
    return out


def _sweep_and_outbox(line: dict[str, Any]) -> list[str]:
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


def _sweep_lines(sweep: dict[str, Any]) -> list[str]:
    killed, due = sweep.get("killed") or [], sweep.get("due") or []
    if sweep.get("dry_run") or sweep.get("enabled") is False:
        verb, pids = "would kill" if sweep.get("dry_run") else "ARGUS_ORPHAN_SWEEP=false, would kill", due
    else:
        verb, pids = f"killed {len(killed)} of", killed
    children = len(sweep.get("children_killed") or [])
    deferred = len(sweep.get("deferred") or [])
    out = [f"  orphan sweep: {verb} {len(due)} orphans matching {sweep.get('pattern')}"
           + (f" (pids {', '.join(map(str, pids))})" if pids else "")
           + (f", and {children} of their test workers" if children else "")
           + (f"; {deferred} more left for the next cycles (ARGUS_ORPHAN_MAX_KILLS)" if deferred else "")]
    out.extend(f"  orphan sweep: refused {pid}: {why}" for pid, why in (sweep.get("refused") or {}).items())
    return out
