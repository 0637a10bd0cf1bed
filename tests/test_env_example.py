"""argus.env.example is generated from the config table; the committed copy must not drift."""

from __future__ import annotations

from pathlib import Path

from argus_cli.config import VARIABLES, example_file_text, load, parse_env_file

EXAMPLE = Path(__file__).resolve().parent.parent / "argus.env.example"
REGENERATE = ("python -c \"from argus_cli.config import example_file_text; "
              "print(example_file_text(), end='')\" > argus.env.example")


def test_committed_example_equals_generated_text() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == example_file_text(), f"regenerate it: {REGENERATE}"


def test_example_lists_every_variable_once_with_its_default() -> None:
    values = parse_env_file(EXAMPLE.read_text(encoding="utf-8"))
    assert list(values) == [var.name for var in VARIABLES]
    assert values == {var.name: var.default for var in VARIABLES}


def test_example_loads_as_the_units_use_it(tmp_path: Path) -> None:
    # The units and the crontab set ARGUS_ENV_FILE and ARGUS_STATE_DIR in the process environment;
    # the example's empty `ARGUS_STATE_DIR=` line must not move the state dir away from it.
    config = load({"ARGUS_ENV_FILE": str(EXAMPLE), "ARGUS_STATE_DIR": "/var/lib/argus", "HOME": str(tmp_path)})
    assert config.env_file == EXAMPLE
    assert config.state_dir == Path("/var/lib/argus")
    assert config.problems_file == Path("/var/lib/argus/problems.jsonl")
    assert config.log_dir == Path("/var/lib/argus/logs")
