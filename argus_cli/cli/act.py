"""``argus act``: validate and execute a decision, one result per action."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Annotated, Optional

import typer

from argus_cli.cli.common import ArgusError, console, emit_json, load_config, require_state_dir
from argus_cli.model import MAX_ACTIONS, ActionResult

_LABEL = {"success": "executed", "failure": "executed (failed)", "skipped": "skipped",
          "suppressed": "suppressed", "rejected": "rejected"}


def command(
    decision: Annotated[str, typer.Option("--decision", help="Decision JSON file, or - for stdin.",
                                          metavar="FILE|-")] = "-",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and report; change nothing.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as a JSON list.")] = False,
    snapshot_file: Annotated[Optional[str], typer.Option(
        "--snapshot", metavar="FILE", help="The snapshot the decision was made from (argus collect --out), "
                                           "when the decision does not embed it; kill_pid needs one.")] = None,
) -> None:
    """Validate every action of a decision against the guardrails and execute the allowed ones.

    Rejected actions are reported (and recorded) but do not change the exit status. kill_pid runs
    only against the snapshot the decision was made from (embedded as "snapshot", or --snapshot):
    the PID must be a process it showed, still with the same start time.

    Example: argus decide --json | argus act --decision - --dry-run
    """
    from argus_cli.actions.decision_file import DecisionFileError, read_decision
    from argus_cli.actions.execute import execute_decision
    from argus_cli.state.files import owning_state

    config = load_config()
    require_state_dir(config.state_dir, write=not dry_run)  # unsafe: exit 2; read-only: exit 1
    try:
        parsed, snapshot = read_decision(decision)
    except DecisionFileError as exc:
        raise ArgusError(str(exc), 2) from None
    if snapshot_file is not None:
        from argus_cli.cli.decide import read_snapshot
        snapshot = read_snapshot(snapshot_file, "--snapshot")
    now = time.time()
    decided_on_snapshot = snapshot is not None
    if snapshot is None and _wants_snapshot(parsed.actions):
        from argus_cli.collectors import take_snapshot
        snapshot = take_snapshot(config, now)  # for alert enrichment only: not what the decider saw
    # act owns the state it changes; a dry run changes nothing, not even a bad file (ARCHITECTURE.md §4)
    with contextlib.nullcontext() if dry_run else owning_state():
        results = execute_decision(config, parsed, snapshot, dry_run=dry_run, now=now,
                                   decided_on_snapshot=decided_on_snapshot)
    if json_out:
        emit_json([r.to_dict() for r in results])
        return
    _render(results, dry_run)


def _wants_snapshot(actions: Sequence[object]) -> bool:
    """Alerts and logs need one for memory-hog enrichment."""
    return any(isinstance(a, dict) and a.get("type") in ("alert", "log") for a in actions[:MAX_ACTIONS])


def _render(results: list[ActionResult], dry_run: bool) -> None:
    out = console()
    if not results:
        out.print("no actions in the decision")
    for r in results:
        target = f" {r.target}" if r.target is not None else ""
        out.print(f"#{r.index} {r.type}{target}: {_LABEL.get(r.status, r.status)} - {r.detail}", markup=False)
    if dry_run:
        out.print("dry run: nothing was changed or recorded")
