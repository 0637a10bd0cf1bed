"""What holds notifications back in this cycle: the active silences (`argus silence add`) and a
maintenance window (ARGUS_MAINTENANCE). Read once per cycle; the incident book asks ``muted``
about each subject, and the cycle announces what ended since the last one (``ended``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from argus_cli.config import Config, MaintenanceWindow
from argus_cli.control import silences
from argus_cli.state.layout import SILENCES, Silences


@dataclass(frozen=True)
class Ended:
    """A silence or a window that ended since the last cycle: how to name it, what it covered."""

    label: str
    matches: Callable[[str], bool]
    silence_id: str | None = None  # None: the maintenance window


@dataclass
class Quiet:
    store: Silences
    window: MaintenanceWindow | None
    now: float

    @classmethod
    def load(cls, config: Config, window: MaintenanceWindow | None, now: float) -> Quiet:
        exists = SILENCES.path(config.state_dir).exists()  # most hosts never silence anything
        store = (SILENCES.read(config.state_dir) if exists else None) or Silences()
        return cls(store, window, now)

    def muted(self, subject: str) -> str | None:
        """Why notifications about ``subject`` are held now, or None ("" is an alert naming none)."""
        if self.window is not None:
            return f"maintenance window {self.window.text}"
        silence = silences.covering(self.store, subject, self.now)
        if silence is None:
            return None
        return f"silence {silence.id} on {silence.pattern} until {silences.stamp(silence.ends)} ({silence.reason})"

    def ended(self) -> list[Ended]:
        out = [Ended(f"silence {s.id} on {s.pattern} ({s.reason})", _matcher(s.pattern), s.id)
               for s in silences.ended_unannounced(self.store, self.now)]
        before = self.store.maintenance
        if before is not None and self.window is None:  # one window edited or followed by another: not over
            out.append(Ended(f"maintenance window {before}", lambda subject: True))
        return out

    def changed(self) -> bool:
        """Is there anything to write back: an end to mark announced, a window begun or ended."""
        now_window = self.window.text if self.window is not None else None
        return bool(silences.ended_unannounced(self.store, self.now)) or self.store.maintenance != now_window

    def record(self, config: Config, announced: list[str]) -> None:
        """Mark these silences' ends announced and remember the window in force."""
        with silences.editing(config, self.now) as store:
            for silence_id in announced:
                if silence_id in store.silences:
                    store.silences[silence_id].announced = True
            store.maintenance = self.window.text if self.window is not None else None


def _matcher(pattern: str) -> Callable[[str], bool]:
    return lambda subject: silences.matches(pattern, subject)
