"""``argus stats``: registry statistics as JSON, Prometheus text, or a rich view."""

from __future__ import annotations

import enum
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from argus_cli.cli.common import console, emit_json, load_config, os_error_line
from argus_cli.cli.reports_common import incident_history, io_errors, wants_json, warn_skipped

if TYPE_CHECKING:  # the reports load only when this command runs, not on every `argus` start
    from argus_cli.config import Config
    from argus_cli.reports.scan import ScanResult
    from argus_cli.reports.stats import StatsReport
    from argus_cli.reports.trends import DiskTrend


class Format(enum.StrEnum):
    json = "json"
    prometheus = "prometheus"


def command(
    out: Annotated[Optional[Path], typer.Option("--out", metavar="FILE",
                                                help="Write the report to FILE atomically.")] = None,
    window_days: Annotated[Optional[int], typer.Option(
        "--window-days", min=1, max=3650,
        help="Days to count back from now [default: ARGUS_STATS_WINDOW_DAYS].")] = None,
    fmt: Annotated[Optional[Format], typer.Option(
        "--format", help="json, or prometheus (node_exporter textfile) "
                         "[default: a rich view on a terminal, json otherwise].")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON even on a terminal.")] = False,
) -> None:
    """Statistics of the problem registry over the last N days.

    With the top recurring incident subjects of that window (from <state>/incidents.jsonl).

    Without --format: a rich view on a terminal, JSON when stdout is not a terminal or with
    --json. --format prometheus prints the node_exporter textfile and cannot go with --json.

    Example: argus stats --format prometheus --out textfile/argus.prom
    """
    if fmt is Format.prometheus and json_out:
        raise typer.BadParameter("cannot go with --format prometheus (that prints Prometheus text, not JSON)",
                                 param_hint="'--json'")
    config = load_config()
    days, now = window_days or config.stats_window_days, time.time()
    with io_errors(f"reading {config.problems_file}"):
        from argus_cli.reports.stats import SEED_RATE_NOTE, compute_stats

        report, scan = compute_stats(config.problems_file, now, days)
    warn_skipped(scan)
    trends = _trends(config, now, days)
    if fmt is Format.prometheus:  # the textfile: the registry's, cycles.jsonl's and the disk forecast
        _prometheus(config, report, out, trends)
        return
    history = incident_history(config, now, days)
    data = report.to_dict()
    data["top_subjects"] = history.top_subjects
    data["per_day"] = report.per_day()  # every day of the window, the empty ones too
    data["disk_trends"] = [t.to_dict() for t in trends]
    data["registry"] = _registry(scan)  # an empty window: a quiet host, or the wrong file?
    data["remediation"] = report.remediation()
    data["notifications"] = report.results_by_action(remediations=False)
    data["notes"] = {"action_success_rate": SEED_RATE_NOTE}
    if out is not None:
        with io_errors("writing the report"):
            emit_json(data, out)
        typer.echo(f"argus: stats written to {out}", err=True)
    if json_out or (out is None and (fmt is Format.json or wants_json(json_out))):
        emit_json(data)
    elif out is None:
        from argus_cli.cli.render_reports import render_disk_trends, render_stats, render_top_subjects
        render_stats(console(), report, scan)
        render_top_subjects(console(), history)
        render_disk_trends(console(), trends, days)


def _registry(scan: ScanResult) -> dict[str, object]:
    """The file read, and when nothing fell in the window, what the whole history holds."""
    from argus_cli.model import iso_z
    from argus_cli.state.records import generations

    out: dict[str, object] = {"path": str(scan.path), "exists": bool(generations(scan.path)), "lines_read": scan.lines,
                              "skipped": scan.skipped}
    if scan.history is not None:
        held = scan.history
        out.update({"lines": held.lines, "files": held.files,
                    "oldest": iso_z(held.oldest) if held.oldest is not None else None,
                    "newest": iso_z(held.newest) if held.newest is not None else None})
    return out


def _trends(config: Config, now: float, days: int) -> list[DiskTrend]:
    """The disk trends; metrics.jsonl unreadable is a warning, not the end of the registry's report."""
    from argus_cli.reports.trends import disk_trends
    try:
        trends, read = disk_trends(config.state_dir, now, days)
    except OSError as exc:
        print(f"argus: disk trends left out: {os_error_line(exc)}", file=sys.stderr)
        return []
    if read.warning():
        print(read.warning(), file=sys.stderr)
    return trends


def _prometheus(config: Config, report: StatsReport, out: Path | None, trends: list[DiskTrend]) -> None:
    from argus_cli.reports.prometheus import Sources, cycle_totals, open_incidents, render
    from argus_cli.state import layout
    from argus_cli.state.files import atomic_write_bytes

    cycles = config.state_dir / layout.CYCLES
    with io_errors(f"reading {cycles}"):
        totals = cycle_totals(cycles)
        state = layout.CYCLE_STATE.read(config.state_dir)
        incidents = open_incidents(config.state_dir)
    if totals.malformed:
        print(f"argus: skipped {totals.malformed} malformed line(s) in {cycles}", file=sys.stderr)
    text = render(Sources(report, totals, state, trends, incidents))
    with io_errors("writing the Prometheus file"):
        if out is not None:
            atomic_write_bytes(out, text.encode("utf-8"))
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
