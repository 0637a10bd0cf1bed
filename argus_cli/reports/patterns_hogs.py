"""Recurring memory hogs, by the name the enrichment wrote (``hog_process=NAME``).

Argus writes psutil's name there, which on Linux is the executable's full name: psutil extends
the kernel's 15-byte ``comm`` with argv[0]'s basename when the comm is its beginning. Lines
from the seed's era carry ``ps -o comm``, cut at 15 bytes (``openclaw-gatewa``). A name of
exactly that length may be such a cut, and nothing in the line says whether it is: it is kept
as it is, shown as ``openclaw-gatewa…`` and marked ``name_complete: false``, never completed by
guessing. The id is a clean slug of the name (``pattern_types.slug``).
"""

from __future__ import annotations

from collections.abc import Mapping

from argus_cli.reports.pattern_types import Pattern, make_pattern, slug
from argus_cli.text import truncate

MIN_COUNT = 3
COMM_BYTES = 15  # TASK_COMM_LEN - 1: the kernel's process name is cut there
NAME_SHOWN = 64


def possibly_cut(name: str) -> bool:
    return len(name.encode("utf-8", "replace")) == COMM_BYTES


def shown_name(name: str) -> str:
    """The name for a sentence: printable, bounded, and ``…`` after a possibly cut comm."""
    text = truncate(name, NAME_SHOWN)
    return f"{text}…" if possibly_cut(name) else text


def recurring_hogs(hogs: Mapping[str, int]) -> list[Pattern]:
    return [_hog(name, count) for name, count in sorted(hogs.items()) if count >= MIN_COUNT]


def _hog(name: str, count: int) -> Pattern:
    shown, cut = shown_name(name), possibly_cut(name)
    note = " (a 15-character process name as the kernel keeps it, possibly cut short)" if cut else ""
    return make_pattern(
        f"memory-hog-{slug(name)}", "memory_hog_recurring", "warning",
        f"Memory pressure recurred {count} times with {shown} as the largest process{note}.",
        f"Check {shown} for a leak or a runaway workload.",
        data={"process": name, "count": count, "name_complete": not cut})
