"""``argus replay`` as text and as JSON, from the same results (decide/replay.py).

Every string that came from the host or from a model (subjects, targets, messages, errors) goes
through ``truncate`` before it is printed: non-printable characters become ``?`` and a long
text is cut, so an answer cannot move the cursor or flood the terminal. Plain text, no markup.
"""

from __future__ import annotations

from argus_cli.decide.replay import Estimate, Plan, Replayed, Run, Summary
from argus_cli.decide.replay_diff import Act, Change
from argus_cli.model import iso_z
from argus_cli.text import one_line, truncate

TEXT_SHOWN = 200  # characters of an action's words or an assessment shown per side
ORDER = "newest first"


def before(found: Plan, guess: Estimate, model: str) -> list[str]:
    """What is said (on stderr) before the first call: how many calls and their cost, what is
    left out; or why there is nothing to replay."""
    if not found.selected:
        return [nothing(found)]
    return [plan_line(found, guess, model), *not_replayed(found)]


def plan_line(found: Plan, guess: Estimate, model: str) -> str:
    """How many calls, and what they should cost."""
    return (f"argus: replaying {len(found.selected)} of {found.cycles} cycles since {_date(found.since)}, "
            f"{ORDER} (--max-calls {found.max_calls}): about {guess.calls} calls, ~{_round(guess.input_tokens):,} "
            f"input and ~{_round(guess.output_tokens):,} output tokens, {_price(guess.dollars, model, '~')}")


def not_replayed(found: Plan) -> list[str]:
    """What the window held that is not replayed, and why (before the first call too)."""
    lines = []
    if found.cut:
        lines.append(f"argus: {found.cut} skipped: the recorded message was cut at 64 KiB")
    if found.left_out:
        lines.append(f"argus: {found.left_out} older left out by --max-calls {found.max_calls}")
    return lines


def nothing(found: Plan) -> str:
    """Why there is nothing to replay: what was read and where each line went."""
    if not found.read:
        return f"argus: nothing to replay: no LLM exchange recorded in {found.path} (or its rotated copies)"
    counts = [(found.before, "older"), (found.dry_runs, "dry run(s) (argus decide, cycle --dry-run, replays)"),
              (found.cut, "cut at 64 KiB"), (found.no_message, "without a user message"),
              (found.malformed, "unreadable")]
    told = ", ".join(f"{n} {what}" for n, what in counts if n)
    return (f"argus: nothing to replay since {_date(found.since)}: read {found.read} line(s) of "
            f"{found.path} and its rotated copies: {told}")


def cycle_lines(done: Replayed) -> list[str]:
    """One cycle: its time and verdict, then each difference."""
    lines = [f"{truncate(done.ts, 40)}  {_verdict(done)}"]
    if done.old.missing is not None:
        lines.append(f"  old: no decision ({_text(done.old.missing)})")
    if done.diff is None:
        return lines
    lines += [f"  + {_act(a)}" for a in done.diff.added]
    lines += [f"  - {_act(a)}" for a in done.diff.removed]
    for change in done.diff.changed:
        lines += _change(change)
    if done.diff.assessment_changed and done.new is not None:
        lines.append(f"  assessment (not counted): {_quoted(done.old.assessment)} -> {_quoted(done.new.assessment)}")
    return lines


def _verdict(done: Replayed) -> str:
    if done.diff is None:
        return f"error: {_text(done.error or '')}"
    counts = [(len(done.diff.added), "added"), (len(done.diff.removed), "removed")]
    counts += [(sum(c.label == label for c in done.diff.changed), label) for label in ("changed", "reworded")]
    told = ", ".join(f"{n} {what}" for n, what in counts if n)
    if done.old.missing is not None:  # nothing to compare with: what it decides now is all new
        return f"no old decision, now: {told or 'no actions'}"
    return f"changed: {told}" if done.diff.behaviour_changed else "unchanged"


def _act(act: Act) -> str:
    where = " ".join(part for part in (act.type, act.subject, None if act.target is None else f"target {act.target}")
                     if part is not None)
    return f"{truncate(where, 300)}: {_quoted(act.text)}" if act.text else truncate(where, 300)


def _change(change: Change) -> list[str]:
    where = _act(Act(change.new.type, change.new.subject, change.new.target, ""))
    return [f"  ~ {where} {change.label}:", f"      old: {_quoted(change.old.text)}",
            f"      new: {_quoted(change.new.text)}"]


def summary_lines(summary: Summary, prompt: str) -> list[str]:
    """The summary: host-changing actions added first, since they matter most."""
    lines = [f"summary: {summary.replayed} cycle(s) replayed with {truncate(prompt, 200)}, {ORDER}: "
             f"{summary.unchanged} unchanged, {summary.changed} changed, "
             f"{summary.no_old_decision} without an old decision, {summary.failed} failed",
             f"  host-changing actions added: {_counts(summary.host_changing_added)}",
             f"  actions added: {_counts(summary.added)}",
             f"  actions removed: {_counts(summary.removed)}",
             f"  actions changed: {_counts(summary.changed_actions)}"]
    if summary.assessment_only:
        lines.append(f"  only the assessment changed in {summary.assessment_only} cycle(s): no change of behaviour")
    lines.append(f"  calls: {summary.calls}, {summary.input_tokens:,} input and {summary.output_tokens:,} output "
                 f"tokens, {_price(summary.cost_usd, summary.model, '')}")
    left = [(summary.cut, "cut at 64 KiB"), (summary.left_out, "left out by --max-calls")]
    if summary.cut or summary.left_out:
        lines.append("  not replayed: " + ", ".join(f"{n} {why}" for n, why in left if n))
    if summary.stopped:
        lines.append(f"  {summary.stopped}")
    return lines


def as_json(run: Run, summary: Summary, found: Plan) -> dict[str, object]:
    return {"cycles": [cycle_json(done) for done in run.cycles],
            "summary": {**summary.to_dict(), "since": iso_z(found.since), "order": ORDER,
                        "read": found.read, "older": found.before, "dry_runs": found.dry_runs}}


def cycle_json(done: Replayed) -> dict[str, object]:
    found = done.diff
    return {"ts": done.ts, "old": done.old.to_dict(), "new": None if done.new is None else done.new.to_dict(),
            "added": [a.to_dict() for a in found.added] if found else [],
            "removed": [a.to_dict() for a in found.removed] if found else [],
            "changed": [c.to_dict() for c in found.changed] if found else [],
            "assessment_changed": bool(found and found.assessment_changed), "error": done.error}


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{truncate(kind, 40)} {n}" for kind, n in counts.items()) or "none"


def _quoted(text: str | None) -> str:
    return f'"{_text(text or "")}"'


def _text(text: str) -> str:
    return truncate(one_line(text, 100_000), TEXT_SHOWN)


def _price(dollars: float | None, model: str, about: str) -> str:
    if dollars is None:
        return f"no list price known for {truncate(model, 60)}"
    shown = f"{dollars:.2f}" if dollars >= 0.01 or dollars == 0 else f"{dollars:.4f}"
    return f"{about}${shown} at {truncate(model, 60)} list prices"


def _round(count: int) -> int:
    """Two significant figures: an estimate should not look exact."""
    return count if count < 100 else int(float(f"{count:.2g}"))


def _date(epoch: float) -> str:
    return iso_z(epoch).replace("T", " ")[:16] + " UTC"
