"""ARGUS_PROMETHEUS_TEXTFILE: the Prometheus textfile a real cycle writes in its record step
(ARCHITECTURE.md §1, step 12), for node_exporter's textfile collector.

Its cost does not grow with the history: the cycle counters are kept running
(runtime/counters.py); the problems are the stats scan of the window (``ARGUS_STATS_WINDOW_DAYS``,
as ``argus stats --format prometheus`` counts them, so both say the same), which reads only the
part of the history that can hold it; the disk forecast reads back over that window; and the last
cycle is in hand. The text comes from the one renderer
(reports/prometheus.py).

Written as node_exporter expects: a temp file in the same directory, named so the collector's
``*.prom`` glob skips it, then renamed over the textfile, mode 0644 for the collector's user. The
directory is never created: a missing one means node_exporter is not set up as configured, which
the operator must hear about (the cycle's ``errors``, argus.log, ``argus doctor``). Nothing here
ever fails the cycle: monitoring the watchdog must not stop it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from argus_cli.config import Config
from argus_cli.reports.prometheus import Sources, open_incidents, render
from argus_cli.reports.stats import StatsReport, compute_stats
from argus_cli.reports.trends import disk_trends
from argus_cli.runtime import counters
from argus_cli.state.layout import CycleState

MODE = 0o644  # node_exporter runs as its own user: it must be able to read the file


@dataclass
class Published:
    errors: list[str] = field(default_factory=list)  # for the cycle's line; each also logged
    seeded: int | None = None  # the counters were counted from the start (lines counted)


def publish(config: Config, line: Mapping[str, object], state: CycleState, *, log: logging.Logger,
            now: float) -> Published:
    """Write the textfile for this cycle (``line``: its cycles.jsonl line, not appended yet;
    ``state``: the cycle-state.json it is about to write). Never raises."""
    path = config.prometheus_textfile
    if path is None:
        return Published()
    try:
        published = _publish(config, path, line, state, log=log, now=now)
    except Exception as exc:  # noqa: BLE001 - monitoring must never fail the watchdog
        published = Published([f"prometheus textfile {path}: {type(exc).__name__}: {exc}"])
    for error in published.errors:
        log.error("%s", error)
    return published


def _publish(config: Config, path: Path, line: Mapping[str, object], state: CycleState, *,
             log: logging.Logger, now: float) -> Published:
    def report(message: str) -> None:
        log.warning("prometheus textfile: %s", message.removeprefix("argus: "))

    published = Published()
    advanced = counters.advance(config.state_dir, line, now, report)
    if advanced.seeded is not None:
        published.seeded = advanced.seeded
        log.warning("prometheus textfile: cycle counters counted afresh from cycles.jsonl (%d line(s)); "
                    "should they come out lower than before, Prometheus sees a counter reset", advanced.seeded)
    days = config.stats_window_days
    trends, _ = disk_trends(config.state_dir, now, days)
    sources = Sources(problems_in_window(config.problems_file, now, days), advanced.counters.totals, state,
                      trends, open_incidents(config.state_dir, report))
    try:
        write_atomically(path, render(sources))
    except OSError as exc:
        published.errors.append(f"prometheus textfile: cannot write {path}: {exc.strerror or exc}")
    try:  # the counters follow cycles.jsonl, whether or not the textfile could be written
        counters.save(config.state_dir, advanced.counters)
    except OSError as exc:
        published.errors.append(f"prometheus textfile: cannot keep its counters: {exc.strerror or exc}")
    return published


def problems_in_window(path: Path, now: float, days: int) -> StatsReport:
    """The registry's problems in the window by (type, severity, result), as ``argus_problems``
    counts them: the same scan, the same lines and the same window as ``argus stats``."""
    return compute_stats(path, now, days)[0]


def write_atomically(path: Path, text: str) -> None:
    """node_exporter's convention: a temp file in the same directory, renamed over ``path``.
    The name ``.argus.prom.XXXX.tmp`` does not end in ``.prom``, so a scrape never reads it half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8", "replace"))
            handle.flush()
            os.fsync(handle.fileno())  # renamed over the old one only once it is all there
            os.fchmod(handle.fileno(), MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def obstacle(path: Path) -> str | None:
    """What would stop a cycle from writing the textfile at ``path`` (``argus doctor``), or None.
    Tries a temp file as the cycle would, and removes it."""
    directory = path.parent
    if not directory.is_dir():
        return (f"{directory} does not exist: install node_exporter's textfile collector, or point "
                "ARGUS_PROMETHEUS_TEXTFILE at the directory it reads")
    if path.is_dir():
        return f"{path} is a directory, not a file"
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{path.name}.", suffix=".tmp"):
            pass
    except OSError as exc:
        return f"{directory} is not writable: {exc.strerror or exc}"
    return None


def written_ago(path: Path, now: float | None = None) -> float | None:
    """Seconds since the textfile was last written; None when it does not exist."""
    try:
        return (time.time() if now is None else now) - os.stat(path).st_mtime
    except OSError:
        return None
