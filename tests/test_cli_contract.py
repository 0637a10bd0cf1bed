"""Every command documents itself with an example; the CLI only lists working commands."""

from __future__ import annotations

import re

import pytest
import typer.main

from argus_cli.cli.app import app


def command_paths() -> list[list[str]]:
    group = typer.main.get_command(app)
    paths = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        paths += [[name, sub] for sub in subs] if subs else [[name]]
    return paths


def test_core_commands_are_registered():
    names = {p[0] for p in command_paths()}
    assert {"collect", "doctor"} <= names


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_help_has_an_example(run_argus, argus_env, path):
    result = run_argus(*path, "--help", env=argus_env)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Example:\s+argus ", result.stdout), result.stdout


def test_top_level_help_lists_commands(run_argus, argus_env):
    result = run_argus("--help", env=argus_env)
    assert result.returncode == 0
    for path in command_paths():
        assert path[0] in result.stdout


def test_version(run_argus, argus_env):
    from argus_cli import __version__

    result = run_argus("--version", env=argus_env)
    assert (result.returncode, result.stdout) == (0, f"argus {__version__}\n")
