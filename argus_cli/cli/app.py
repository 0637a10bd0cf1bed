"""The ``argus`` Typer app: one error boundary, one thin module per command."""

from __future__ import annotations

import sys

import typer

from argus_cli.cli import act, collect, doctor
from argus_cli.cli import cycle as cycle_cmd  # decide
from argus_cli.cli import decide as decide_cmd  # decide
from argus_cli.cli import last as last_cmd  # decide
from argus_cli.cli import patterns as patterns_cmd  # reports
from argus_cli.cli import relay_summary as relay_summary_cmd  # reports
from argus_cli.cli import stats as stats_cmd  # reports
from argus_cli.cli.common import ArgusError
from argus_cli.config import ConfigError

app = typer.Typer(
    name="argus",
    help="Argus: a watchdog for one Linux server. Run `argus COMMAND --help` for examples.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # locals in tracebacks could hold secrets
    rich_markup_mode=None,
)
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
    """Entry point: bad configuration exits 2, a failed command 1, with one line on stderr."""
    try:
        app()
    except ConfigError as exc:
        print(f"argus: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except ArgusError as exc:
        print(f"argus: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
