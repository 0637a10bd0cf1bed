"""``argus doctor``: one line per check; exit 1 when a required check fails."""

from __future__ import annotations

from typing import Annotated

import typer

from argus_cli.cli.common import emit_json


def command(
    json_out: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    online: Annotated[bool, typer.Option(
        "--online", help="Also prove the API key, model and bot token work: one max_tokens=1 "
                         "Messages call, one Telegram getMe.")] = False,
    send_test: Annotated[bool, typer.Option(
        "--send-test", help="Also send one Telegram test message (implies --online).")] = False,
) -> None:
    """Check configuration, state dir, prompt and the optional tools Argus uses.

    Required checks (config, state dir, prompt, each disk path measurable) exit 1
    when broken; optional ones (tmux, systemctl, bd, relay, API key, Telegram) are
    warnings, and so is a disk path that is not a mount point. Nothing goes on the
    network unless --online (or --send-test) asks: then a failing LLM call, getMe
    or test message is a FAIL too; a rate limit is a warning, and what is not
    configured is skipped.

    Example: argus doctor --online --send-test
    """
    from argus_cli.doctor import run_checks

    checks = run_checks(online=online, send_test=send_test)
    if json_out:
        emit_json([check.to_dict() for check in checks])
    else:
        for check in checks:
            typer.echo(f"{check.level:<4}  {check.name:<10}  {check.detail}")
    if any(check.level == "FAIL" for check in checks):
        raise typer.Exit(1)
