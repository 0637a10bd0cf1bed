"""The ``argus`` Typer app: one error boundary, one thin module per command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from argus_cli import __version__
from argus_cli.cli import act, collect, doctor
from argus_cli.cli import cycle as cycle_cmd
from argus_cli.cli import decide as decide_cmd
from argus_cli.cli import last as last_cmd
from argus_cli.cli import patterns as patterns_cmd
from argus_cli.cli import relay_summary as relay_summary_cmd
from argus_cli.cli import stats as stats_cmd
from argus_cli.cli.common import ArgusError
from argus_cli.config import ConfigError

app = typer.Typer(
    name="argus",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # locals in tracebacks could hold secrets
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"argus {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """Argus: a watchdog for one Linux server. Run `argus COMMAND --help` for examples."""


app.command("collect")(collect.command)
app.command("doctor")(doctor.command)
app.command("act")(act.command)
app.command("decide")(decide_cmd.command)
app.command("cycle")(cycle_cmd.command)
app.command("last")(last_cmd.command)
app.command("stats")(stats_cmd.command)
app.add_typer(patterns_cmd.app, name="patterns")
app.command("relay-summary")(relay_summary_cmd.command)


def main() -> None:
    """Entry point: bad configuration exits 2, a failed command with its ArgusError's code (1 unless it
    says otherwise, 2 for unusable input), with one line on stderr."""
    try:
        app()
    except ConfigError as exc:
        print(f"argus: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except ArgusError as exc:
        print(f"argus: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
