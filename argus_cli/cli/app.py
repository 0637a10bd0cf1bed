"""The ``argus`` Typer app: one error boundary, one thin module per command.

No traceback reaches an operator for a path Argus could not open: an OSError no command caught
becomes one line naming the path and the likely fix (exit 1), and every command that reads the
state dir first checks that this user can read it at all (``require_readable_state_dir``).
"""

from __future__ import annotations

import errno
import functools
import sys
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer

from argus_cli import __version__
from argus_cli.cli import act, collect, doctor
from argus_cli.cli import approvals as approvals_cmd
from argus_cli.cli import cycle as cycle_cmd
from argus_cli.cli import decide as decide_cmd
from argus_cli.cli import eval as eval_cmd
from argus_cli.cli import history as history_cmd
from argus_cli.cli import last as last_cmd
from argus_cli.cli import patterns as patterns_cmd
from argus_cli.cli import relay_summary as relay_summary_cmd
from argus_cli.cli import replay as replay_cmd
from argus_cli.cli import report as report_cmd
from argus_cli.cli import silence as silence_cmd
from argus_cli.cli import stats as stats_cmd
from argus_cli.cli import status as status_cmd
from argus_cli.cli.common import ArgusError, load_config, os_error_line, require_readable_state_dir, with_access_hint
from argus_cli.config import ConfigError

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="argus",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # locals in tracebacks could hold secrets
    rich_markup_mode=None,
    # `-h` as well as `--help`, on every command: sub-commands and `patterns` inherit it
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"argus {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print the version and exit.")] = False) -> None:
    """Argus: a watchdog for one Linux server. Run `argus COMMAND --help` for examples."""


def _reads_state(command: Callable[P, R]) -> Callable[P, R]:
    """``command``, first stopping (one line, exit 1) when the state dir cannot be read at all.

    For the commands that do not vet the state dir themselves (``cycle`` and ``act`` do, with
    ``require_state_dir``); ``doctor`` reports it as one of its checks instead. Runs after the
    options are parsed, so ``--help`` and a usage error never depend on the state dir.
    """
    @functools.wraps(command)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        require_readable_state_dir(load_config().state_dir)
        return command(*args, **kwargs)
    return checked


app.command("collect")(_reads_state(collect.command))
app.command("doctor")(doctor.command)
app.command("act")(act.command)
app.command("decide")(_reads_state(decide_cmd.command))
app.command("eval")(eval_cmd.command)
app.command("replay")(_reads_state(replay_cmd.command))
app.command("cycle")(cycle_cmd.command)
app.command("last")(_reads_state(last_cmd.command))
app.command("status")(_reads_state(status_cmd.command))
app.command("history")(_reads_state(history_cmd.history))
app.command("explain", context_settings={"ignore_unknown_options": True})(_reads_state(history_cmd.explain))  # -N arg
app.command("stats")(_reads_state(stats_cmd.command))
app.command("report")(_reads_state(report_cmd.command))
for _info in patterns_cmd.app.registered_commands:  # analyze, detect
    if _info.callback is not None:
        _info.callback = _reads_state(_info.callback)
app.add_typer(patterns_cmd.app, name="patterns")
app.command("relay-summary")(_reads_state(relay_summary_cmd.command))
app.command("pending")(_reads_state(approvals_cmd.pending))
app.command("approve")(_reads_state(approvals_cmd.approve))
app.command("deny")(_reads_state(approvals_cmd.deny))
for _info in silence_cmd.app.registered_commands:  # add, list, expire
    if _info.callback is not None:
        _info.callback = _reads_state(_info.callback)
app.add_typer(silence_cmd.app, name="silence")


def _only(name: str | None) -> None:
    """Keep only the command (or command group) ``name`` when the invocation names one: Typer builds
    every registered command's parameters on each run, and a cycle every five minutes needs one.
    Anything else (``--help``, ``--version``, a typo) keeps them all, for the full help."""
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if commands or groups:
        app.registered_commands, app.registered_groups = commands, groups


def main() -> None:
    """Entry point: bad configuration exits 2, a failed command with its ArgusError's code (1 unless it
    says otherwise, 2 for unusable input), a path it could not open with 1, each with one line on
    stderr; a permission problem's line ends with the likely fix."""
    _only(sys.argv[1] if len(sys.argv) > 1 else None)
    try:
        app()
    except ConfigError as exc:
        print(f"argus: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    except ArgusError as exc:  # raised for an OSError (``from None``): that error is its context
        print(f"argus: {with_access_hint(str(exc), exc.__context__)}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # stdout closed under us (`argus last | head`): nothing to say
            sys.exit(1)
        print(f"argus: {os_error_line(exc)}", file=sys.stderr)
        sys.exit(1)
