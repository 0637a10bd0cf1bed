"""Collectors: one module per source, run in isolation into one snapshot (ARCHITECTURE.md §1).

Each collector is a function ``(ctx) -> dict`` of top-level snapshot keys. It runs in its own
daemon thread with its own timeout, so a hung or failing source becomes an ``errors`` entry
and never holds up the others or the process exit.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from argus_cli import __version__
from argus_cli.collectors.context import CollectContext
from argus_cli.config import Config
from argus_cli.model import iso_z

Collector = Callable[[CollectContext], dict[str, Any]]


@dataclass(frozen=True)
class CollectorSpec:
    name: str
    run: Collector
    empty: dict[str, Any] = field(default_factory=dict)  # keys to report when it fails


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
        CollectorSpec("system", system.collect, {"system": None}),
        CollectorSpec("memory", memory.collect, {"memory": None, "swap": None, "cgroup_memory": None}),
        CollectorSpec("disks", disks.collect, {"disks": []}),
        CollectorSpec("processes", processes.collect, {"memory_hog": None, "top_processes": []}),
        CollectorSpec("services", services.collect, {"services": []}),
        CollectorSpec("orphans", orphans.collect, {"orphans": None}),
        CollectorSpec("tmux", tmux.collect, {"tmux": []}),
        CollectorSpec("freshness", freshness.collect, {"freshness": []}),
        CollectorSpec("previous_cycle", previous.collect, {"previous_cycle": None}),
    ]


def take_snapshot(config: Config, now: float | None = None,
                  processes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A snapshot with every default collector, as the commands and the cycle take it; a cycle
    hands in the process table it already read for the orphan sweep."""
    return collect_snapshot(CollectContext(config, now=time.time() if now is None else now, _table=processes))


def collect_snapshot(ctx: CollectContext, collectors: Sequence[CollectorSpec] | None = None,
                     timeout: float | None = None) -> dict[str, Any]:
    """Run every collector concurrently, each bounded by ``timeout`` seconds."""
    collectors = default_collectors() if collectors is None else collectors
    timeout = float(ctx.config["ARGUS_COLLECT_TIMEOUT"]) if timeout is None else timeout
    snapshot: dict[str, Any] = {"ts": iso_z(ctx.now), "host": os.uname().nodename,
                                "argus_version": __version__}
    runs = [_Run(spec, ctx) for spec in collectors]
    for run in runs:
        run.thread.start()
    errors: list[dict[str, str]] = []
    deadline = ctx.monotonic() + timeout
    for run in runs:
        run.thread.join(max(0.0, deadline - ctx.monotonic()))
        snapshot.update(run.result if run.error is None else run.spec.empty)
        if run.error is not None:
            errors.append({"collector": run.spec.name, "error": run.error})
    snapshot["errors"] = errors
    return snapshot


class _Run:
    """One collector in a daemon thread; a thread that outlives its timeout is abandoned."""

    def __init__(self, spec: CollectorSpec, ctx: CollectContext) -> None:
        self.spec = spec
        self.result: dict[str, Any] = {}
        self.error: str | None = "timed out"
        self.thread = threading.Thread(target=self._target, args=(ctx,), daemon=True,
                                       name=f"collect-{spec.name}")

    def _target(self, ctx: CollectContext) -> None:
        try:
            self.result = self.spec.run(ctx)
            self.error = None
        except Exception as exc:  # noqa: BLE001 - any failure of a source is reported, not raised
            self.error = f"{type(exc).__name__}: {exc}"[:300]
