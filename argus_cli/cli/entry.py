"""The ``argus`` executable: a signal that reaches ``argus cycle`` while Python is still importing
must not kill it without a record, so it is held from the first line (``runtime.guard``). This
module stays tiny: the CLI and its imports load after that."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["cycle"]:
        from argus_cli.runtime.guard import hold_early_signals
        hold_early_signals()
    from argus_cli.cli.app import main as cli_main
    cli_main()
