"""Beads through the ``bd`` CLI (ARCHITECTURE.md §6): find, create, reuse and close problem beads.

Every call is bounded by ``ARGUS_BD_TIMEOUT`` and runs in ``ARGUS_BEADS_WORKDIR``. ``bd`` missing,
failing, hanging or printing garbage never raises: the functions return None/False, so the cycle
goes on guarding the host. A failing bd leaves one line on stderr; a bd that is not installed
leaves none (``argus doctor`` reports it), or every cycle would repeat the same line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

from argus_cli.children import ToolRun, run_tool
from argus_cli.config import Config
from argus_cli.model import iso_z
from argus_cli.notify.common import note
from argus_cli.text import one_line

MAX_TITLE = 200
MAX_BODY = 8000
# bd ids look like "proj-a1b2" or "bd-12.3"; anything else on stdout is noise, not an id.
_BEAD_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")


def find_open_bead(config: Config, key: str) -> str | None:
    """Id of an open bead whose description has the line ``Problem key: <key>``."""
    return _find(config, key)[1]


def _find(config: Config, key: str) -> tuple[bool, str | None]:
    """(bd answered with a bead list, matching id or None)."""
    run = _bd(config, "list", ["list", "--status", "open", "--json"])
    if run is None:
        return False, None
    try:
        beads = _bead_list(json.loads(run.stdout))
    except ValueError as exc:
        note(f"bd list printed something that is not a bead list: {exc}", config.secrets())
        return False, None
    wanted = f"Problem key: {key}"
    for bead in beads:
        lines = str(bead.get("description") or "").splitlines()
        if any(line.strip() == wanted for line in lines) and _valid_id(bead.get("id")):
            return True, str(bead["id"])
    return True, None


def create_bead(config: Config, problem_type: str, description: str, key: str,
                *, now: float | None = None) -> str | None:
    """Create ``[argus] <type>: <description>`` with the problem key in its body; its id or None."""
    now = time.time() if now is None else now
    body = (f"Problem key: {key}\nHost: {socket.gethostname()}\nFirst seen: {iso_z(now)}\n\n"
            f"{description[:MAX_BODY]}")
    return _create(config, f"[argus] {problem_type}: {description}", body)


def ensure_bead(config: Config, problem_type: str, description: str, key: str,
                *, now: float | None = None) -> str | None:
    """Reuse the open bead for ``key``, else create one.

    When ``bd list`` itself fails nothing is created: a blind create every cycle would pile up
    duplicate beads, and a hanging bd would cost two timeouts instead of one.
    """
    listed, bead_id = _find(config, key)
    if bead_id or not listed:
        return bead_id
    return create_bead(config, problem_type, description, key, now=now)


def close_bead(config: Config, bead_id: str, reason: str) -> bool:
    if not _valid_id(bead_id):  # never let a value starting with "-" become a bd flag
        note(f"bd close: refusing malformed bead id {bead_id!r}", config.secrets())
        return False
    return _bd(config, "close", ["close", bead_id, "--reason", one_line(reason, 500)]) is not None


def create_summary_bead(config: Config, title: str, body: str) -> str | None:
    """One bead for ``patterns detect``; the caller writes title and body."""
    return _create(config, title, body[:MAX_BODY])


def _create(config: Config, title: str, body: str) -> str | None:
    args = ["create", "--title", one_line(title, MAX_TITLE), "--description", body,
            "--priority", str(config.bead_priority), "--labels", "argus", "--silent"]
    run = _bd(config, "create", args)
    if run is None:
        return None
    bead_id = run.stdout.strip()
    if not _valid_id(bead_id):
        note(f"bd create printed no bead id (got {one_line(bead_id, 80)!r})", config.secrets())
        return None
    return bead_id


def _bd(config: Config, what: str, args: list[str]) -> ToolRun | None:
    """Run ``bd ARGS`` in the beads workdir; None unless it exited 0 (with a note if bd is there)."""
    if shutil.which(config.bd_bin, mode=os.F_OK) is None:  # not installed: skip, silently
        return None
    run = run_tool([config.bd_bin, *args], timeout=config.bd_timeout,
                   cwd=Path(config.beads_workdir))
    if run.ok:
        return run
    note(f"bd {what} failed: {run.describe()}", config.secrets())
    return None


def _bead_list(value: object) -> list[dict[str, object]]:
    """bd prints a list of beads; tolerate a wrapping object and skip non-objects."""
    if isinstance(value, dict):
        value = next((v for k, v in value.items() if k in ("issues", "beads", "items") and isinstance(v, list)),
                     None)
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON list, got {type(value).__name__}")
    return [item for item in value if isinstance(item, dict)]


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and bool(_BEAD_ID.match(value))
