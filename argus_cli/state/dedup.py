"""Alert suppression (``dedup.json``): a key alerted within ``ARGUS_DEDUP_WINDOW`` is not re-sent.

``last_seen`` is when the key's alert last went out (delivered or queued), so a problem that
persists is alerted again once per window instead of being silenced for ever; ``count`` counts
every sighting. A key whose alert never went out (Telegram not configured) is kept ``unsent``:
it counts sightings but suppresses nothing.
"""

from __future__ import annotations

from argus_cli.config import Config
from argus_cli.state.files import stored_number
from argus_cli.state.layout import DEDUP, Dedup, DedupEntry


def _keys(config: Config) -> dict[str, DedupEntry]:
    data = DEDUP.read(config.state_dir)
    return dict(data.keys) if data is not None else {}


def is_suppressed(config: Config, key: str, now: float) -> bool:
    """True when ``key``'s alert went out less than ``ARGUS_DEDUP_WINDOW`` seconds ago (read-only)."""
    entry = _keys(config).get(key)
    if entry is None or entry.unsent:
        return False
    return entry.last_seen is not None and 0 <= now - entry.last_seen < config.dedup_window


def note(config: Config, key: str, now: float, *, sent: bool) -> None:
    """Count a sighting of ``key``; ``sent`` (the alert went out) starts its window. Old keys are
    compacted away."""
    keys = _keys(config)
    entry = keys.get(key) or DedupEntry(last_seen=now, count=0, unsent=True)
    # an unsent key's last_seen only keeps it from compaction
    last_seen = now if sent or entry.unsent else entry.last_seen
    keys[key] = DedupEntry(last_seen, int(stored_number(entry.count) or 0) + 1, entry.unsent and not sent)
    DEDUP.write(config.state_dir, Dedup(_compact(keys, now, config.dedup_retention_seconds)))


def _compact(keys: dict[str, DedupEntry], now: float, retention: float) -> dict[str, DedupEntry]:
    return {k: v for k, v in keys.items() if v.last_seen is not None and now - v.last_seen <= retention}
