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

from typing import Any, NamedTuple

import msgspec

from argus_cli.config import Config
from argus_cli.decide.rules import Finding, signature
from argus_cli.snapshot import Disk, Memory, Snapshot, Swap
from argus_cli.state.layout import LLM_BACKOFF, PRESCREEN, Coarse, LlmBackoff, Prescreen

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
    mode = override or config.decider
    if mode == "auto":
        return "llm" if config.has_api_key else "rules"
    return mode


def coarse(snapshot: Snapshot) -> dict[str, Any]:
    """The values whose drift counts as a material change, plus service states and collector errors."""
    def pct(section: Memory | Swap | Disk | None) -> float | None:
        return None if section is None or section.percent is None else float(section.percent)

    return {
        "memory": pct(snapshot.memory),
        "swap": pct(snapshot.swap),
        "disk": {d.path: pct(d) for d in snapshot.disks},
        "load_per_core": snapshot.system.load_per_core if snapshot.system else None,
        "services": {s.name: s.status for s in snapshot.services},
        "errors": sorted(str(e.collector) for e in snapshot.errors),
    }


def _drifted(old: Any, new: Any, limit: float) -> bool:
    if old is None or new is None:
        return bool(old != new)
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


def _in_backoff(config: Config, now: float) -> bool:
    backoff = LLM_BACKOFF.read(config.state_dir)
    return backoff is not None and backoff.until > now


def mode_gate(config: Config, override: str | None = None) -> Gate | None:
    """The gate when the decider setting alone settles it (rules, or llm without a key); None when
    the LLM may be asked."""
    wanted = override or config.decider
    if resolve_mode(config, override) == "rules":
        return Gate(False, "decider_rules" if wanted == "rules" else "no_api_key")
    if not config.has_api_key:
        return Gate(False, "no_api_key", fallback=True)  # llm asked for explicitly, but no key
    return None


def gate(config: Config, snapshot: Snapshot, found: list[Finding], *, now: float,
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


def _screen(config: Config, snapshot: Snapshot, found: list[Finding], now: float) -> Gate:
    if config.llm_every_cycle:
        return Gate(True, "every_cycle")
    if any(f.notable for f in found):
        return Gate(True, "notable")
    last = PRESCREEN.read(config.state_dir) or Prescreen()
    last_call = last.last_call
    if last_call is None:
        return Gate(True, "first_call")
    before = msgspec.to_builtins(last.coarse) if isinstance(last.coarse, Coarse) else {}
    if last.signature != signature(found) or changed(before, coarse(snapshot), config.load_factor):
        return Gate(True, "changed")
    if now - last_call >= config.llm_heartbeat_seconds:
        return Gate(True, "heartbeat")
    return Gate(False, "nominal")


def backoff_delay(config: Config, failures: int, rate_limited: bool) -> int:
    """Cooldown after the ``failures``-th failure in a row: doubling, capped, longer after a 429."""
    base, cap = config.llm_backoff_base_seconds, config.llm_backoff_max_seconds
    delay = min(cap, base * 2 ** min(max(failures - 1, 0), 30))
    if rate_limited:
        delay = max(delay, config.llm_rate_limit_min_seconds)
    return int(delay)


def record_success(config: Config, snapshot: Snapshot, found: list[Finding], now: float) -> None:
    """The LLM answered: clear the backoff and remember what it saw."""
    if LLM_BACKOFF.path(config.state_dir).exists():
        LLM_BACKOFF.write(config.state_dir, LlmBackoff())
    seen = msgspec.convert(coarse(snapshot), Coarse)
    PRESCREEN.write(config.state_dir, Prescreen(now, signature(found), seen))


STALE_FAILURE = 6 * 3600  # at least: two failures further apart are two runs, not one


def _failing_since(before: LlmBackoff | None, now: float, *, gap: float) -> float:
    """When this run of failures began: carried over from the last failure only when that one
    was at most ``gap`` ago (longer than any backoff: the LLM may not have been asked for weeks)
    and not in the future (a clock set back)."""
    if before is None or before.failing_since is None or before.last_failure is None:
        return now
    if not 0 <= now - before.last_failure <= gap:
        return now
    return min(before.failing_since, now)


def degraded(config: Config, now: float) -> str | None:
    """Why the LLM decider counts as degraded (failing for ARGUS_DECIDER_DEGRADED_SECONDS or
    longer), or None."""
    state = LLM_BACKOFF.read(config.state_dir)
    since = state.failing_since if state is not None else None
    if state is None or since is None:
        return None
    since = min(since, now)  # a time ahead of the clock is read as now
    if now - since < config.decider_degraded_seconds:
        return None
    hours = (now - since) / 3600
    return (f"LLM decider degraded for {hours:.1f} h ({int(state.failures)} failed call(s)): "
            f"{state.last_error or 'unknown error'}; the rules engine is deciding")


def record_failure(config: Config, error: str, rate_limited: bool, now: float) -> LlmBackoff:
    """The call failed: start (or lengthen) the cooldown. Returns the new backoff state."""
    before = LLM_BACKOFF.read(config.state_dir)
    failures = int(before.failures if before is not None else 0) + 1
    delay = backoff_delay(config, failures, rate_limited)
    since = _failing_since(before, now, gap=max(STALE_FAILURE, 2 * config.llm_backoff_max_seconds))
    state = LlmBackoff(failures, now + delay, delay, error[:300], now, rate_limited, since)
    LLM_BACKOFF.write(config.state_dir, state)
    return state
