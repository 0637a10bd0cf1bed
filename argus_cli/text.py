"""Host-supplied text made safe to show: a leaf every layer may import.

Collectors shorten what they read from the host, and the guardrails shorten what a decider
sent back; both need the same rule, so it lives below both (docs/ARCHITECTURE.md §2).
"""

from __future__ import annotations

HOST_STRING_MAX = 120  # host-supplied strings are data; keep them short
ONE_LINE_MAX = 300


def truncate(text: str, limit: int = HOST_STRING_MAX) -> str:
    """``text`` with non-printable characters as ``?`` and at most ``limit`` characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str, limit: int = ONE_LINE_MAX) -> str:
    """Collapse to a single line and cap it: notes and error details must stay one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


PREVIEW_MAX = 200  # a dry-run preview quotes what would be sent or written: the start of it


def cut_at_word(text: str, limit: int = PREVIEW_MAX) -> str:
    """``text`` in at most ``limit`` characters: cut at the last space that fits and ended with
    ``…``, so a preview never stops mid-word. One word longer than half the room is cut inside.
    ``limit`` is at least 2."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    head = head[:space].rstrip(" ,;:") if space >= limit // 2 else head[: limit - 1]
    return head + "…"
