"""log: append an observation to ``observations.md``; three identical ones in a row escalate."""

from __future__ import annotations

import os
import re
from pathlib import Path

from argus_cli.actions.context import ActionContext, Outcome, ProblemDraft, infer_severity, infer_type
from argus_cli.actions.enrich import hog_suffix
from argus_cli.actions.guardrails import Log
from argus_cli.incidents.subjects import fingerprint
from argus_cli.model import iso_z, normalise
from argus_cli.state.files import PRIVATE_DIR_MODE, create_state_file, open_state_file
from argus_cli.state.layout import OBSERVATIONS
from argus_cli.state.registry import without_hog
from argus_cli.text import cut_at_word

ESCALATE_EVERY = 3
_LINE = re.compile(r"^- \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (.*)$")
_TAIL_BYTES = 65536


def observations_path(ctx: ActionContext) -> Path:
    return ctx.config.state_dir / OBSERVATIONS


def run(ctx: ActionContext, request: Log) -> Outcome:
    kind, severity = infer_type(request.observation), infer_severity(request.observation)
    text = request.observation + hog_suffix(ctx.snapshot, ctx.config)
    one_line = " ".join(text.split())
    if ctx.dry_run:
        return Outcome("skipped", f"dry run: would log observation: {cut_at_word(one_line)}")
    path = observations_path(ctx)
    streak = _trailing_repeats(path, one_line) + 1
    _append(path, f"- {iso_z(ctx.now)} {one_line}\n")
    escalate = streak % ESCALATE_EVERY == 0
    if escalate:
        severity = "critical" if severity == "critical" else "warning"
    # A log has no automatic remediation: it always files (or reuses) the bead of its problem key,
    # the fingerprint of the incident it is about when it names a subject.
    draft = ProblemDraft(kind, severity, text, "log:observation", "success", bead="always", key=_key(ctx, request))
    seen = "once" if streak == 1 else f"{streak} times in a row"
    detail = f"observation logged (seen {seen}" + ("; escalated)" if escalate else ")")
    return Outcome("success", detail, draft, {"repeats": streak, "escalated": escalate})


def _key(ctx: ActionContext, request: Log) -> str | None:
    if request.subject is None:
        if ctx.incidents is not None:
            ctx.incidents.unkeyed += 1
        return None
    book = ctx.incidents
    incident = book.lookup(request.subject) if book else None  # a note keeps nothing open
    if incident is None:  # a note about a subject with nothing open: observed, not an incident
        return fingerprint(request.subject, "observed")
    return fingerprint(incident.subject, incident.condition)


def _same(a: str, b: str) -> bool:
    return normalise(without_hog(a)) == normalise(without_hog(b))


def _trailing_repeats(path: Path, observation: str) -> int:
    """How many of the last lines of ``observations.md`` are this observation (normalised).

    A symlink or directory in its place is moved aside here, so the append that follows
    creates a fresh file instead of writing through a link or failing on every log.
    """
    fd = open_state_file(path)
    if fd is None:
        return 0
    with os.fdopen(fd, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - _TAIL_BYTES))
        tail = handle.read().decode("utf-8", "replace").splitlines()
    count = 0
    for line in reversed(tail):
        match = _LINE.match(line)
        if not match or not _same(match.group(1), observation):
            break
        count += 1
    return count


def _append(path: Path, line: str) -> None:
    """One write on an O_APPEND descriptor, like the JSONL files: concurrent writers never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    fd = create_state_file(path, os.O_WRONLY | os.O_APPEND)  # never appended through a planted symlink
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
