"""``argus patterns analyze|detect``: pattern analysis and the daily pattern bead."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from argus_cli.cli.common import console, emit_json, load_config
from argus_cli.cli.reports_common import incident_history, io_errors, wants_json, warn_skipped
from argus_cli.model import iso_z

if TYPE_CHECKING:
    from argus_cli.config import Config
    from argus_cli.reports.pattern_types import PatternAnalysis
    from argus_cli.reports.scan import ScanResult

app = typer.Typer(help="Pattern analysis over the problem registry.\n\n"
                       "Example: argus patterns analyze --json", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("analyze")
def analyze(
    out: Annotated[Optional[Path], typer.Option(
        "--out", metavar="FILE", help="Write the analysis to FILE [default: <state>/pattern-analysis.json].")] = None,
    window_days: Annotated[Optional[int], typer.Option(
        "--window-days", min=1, max=3650, help="Days to look back [default: ARGUS_PATTERN_WINDOW_DAYS].")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON even on a terminal.")] = False,
    compat: Annotated[bool, typer.Option(
        "--compat", help="Run the seed's four detectors (pattern-analysis.sh), exactly as it did.")] = False,
) -> None:
    """Find the patterns of the last ARGUS_PATTERN_WINDOW_DAYS days: restart spikes, disks filling
    (from the measured usage in <state>/metrics.jsonl), recurring memory hogs, and the UTC hours
    of day that stand out against the host's other hours.

    Also lists the top recurring incident subjects of that window (from <state>/incidents.jsonl).

    The analysis is always written (atomically); stdout gets JSON when it is not a terminal
    or with --json, a rich view otherwise (with a 24-hour histogram).

    Example: argus patterns analyze --json | jq '.patterns[].id'
    """
    from argus_cli.state.files import atomic_write_json
    from argus_cli.state.layout import PATTERN_ANALYSIS

    config = load_config()
    target = out or config.state_dir / PATTERN_ANALYSIS
    days, now = window_days or config.pattern_window_days, time.time()
    with io_errors(f"reading {config.problems_file}"):
        analysis, scan = _analysis(config, now, days, compat=compat)
    warn_skipped(scan)
    history = incident_history(config, now, days)
    analysis["top_subjects"] = history.top_subjects
    with io_errors("writing the analysis"):
        atomic_write_json(target, analysis)
    typer.echo(f"argus: analysis written to {target}", err=True)
    if wants_json(json_out):
        emit_json(analysis)
    else:
        from argus_cli.cli.render_reports import render_patterns, render_top_subjects
        render_patterns(console(), analysis)
        render_top_subjects(console(), history)


def _analysis(config: Config, now: float, days: int, *, compat: bool) -> tuple[PatternAnalysis, ScanResult]:
    if compat:
        from argus_cli.reports.patterns_compat import compute_seed_patterns
        return compute_seed_patterns(config.problems_file, now, days)
    from argus_cli.reports.patterns import compute_patterns
    return compute_patterns(config.problems_file, config.state_dir, now, days)


@app.command("detect")
def detect(
    json_out: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Analyse, and create one summary bead per pattern signature per UTC day.

    Each report is appended to <state>/patterns.jsonl; the day's signatures are kept in
    <state>/pattern-detect-state.json. A bead that could not be created is tried again next run.

    Example: argus patterns detect --json
    """
    from argus_cli.notify.beads import create_summary_bead
    from argus_cli.reports.detect import detect as run_detect
    from argus_cli.state.files import owning_state
    from argus_cli.state.lock import LockBusy

    config = load_config()
    now = time.time()
    try:
        # detect owns the day's pattern state (it alone writes it): a bad one is moved aside, not lost
        with io_errors("pattern detection"), owning_state():  # reports never send: notify makes the bead
            outcome = run_detect(config, now, create_summary_bead)
    except LockBusy:
        typer.echo("argus: another `argus patterns detect` is running; leaving it to that one", err=True)
        if json_out:
            emit_json({"status": "busy", "date": iso_z(now)[:10]})
        return
    warn_skipped(outcome.scan)
    warn_skipped(outcome.incidents)
    if json_out:
        emit_json(outcome.to_dict(now))
    else:
        typer.echo(outcome.message())
