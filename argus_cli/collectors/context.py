"""What a collector may look at: config, clock, and a shared process table."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argus_cli.config import Config

HOST_STRING_MAX = 120  # host-supplied strings are data; keep them short


def truncate(text: str, limit: int = HOST_STRING_MAX) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class CollectContext:
    config: Config
    now: float = field(default_factory=time.time)
    monotonic: Callable[[], float] = time.monotonic
    _table: list[dict[str, Any]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def process_table(self) -> list[dict[str, Any]]:
        """All processes (pid, name, rss, create_time, cmdline), read once per snapshot."""
        with self._lock:
            if self._table is None:
                from argus_cli.collectors.proctable import read_process_table
                self._table = read_process_table()
            return self._table
