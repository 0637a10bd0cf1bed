"""Collectors: one module per source, run in isolation into one snapshot (ARCHITECTURE.md §1).

Each collector is a function ``(ctx) -> part`` (or a tuple of parts) that fills the snapshot
fields its spec names. It runs in its own daemon thread with its own timeout, so a hung or
failing source leaves its fields at their defaults (None, or empty), adds an ``errors`` entry
and never holds up the others or the process exit. A collector of several items (disk paths) returns
a ``Partial``: what it measured fills its fields, and each item it could not measure is an ``errors``
entry of its own, so one bad item never hides the rest.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from argus_cli import __version__
from argus_cli.collectors.context import CollectContext
from argus_cli.config import Config
from argus_cli.model import iso_z
from argus_cli.snapshot import CollectorError, Snapshot

if TYPE_CHECKING:  # psutil loads with the first collector that reads the table
    from argus_cli.processes import ProcessRow

Collector = Callable[[CollectContext], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Partial(Generic[T]):
    """A collector's result with the items it could not read: one ``errors`` entry each."""

    value: T  # what the spec's fields get, as a collector returns it without errors
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class CollectorSpec:
    name: str
    run: Collector
    fields: tuple[str, ...]  # the Snapshot fields it fills; with more than one, run returns them as a tuple

    def parts(self, result: Any) -> dict[str, Any]:
        return dict(zip(self.fields, result if len(self.fields) > 1 else (result,), strict=True))


def default_collectors() -> list[CollectorSpec]:
    from argus_cli.collectors import (
        disks,
        freshness,
        memory,
        orphans,
        previous,
        processes,
        services,
        system,
        tmux,
    )
    return [
        CollectorSpec("system", system.collect, ("system",)),
        CollectorSpec("memory", memory.collect, ("memory", "swap", "cgroup_memory")),
        CollectorSpec("disks", disks.collect, ("disks",)),
        CollectorSpec("processes", processes.collect, ("memory_hog", "top_processes")),
        CollectorSpec("services", services.collect, ("services",)),
        CollectorSpec("orphans", orphans.collect, ("orphans",)),
        CollectorSpec("tmux", tmux.collect, ("tmux",)),
        CollectorSpec("freshness", freshness.collect, ("freshness",)),
        CollectorSpec("previous_cycle", previous.collect, ("previous_cycle",)),
    ]


def take_snapshot(config: Config, now: float | None = None,
                  processes: list[ProcessRow] | None = None) -> Snapshot:
    """A snapshot with every default collector, as the commands and the cycle take it; a cycle
    hands in the process table it already read for the orphan sweep."""
    return collect_snapshot(CollectContext(config, now=time.time() if now is None else now, _table=processes))


def collect_snapshot(ctx: CollectContext, collectors: Sequence[CollectorSpec] | None = None,
                     timeout: float | None = None) -> Snapshot:
    """Run every collector concurrently, each bounded by ``timeout`` seconds."""
    collectors = default_collectors() if collectors is None else collectors
    timeout = float(ctx.config.collect_timeout) if timeout is None else timeout
    runs = [_Run(spec, ctx) for spec in collectors]
    for run in runs:
        run.thread.start()
    parts: dict[str, Any] = {}
    errors: list[CollectorError] = []
    deadline = ctx.monotonic() + timeout
    for run in runs:
        run.thread.join(max(0.0, deadline - ctx.monotonic()))
        if run.error is None:
            parts.update(run.parts)
            errors.extend(CollectorError(collector=run.spec.name, error=error) for error in run.item_errors)
        else:
            errors.append(CollectorError(collector=run.spec.name, error=run.error))
    return Snapshot(ts=iso_z(ctx.now), host=os.uname().nodename, argus_version=__version__,
                    **parts, errors=tuple(errors))


class _Run:
    """One collector in a daemon thread; a thread that outlives its timeout is abandoned."""

    def __init__(self, spec: CollectorSpec, ctx: CollectContext) -> None:
        self.spec = spec
        self.parts: dict[str, Any] = {}
        self.item_errors: tuple[str, ...] = ()
        self.error: str | None = "timed out"
        self.thread = threading.Thread(target=self._target, args=(ctx,), daemon=True,
                                       name=f"collect-{spec.name}")

    def _target(self, ctx: CollectContext) -> None:
        try:
            result = self.spec.run(ctx)
            if isinstance(result, Partial):
                self.item_errors = tuple(error[:300] for error in result.errors)
                result = result.value
            self.parts = self.spec.parts(result)
            self.error = None
        except Exception as exc:  # noqa: BLE001 - any failure of a source is reported, not raised
            self.error = f"{type(exc).__name__}: {exc}"[:300]
