"""Incident history over a report window: which subjects keep coming back, and for how long.

The cycle appends one ``incidents.jsonl`` line per event: ``opened``, then ``resolved`` (which
repeats the subject and carries the opened time). An incident without a ``resolved`` line is
still open and counts up to the window's end. The file is streamed once; only incidents still
waiting for their ``resolved`` line and the in-window intervals are held, so memory follows the
window, not the history.

Windows follow the registry reports (``reports.window``): an incident counts as opened (or
resolved) in the window when that time is at or after the window's start, so a skewed clock
loses nothing; open time is clipped to ``[start, end]``. A subject's open time is the union of
its incidents' intervals (``disk:/ usage>=warn`` and ``usage>=crit`` open together count once),
so it never exceeds the window.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from argus_cli.model import as_number, iso_z
from argus_cli.reports.window import parse_timestamp
from argus_cli.state.files import LineStats, iter_jsonl

TOP = 10
_EVENTS = frozenset({"opened", "resolved"})


class TopSubject(TypedDict):
    subject: str
    count: int  # incidents opened in the window
    first_seen: str  # earliest opened time among the subject's incidents that touch the window
    last_seen: str  # latest resolved time, or the window's end while one is still open
    open_seconds: int  # time with at least one incident open, clipped to the window


class IncidentCounts(TypedDict):
    opened: int
    resolved: int
    open: int
    window_days: int


@dataclass(frozen=True)
class IncidentHistory:
    path: Path
    exists: bool  # False: no incident was ever recorded here (an older Argus, a fresh install)
    window_days: int
    opened: int
    resolved: int
    open: int  # still open at the end of the file, whenever they were opened
    top_subjects: list[TopSubject]
    lines: int
    skipped: int

    def counts(self) -> IncidentCounts:
        return {"opened": self.opened, "resolved": self.resolved, "open": self.open,
                "window_days": self.window_days}

    def warning(self) -> str | None:
        if not self.skipped:
            return None
        return f"argus: skipped {self.skipped} malformed line(s) of {self.lines} in {self.path}"


@dataclass
class _Subject:
    count: int = 0
    first: float = float("inf")
    last: float = float("-inf")
    spans: list[tuple[float, float]] = field(default_factory=list)

    def summary(self, name: str) -> TopSubject:
        return {"subject": name, "count": self.count, "first_seen": iso_z(self.first),
                "last_seen": iso_z(self.last), "open_seconds": round(_union(self.spans))}


def _union(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for lo, hi in sorted(spans):
        start = max(lo, reach)  # the part of this span no earlier span covered
        if hi > start:
            total += hi - start
        reach = max(reach, hi)
    return total


def _epoch(value: object) -> float | None:
    moment = parse_timestamp(value) if isinstance(value, str) else None
    return moment.timestamp() if moment else None


class _Window:
    """Folds finished incidents (resolved, or open at the end) into the window's numbers."""

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.opened = self.resolved = self.open = 0
        self.subjects: dict[str, _Subject] = {}
        # (id, opened) of incidents already folded in the window: a repeated resolved line counts once
        self.seen: set[tuple[str, float]] = set()

    def finish(self, key: tuple[str, float], subject: str, resolved: float | None) -> None:
        opened = key[1]
        if resolved is None:
            self.open += 1
        elif resolved < self.start or key in self.seen:
            return  # over before the window began, or already counted
        self.seen.add(key)
        self.opened += opened >= self.start
        self.resolved += resolved is not None
        entry = self.subjects.setdefault(subject, _Subject())
        entry.count += opened >= self.start
        entry.first = min(entry.first, opened)
        entry.last = max(entry.last, self.end if resolved is None else resolved)
        lo, hi = max(opened, self.start), min(self.end if resolved is None else resolved, self.end)
        if hi > lo:
            entry.spans.append((lo, hi))

    def top(self, limit: int) -> list[TopSubject]:
        ranked = sorted(((name, s.summary(name)) for name, s in self.subjects.items()),
                        key=lambda item: (-item[1]["count"], -item[1]["open_seconds"], item[0]))
        return [summary for _, summary in ranked[:limit]]


class _Pending:
    """Incidents opened and not resolved yet, by id, and the id last opened per condition."""

    def __init__(self) -> None:
        self.by_id: dict[str, tuple[str, float]] = {}  # id -> (subject, opened)
        self.latest: dict[tuple[str, object], str] = {}  # (subject, condition) -> id

    def open(self, ident: str, subject: str, condition: object, at: float, window: _Window) -> None:
        """An opened line. The same condition opened again while an earlier incident of it has no
        resolved line (its book was lost) ends the earlier one there: it is not open for ever. An
        opening older than the pending one (written out of order) ends nothing."""
        fingerprint = (subject, condition)
        earlier = self.latest.get(fingerprint)
        if earlier is not None and earlier != ident and earlier in self.by_id:
            old_subject, old_opened = self.by_id[earlier]
            if at < old_opened:
                self.by_id.setdefault(ident, (subject, at))
                return
            del self.by_id[earlier]
            window.finish((earlier, old_opened), old_subject, at)
        self.latest[fingerprint] = ident
        self.by_id.setdefault(ident, (subject, at))  # a repeated opened line keeps the first


def _fold_line(record: dict[str, Any], window: _Window, pending: _Pending) -> bool:
    """Apply one event; False when the line is not a usable event (counted as malformed)."""
    event, ident, subject = record.get("event"), record.get("id"), record.get("subject")
    if not isinstance(event, str):
        return False
    if event not in _EVENTS:
        return True  # an event a newer Argus writes: not ours to count, not malformed
    at = _epoch(record.get("ts"))
    if not isinstance(ident, str) or not isinstance(subject, str) or at is None:
        return False
    if event == "opened":
        condition = record.get("condition")
        pending.open(ident, subject, condition if isinstance(condition, str) else None, at, window)
        return True
    held = pending.by_id.pop(ident, None)
    opened = held[1] if held else _opened_of(record, at)
    window.finish((ident, opened), subject, at)
    return True


def _opened_of(record: dict[str, Any], resolved: float) -> float:
    """When a resolved incident opened, from its own line (its opened line may predate the file)."""
    opened = _epoch(record.get("opened"))
    duration = as_number(record.get("duration_seconds"))
    if opened is None and duration is not None and 0 <= duration <= resolved:  # no time before 1970
        opened = resolved - duration
    return resolved if opened is None else opened


def read_incidents(path: Path, now: float, window_days: int, limit: int = TOP) -> IncidentHistory:
    """Stream ``incidents.jsonl`` once and summarise the window ``[now - window_days, now]``.

    A missing file is an empty history (``exists`` False). Raises NotRegularFile (an OSError)
    for a symlink or directory in its place, like the registry (ARCHITECTURE.md §4)."""
    window = _Window(now - window_days * 86400, now)
    lines, bad = LineStats(), 0
    pending = _Pending()
    for record in iter_jsonl(path, lines):
        bad += not _fold_line(record, window, pending)
    for ident, (subject, opened) in pending.by_id.items():
        window.finish((ident, opened), subject, None)
    return IncidentHistory(path=path, exists=lines.lines > 0 or os.path.lexists(path),
                           window_days=window_days, opened=window.opened, resolved=window.resolved,
                           open=window.open, top_subjects=window.top(limit),
                           lines=lines.lines, skipped=lines.malformed + bad)
