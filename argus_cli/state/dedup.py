"""Alert suppression (``dedup.json``): a key alerted within ``ARGUS_DEDUP_WINDOW`` is not re-sent.

``last_seen`` is when the key's alert last went out (delivered or queued), so a problem that
persists is alerted again once per window instead of being silenced for ever; ``count`` counts
every sighting. A key whose alert never went out (Telegram not configured) is kept ``unsent``:
it counts sightings but suppresses nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argus_cli.config import Config
from argus_cli.state.files import (
    OPTIONAL_NUMBER,
    atomic_write_json,
    check_fields,
    read_json,
    stored_number,
)


def dedup_path(config: Config) -> Path:
    return config.state_dir / "dedup.json"


def _valid(value: Any) -> None:
    check_fields(value, {"keys": (dict,)})
    for key, entry in (value.get("keys") or {}).items():
        check_fields(entry, {"last_seen": OPTIONAL_NUMBER, "count": OPTIONAL_NUMBER, "unsent": (bool,)},
                     f"keys[{key!r}]")


def _load(config: Config) -> dict[str, Any]:
    data = read_json(dedup_path(config), lambda: {"keys": {}}, validate=_valid)
    if not isinstance(data.get("keys"), dict):
        data["keys"] = {}
    return data


def is_suppressed(config: Config, key: str, now: float) -> bool:
    """True when ``key``'s alert went out less than ``ARGUS_DEDUP_WINDOW`` seconds ago (read-only)."""
    entry = _load(config)["keys"].get(key)
    if not isinstance(entry, dict) or entry.get("unsent"):
        return False
    last = entry.get("last_seen")
    return isinstance(last, int | float) and 0 <= now - last < config["ARGUS_DEDUP_WINDOW"]


def note(config: Config, key: str, now: float, *, sent: bool) -> None:
    """Count a sighting of ``key``; ``sent`` (the alert went out) starts its window. Old keys are
    compacted away."""
    data = _load(config)
    keys: dict[str, Any] = data["keys"]
    entry = keys.get(key) if isinstance(keys.get(key), dict) else None
    entry = entry or {"last_seen": now, "count": 0, "unsent": True}
    entry["count"] = int(stored_number(entry.get("count")) or 0) + 1
    if sent or entry.get("unsent"):  # an unsent key's last_seen only keeps it from compaction
        entry["last_seen"] = now
    if sent:
        entry.pop("unsent", None)
    keys[key] = entry
    data["keys"] = _compact(keys, now, config["ARGUS_DEDUP_RETENTION_SECONDS"])
    atomic_write_json(dedup_path(config), data)


def _compact(keys: dict[str, Any], now: float, retention: float) -> dict[str, Any]:
    return {k: v for k, v in keys.items()
            if isinstance(v, dict) and isinstance(v.get("last_seen"), int | float)
            and now - v["last_seen"] <= retention}
