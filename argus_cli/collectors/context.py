"""What a collector may look at: config, clock, and a shared process table."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from argus_cli.config import Config

if TYPE_CHECKING:  # psutil loads only when a collector asks for the table
    from argus_cli.processes import ProcessRow


@dataclass
class CollectContext:
    config: Config
    now: float = field(default_factory=time.time)
    monotonic: Callable[[], float] = time.monotonic
    _table: list[ProcessRow] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def process_table(self) -> list[ProcessRow]:
        """All processes (pid, name, rss, create_time, cmdline), read once per snapshot."""
        with self._lock:
            if self._table is None:
                from argus_cli.processes import read_process_table  # psutil only when a collector asks
                self._table = read_process_table()
            return self._table
