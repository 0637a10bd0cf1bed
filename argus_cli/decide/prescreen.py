"""Pre-screen: should this cycle ask the LLM at all? (ARCHITECTURE.md §1)

The LLM is asked when the rules find something notable, when the host changed materially since
the last successful call, or when the heartbeat is due; a quiet host costs one call per
heartbeat instead of one per cycle. ``ARGUS_LLM_EVERY_CYCLE=true`` asks every cycle.
After a failed call the LLM rests (``llm-backoff.json``): the cooldown doubles from
``ARGUS_LLM_BACKOFF_BASE_SECONDS`` up to ``_MAX_SECONDS`` and is at least
``ARGUS_LLM_RATE_LIMIT_MIN_SECONDS`` after an HTTP 429. What the host looked like at the last
successful call is kept in ``prescreen.json`` (findings signature and coarse values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from argus_cli.config import Config
from argus_cli.decide.rules import Finding, signature
from argus_cli.model import as_number
from argus_cli.state.files import (
    NUMBER,
    OPTIONAL_NUMBER,
    OPTIONAL_STR,
    atomic_write_json,
    check_fields,
    check_values,
    read_json,
)

BACKOFF_FILE = "llm-backoff.json"
PRESCREEN_FILE = "prescreen.json"

# How far a value may drift from what the LLM last saw before it counts as a material change.
# Compared with the value at the last call (not with bucket edges), so jitter never triggers it.
_DRIFT = {"memory": 15.0, "swap": 20.0, "disk": 10.0}


class Gate(NamedTuple):
    call: bool
    reason: str  # why we call ("notable", "changed", "heartbeat", ...) or why not (skip reason)
    fallback: bool = False  # the LLM was wanted but cannot be asked: the rules stand in

    @property
    def skip_reason(self) -> str | None:
        return None if self.call else self.reason


def resolve_mode(config: Config, override: str | None = None) -> str:
    """``llm`` or ``rules``: ``auto`` means llm when an API key is set."""
    mode = override or config["ARGUS_DECIDER"]
    if mode == "auto":
        return "llm" if config.has_api_key else "rules"
    return mode


def coarse(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The values whose drift counts as a material change, plus service states and collector errors."""
    def pct(section: Any) -> float | None:
        value = section.get("percent") if isinstance(section, dict) else None
        return float(value) if isinstance(value, int | float) else None

    return {
        "memory": pct(snapshot.get("memory")),
        "swap": pct(snapshot.get("swap")),
        "disk": {d.get("path"): pct(d) for d in snapshot.get("disks") or [] if isinstance(d, dict)},
        "load_per_core": (snapshot.get("system") or {}).get("load_per_core"),
        "services": {s.get("name"): s.get("status") for s in snapshot.get("services") or [] if isinstance(s, dict)},
        "errors": sorted(str(e.get("collector")) for e in snapshot.get("errors") or [] if isinstance(e, dict)),
    }


def _drifted(old: Any, new: Any, limit: float) -> bool:
    if old is None or new is None:
        return old != new
    return abs(float(new) - float(old)) >= limit


def changed(before: dict[str, Any], now: dict[str, Any], load_factor: float) -> bool:
    """True when the host moved materially between two ``coarse`` views."""
    if any(before.get(k) != now.get(k) for k in ("services", "errors")):
        return True
    if any(_drifted(before.get(k), now.get(k), _DRIFT[k]) for k in ("memory", "swap")):
        return True
    if _drifted(before.get("load_per_core"), now.get("load_per_core"), max(0.5, load_factor / 2)):
        return True
    old_disks, new_disks = before.get("disk") or {}, now.get("disk") or {}
    if set(old_disks) != set(new_disks):
        return True
    return any(_drifted(old_disks[p], new_disks[p], _DRIFT["disk"]) for p in new_disks)


def _valid_backoff(value: Any) -> None:
    check_fields(value, {"failures": NUMBER, "until": NUMBER, "delay_seconds": NUMBER,
                         "last_failure": OPTIONAL_NUMBER, "last_error": OPTIONAL_STR,
                         "rate_limited": (bool,)})


def _valid_prescreen(value: Any) -> None:
    """``coarse`` is compared with float() arithmetic: a string there failed every cycle."""
    check_fields(value, {"last_call": OPTIONAL_NUMBER, "signature": OPTIONAL_STR, "coarse": (dict,)})
    before = value.get("coarse")
    if before is None:
        return
    check_fields(before, {"memory": OPTIONAL_NUMBER, "swap": OPTIONAL_NUMBER, "load_per_core": OPTIONAL_NUMBER,
                          "disk": (dict,), "services": (dict,), "errors": (list,)}, "coarse")
    check_values(before.get("disk") or {}, OPTIONAL_NUMBER, "coarse.disk")


_SHAPES = {BACKOFF_FILE: _valid_backoff, PRESCREEN_FILE: _valid_prescreen}


def _state(config: Config, name: str) -> dict[str, Any]:
    return read_json(config.state_dir / name, dict, validate=_SHAPES[name])


def _in_backoff(config: Config, now: float) -> bool:
    until = as_number(_state(config, BACKOFF_FILE).get("until"))
    return until is not None and until > now


def mode_gate(config: Config, override: str | None = None) -> Gate | None:
    """The gate when the decider setting alone settles it (rules, or llm without a key); None when
    the LLM may be asked."""
    wanted = override or config["ARGUS_DECIDER"]
    if resolve_mode(config, override) == "rules":
        return Gate(False, "decider_rules" if wanted == "rules" else "no_api_key")
    if not config.has_api_key:
        return Gate(False, "no_api_key", fallback=True)  # llm asked for explicitly, but no key
    return None


def gate(config: Config, snapshot: dict[str, Any], found: list[Finding], *, now: float,
         override: str | None = None) -> Gate:
    """Decide whether to call the LLM this cycle, and say why (recorded in cycles.jsonl)."""
    settled = mode_gate(config, override)
    if settled is not None:
        return settled
    screened = _screen(config, snapshot, found, now)
    # Backoff only holds back a call the pre-screen wanted: a nominal cycle stays nominal (ARCHITECTURE.md §1).
    if screened.call and _in_backoff(config, now):
        return Gate(False, "backoff", fallback=True)
    return screened


def _screen(config: Config, snapshot: dict[str, Any], found: list[Finding], now: float) -> Gate:
    if config["ARGUS_LLM_EVERY_CYCLE"]:
        return Gate(True, "every_cycle")
    if any(f.notable for f in found):
        return Gate(True, "notable")
    last = _state(config, PRESCREEN_FILE)
    last_call = as_number(last.get("last_call"))
    if last_call is None:
        return Gate(True, "first_call")
    before = last.get("coarse")
    if last.get("signature") != signature(found) or changed(before if isinstance(before, dict) else {},
                                                             coarse(snapshot), config["ARGUS_LOAD_FACTOR"]):
        return Gate(True, "changed")
    if now - last_call >= config["ARGUS_LLM_HEARTBEAT_SECONDS"]:
        return Gate(True, "heartbeat")
    return Gate(False, "nominal")


def backoff_delay(config: Config, failures: int, rate_limited: bool) -> int:
    """Cooldown after the ``failures``-th failure in a row: doubling, capped, longer after a 429."""
    base, cap = config["ARGUS_LLM_BACKOFF_BASE_SECONDS"], config["ARGUS_LLM_BACKOFF_MAX_SECONDS"]
    delay = min(cap, base * 2 ** min(max(failures - 1, 0), 30))
    if rate_limited:
        delay = max(delay, config["ARGUS_LLM_RATE_LIMIT_MIN_SECONDS"])
    return int(delay)


def record_success(config: Config, snapshot: dict[str, Any], found: list[Finding], now: float) -> None:
    """The LLM answered: clear the backoff and remember what it saw."""
    path: Path = config.state_dir / BACKOFF_FILE
    if path.exists():
        atomic_write_json(path, {"failures": 0, "until": 0, "last_error": None, "last_failure": None})
    atomic_write_json(config.state_dir / PRESCREEN_FILE,
                      {"last_call": now, "signature": signature(found), "coarse": coarse(snapshot)})


def record_failure(config: Config, error: str, rate_limited: bool, now: float) -> dict[str, Any]:
    """The call failed: start (or lengthen) the cooldown. Returns the new backoff state."""
    failures = int(as_number(_state(config, BACKOFF_FILE).get("failures")) or 0) + 1
    delay = backoff_delay(config, failures, rate_limited)
    state = {"failures": failures, "until": now + delay, "delay_seconds": delay,
             "last_error": error[:300], "last_failure": now, "rate_limited": rate_limited}
    atomic_write_json(config.state_dir / BACKOFF_FILE, state)
    return state
