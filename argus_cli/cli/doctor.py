"""``argus doctor``: one line per check; exit 1 when a required check fails."""

from __future__ import annotations

from typing import Annotated

import typer

from argus_cli.cli.common import emit_json


def command(
    json_out: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check configuration, state dir, prompt and the optional tools Argus uses.

    Required checks (config, state dir, prompt, each disk path measurable) exit 1
    when broken; optional ones (tmux, systemctl, bd, relay, API key, Telegram) are
    warnings, and so is a disk path that is not a mount point.

    Example: argus doctor
    """
    from argus_cli.doctor import run_checks

    checks = run_checks()
    if json_out:
        emit_json([check.to_dict() for check in checks])
    else:
        for check in checks:
            typer.echo(f"{check.level:<4}  {check.name:<10}  {check.detail}")
    if any(check.level == "FAIL" for check in checks):
        raise typer.Exit(1)
