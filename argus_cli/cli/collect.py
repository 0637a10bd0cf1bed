"""``argus collect``: take one snapshot of the host."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from argus_cli.cli.common import console, emit_json, load_config


def command(
    json_out: Annotated[bool, typer.Option("--json", help="Print the snapshot as JSON.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the JSON snapshot to FILE atomically.",
                                                metavar="FILE")] = None,
) -> None:
    """Take one snapshot of the host.

    Example: argus collect --json | jq .memory
    """
    from argus_cli.collectors import take_snapshot
    from argus_cli.snapshot import to_json

    config = load_config()
    snapshot = take_snapshot(config)
    if out is not None:
        emit_json(to_json(snapshot), out)
        typer.echo(f"argus: snapshot written to {out}", err=True)
    if json_out:
        emit_json(to_json(snapshot))
    elif out is None:
        from argus_cli.cli.render_snapshot import render
        render(console(), snapshot, config)
