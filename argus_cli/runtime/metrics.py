"""``metrics.jsonl``: one compact line per cycle with what the host measured (time, CPU, load,
memory, swap, each disk's usage, services up of total), about 100 bytes. The trends and the
disk forecast read it (``reports/trends.py``); the problem registry only says when something
was wrong, this says how the host was all along.

Rotated by size with the other records (ARGUS_RECORDS_MAX_MB; 10 MB is a year of five-minute
cycles); a dry run writes none.
"""

from __future__ import annotations

from argus_cli.config import Config
from argus_cli.model import iso_z
from argus_cli.snapshot import Snapshot
from argus_cli.state.files import append_jsonl
from argus_cli.state.layout import METRICS


def line_of(snapshot: Snapshot, now: float) -> dict[str, object]:
    """The measurements worth a trend, rounded to what a trend can use; a value the snapshot
    lacks (a collector that failed) is left out, never written as 0."""
    line: dict[str, object] = {"ts": iso_z(now)}
    system, memory, swap = snapshot.system, snapshot.memory, snapshot.swap
    values = (("cpu", system.cpu_percent if system else None), ("load", system.load_per_core if system else None),
              ("mem", memory.percent if memory else None), ("swap", swap.percent if swap else None))
    line.update({key: round(float(value), 2) for key, value in values if value is not None})
    disks = {d.path: round(float(d.percent), 2) for d in snapshot.disks if d.path and d.percent is not None}
    if disks:
        line["disk"] = disks
    if snapshot.services:
        line["up"] = sum(1 for s in snapshot.services if s.status == "up")
        line["svc"] = len(snapshot.services)
    return line


def append(config: Config, snapshot: Snapshot, now: float) -> None:
    # Rotated with the other records at the start of the cycle (runtime/records.rotate_records).
    append_jsonl(config.state_dir / METRICS, line_of(snapshot, now))
