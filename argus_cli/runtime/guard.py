"""SIGTERM/SIGINT and the cycle's hard time limit (``ARGUS_CYCLE_TIMEOUT``).

Outside actions a signal interrupts at once (it raises ``Interrupted`` wherever the cycle is,
even inside a slow LLM call). While actions run it only raises a flag: the actions layer
checks it between actions, so no action is cut in half. ``Interrupted`` and ``CycleTimeout``
derive from BaseException so that ``except Exception`` blocks (the LLM call catches every
Exception) let them through.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

_held: list[str] = []  # signals that arrived before the cycle's Guard was in place


def hold_early_signals() -> None:
    """From process start until the Guard is installed, SIGTERM/SIGINT are held, not fatal: the
    default action would kill the process before it could write a record. The Guard then stops
    the cycle at once, and the record says "interrupted"."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _hold)


def _hold(signum: int, frame: FrameType | None) -> None:
    _held.append(signal.Signals(signum).name)


class Interrupted(BaseException):
    """SIGTERM or SIGINT asked the cycle to stop."""


class CycleTimeout(BaseException):
    """The cycle ran longer than ARGUS_CYCLE_TIMEOUT."""


class Guard:
    def __init__(self, timeout_seconds: int, install: bool = True) -> None:
        self.timeout = timeout_seconds
        self.install = install and threading.current_thread() is threading.main_thread()
        self.stop_signal: str | None = None
        self._mode = "raise"  # raise | defer | quiet
        self._saved: dict[int, Any] = {}

    def should_stop(self) -> bool:
        return self.stop_signal is not None

    def stop_if_asked(self) -> None:
        """Raise Interrupted if a signal came in (also one held before the Guard was entered)."""
        if self.stop_signal is not None:
            raise Interrupted(self.stop_signal)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signal = signal.Signals(signum).name
        if self._mode == "raise":
            raise Interrupted(self.stop_signal)

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._mode != "quiet":
            raise CycleTimeout(f"cycle exceeded ARGUS_CYCLE_TIMEOUT={self.timeout}s")

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Run a block that must not be cut by a signal (actions); stop afterwards if asked."""
        self._mode = "defer"
        try:
            yield
        finally:
            self._mode = "raise"
        if self.stop_signal:
            raise Interrupted(self.stop_signal)

    def quiet(self) -> None:
        """From now on (recording the outcome) signals and the alarm only set flags."""
        self._mode = "quiet"

    def __enter__(self) -> Guard:
        if self.install:
            for signum, handler in ((signal.SIGTERM, self._on_stop), (signal.SIGINT, self._on_stop),
                                    (signal.SIGALRM, self._on_alarm)):
                self._saved[signum] = signal.signal(signum, handler)
            signal.alarm(self.timeout)
        if _held:
            self.stop_signal = _held[0]
            _held.clear()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.install:
            signal.alarm(0)
            for signum, handler in self._saved.items():
                signal.signal(signum, handler)
