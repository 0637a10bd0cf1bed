"""Shared helpers for the integrations: redaction and one-line notes.

Integrations are best-effort: a missing, failing or hanging ``bd``/``relay`` must never fail a
cycle. They run through ``argus_cli.children.run_tool``, which turns every way a child can
misbehave into a ``ToolRun`` value; what is left to say about it goes out as one ``note``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from argus_cli.redaction import redact
from argus_cli.text import one_line


def note(message: str, secrets: Iterable[str] = ()) -> None:
    """One redacted line on stderr (under the timer, the journal keeps it; argus.log does not)."""
    print("argus: " + one_line(redact(message, secrets)), file=sys.stderr)
