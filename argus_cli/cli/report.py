"""``argus report --html FILE``: the state directory as one self-contained web page."""

from __future__ import annotations

import errno
import socket
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from argus_cli.cli.common import load_config
from argus_cli.cli.reports_common import io_errors

MODE = 0o644  # a page to open in a browser or mail on; it holds what `argus stats` prints


def command(
    html: Annotated[str, typer.Option("--html", metavar="FILE",
                                      help="Write the page to FILE atomically (mode 0644); '-' prints it.")],
    window_days: Annotated[Optional[int], typer.Option(
        "--window-days", min=1, max=3650,
        help="Days to count back from now [default: ARGUS_STATS_WINDOW_DAYS].")] = None,
) -> None:
    """One HTML page on the host: health now, open incidents, problems per day, recurring subjects,
    actions and their outcomes, disk and memory trends with the forecast, LLM calls and tokens,
    and what Argus could not see.

    The page needs no network: no script, its charts are inline SVG. It reads like `argus stats`
    (same window, same registry) and never changes the state directory.

    Example: argus report --html /var/www/argus/index.html --window-days 14
    """
    from argus_cli.reports.html import render
    from argus_cli.reports.overview import gather

    config = load_config()
    days, now = window_days or config.stats_window_days, time.time()
    with io_errors(f"reading {config.problems_file}"):
        view = gather(config.state_dir, config.problems_file, socket.gethostname(), now, days)
    for line in dict.fromkeys([*view.unreadable, *view.skipped()]):  # on the page too, under "What Argus could not see"
        print(line, file=sys.stderr)
    page = render(view).encode("utf-8", "replace")  # a lone surrogate from a hand edit: "?"
    if html == "-":
        sys.stdout.buffer.write(page)
        sys.stdout.flush()
        return
    from argus_cli.state.files import atomic_write_bytes

    target = Path(html)
    with io_errors("writing the report"):
        if not target.parent.is_dir():  # not made here: it would be private (0700), unreadable to a web server
            raise FileNotFoundError(errno.ENOENT, "no such directory", str(target.parent))
        atomic_write_bytes(target, page, mode=MODE)
    typer.echo(f"argus: report written to {html}", err=True)
