"""Relay publishing (ARCHITECTURE.md §6): problems and the daily summary, with a fallback file.

Relay missing, disabled, failing, slow, or a body over Relay's 64 KiB limit: the payload is
appended to the fallback file instead, one JSON line, so nothing is lost and Relay's outage
never fails a cycle. The payload travels as one argv element; no shell is involved. A relay
binary that is not installed is silent (``argus doctor`` reports it); one that fails is noted.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from argus_cli.children import run_tool
from argus_cli.config import Config
from argus_cli.model import Problem
from argus_cli.notify.common import note
from argus_cli.state.files import append_jsonl

MAX_BODY_BYTES = 64 * 1024  # Relay rejects larger message bodies
PROBLEM_TAGS = "argus,problem,alert"
SUMMARY_TAGS = "argus,summary,daily"


def problem_payload(problem: Problem) -> dict[str, object]:
    """The ``argus.problem`` event, with the keys Relay's consumers read."""
    return {"type": "alert", "source": "argus", "event": "argus.problem", "severity": problem.severity,
            "problem_type": problem.type, "message": problem.description,
            "action_taken": problem.action_taken, "host": problem.host, "timestamp": problem.ts}


def publish_problem(config: Config, problem: Problem) -> str:
    """Publish one problem: "relay" (Relay took it), "fallback" or "disabled" (both: fallback file)."""
    payload = problem_payload(problem)
    fallback = config.relay_fallback_file
    if not config.relay_enabled:
        _fallback(config, payload, fallback)
        return "disabled"
    sent = send_relay(config, payload, tags=PROBLEM_TAGS, fallback_file=fallback)
    return "relay" if sent else "fallback"


def send_relay(config: Config, payload: dict[str, object], *, tags: str, fallback_file: Path,
               priority: str = "high", strict: bool = False) -> bool:
    """``relay send TO PAYLOAD --agent FROM --priority P --tag TAGS``; False means fallback file.

    Does not consult the enabled flags: the caller decides whether Relay is wanted at all.
    Shrinking an oversized payload is the caller's job; this refuses it and keeps it on disk.
    ``strict``: a fallback file that cannot be written raises its OSError (a command can say so
    and fail) instead of a note (a cycle must go on).
    """
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        note(f"relay: {payload.get('event', 'payload')} is {size} bytes, over Relay's "
             f"{MAX_BODY_BYTES}-byte limit; kept in {fallback_file}", config.secrets())
        _fallback(config, payload, fallback_file, strict)
        return False
    if shutil.which(config.relay_bin, mode=os.F_OK) is None:  # not installed: no note every cycle
        _fallback(config, payload, fallback_file, strict)
        return False
    argv = [config.relay_bin, "send", config.relay_to, body,
            "--agent", config.relay_from, "--priority", priority, "--tag", tags]
    run = run_tool(argv, timeout=config.relay_timeout)
    if run.ok:
        return True
    note(f"relay send failed ({run.describe()}); kept in {fallback_file}", config.secrets())
    _fallback(config, payload, fallback_file, strict)
    return False


def _fallback(config: Config, payload: dict[str, object], path: Path, strict: bool = False) -> None:
    try:
        append_jsonl(path, payload)
    except OSError as exc:  # the last resort failed too: say so, but never fail the cycle
        if strict:
            raise
        note(f"relay fallback {path} not writable: {exc}; event lost: {payload.get('event')}",
             config.secrets())
