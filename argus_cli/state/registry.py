"""The problem registry (``problems.jsonl``): append one problem, count recent recurrences.

``recent_count`` must not re-read the whole registry on every problem: it scans backwards from
the end of the file in chunks and stops at the first record older than the window. Problems
are appended in time order, so the cost depends on how many problems fall inside the window,
never on how large the file has grown.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from argus_cli.config import Config
from argus_cli.model import Problem, iso_z, problem_key
from argus_cli.state.files import append_jsonl
from argus_cli.state.records import iter_backwards

_CHUNK = 16384
_HOG_SUFFIX = re.compile(r";\s*hog_process=.*$", re.DOTALL)
_ISO_Z = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


def without_hog(description: str) -> str:
    """``description`` less its memory-hog enrichment (it names a process, not a problem)."""
    return _HOG_SUFFIX.sub("", description)


def key_for(problem_type: str, description: str) -> str:
    """The problem key, ignoring the memory-hog enrichment."""
    return problem_key(problem_type, without_hog(description))


def record_problem(config: Config, problem: Problem) -> None:
    """Append one problem as one whole line (safe with concurrent writers)."""
    append_jsonl(config.problems_file, problem.to_dict())


def recent_count(config: Config, key: str, window_seconds: float, now: float) -> int:
    """How many registry problems with ``key`` have a ``ts`` within ``window_seconds`` of ``now``."""
    cutoff, upper = iso_z(now - window_seconds), iso_z(now)
    count = 0
    for record in iter_backwards(config.problems_file, chunk=_CHUNK):  # the live file, then its copies
        ts = _comparable_ts(record.get("ts"))
        if ts is None:
            continue
        if ts < cutoff:
            break  # everything before this line is older still
        if ts <= upper and _record_key(record) == key:
            count += 1
    return count


def _record_key(record: dict[str, Any]) -> str | None:
    """A line's fingerprint when it has one, else the hash of its wording (older lines)."""
    fingerprint = record.get("key")
    if isinstance(fingerprint, str) and fingerprint:
        return fingerprint
    kind, description = record.get("type"), record.get("description")
    if not isinstance(kind, str) or not isinstance(description, str):
        return None
    return key_for(kind, description)


def _comparable_ts(value: Any) -> str | None:
    """``ts`` as a fixed-width ``...Z`` string (compares lexically), or None if unusable."""
    if not isinstance(value, str):
        return None
    if _ISO_Z.match(value):
        return value
    try:
        return iso_z(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None
