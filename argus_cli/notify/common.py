"""Shared helpers for the integrations: redaction and one-line notes.

Integrations are best-effort: a missing, failing or hanging ``bd``/``relay`` must never fail a
cycle. They run through ``argus_cli.children.run_tool``, which turns every way a child can
misbehave into a ``ToolRun`` value; what is left to say about it goes out as one ``note``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from argus_cli.redaction import redact

_MAX_NOTE = 300


def one_line(text: str, limit: int = _MAX_NOTE) -> str:
    """Collapse to a single line and cap it: notes and details must stay one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def note(message: str, secrets: Iterable[str] = ()) -> None:
    """One redacted line on stderr (under the timer, the journal keeps it; argus.log does not)."""
    print("argus: " + one_line(redact(message, secrets)), file=sys.stderr)
