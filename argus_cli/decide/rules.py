"""The deterministic rules engine (ARCHITECTURE.md §1): the decider without an API key, and the fallback.

It encodes ``prompt.md``'s decision rules. ``findings`` says what is notable in a snapshot as
stable keys (the pre-screen compares them between cycles); ``decide_rules`` turns findings
into actions. Pure: no I/O, no clock beyond the ``now`` it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from argus_cli.config import Config
from argus_cli.model import MAX_ACTIONS, Decision, as_number

Snapshot = dict[str, Any]


class Finding(NamedTuple):  # a NamedTuple, not a dataclass: cheaper to define on every cycle's import path
    """One thing the rules noticed. ``key`` is stable across cycles (no numbers in it)."""

    key: str
    severity: str  # critical | warning | info
    text: str
    actions: tuple[dict[str, Any], ...] = ()
    notable: bool = True  # False: reported to the LLM, but no reason on its own to ask it


def _alert(message: str) -> dict[str, Any]:
    return {"type": "alert", "message": message}


def _log(observation: str) -> dict[str, Any]:
    return {"type": "log", "observation": observation}


def _services(snap: Snapshot, config: Config) -> Iterator[Finding]:
    uptime = as_number((snap.get("system") or {}).get("uptime_seconds"))
    in_grace = uptime is not None and uptime < config["ARGUS_BOOT_GRACE_SECONDS"]
    for svc in snap.get("services") or []:
        if not isinstance(svc, dict) or svc.get("status") != "down":
            continue
        name, detail = svc.get("name", "?"), svc.get("detail") or "no detail"
        if in_grace:
            text = f"Service {name} is down during boot grace ({detail}); not escalated yet"
            yield Finding(f"service:{name}:down:boot_grace", "warning", text, (_log(text),))
        else:
            text = f"Service {name} is down: {detail}"
            yield Finding(f"service:{name}:down", "critical", text, (_alert(text),))


def hog_text(hog: dict[str, Any] | None) -> str:
    """The memory hog in words, for an alert a human reads (enrichment adds the key=value form)."""
    if not isinstance(hog, dict) or "pid" not in hog:
        return "largest process unknown"
    candidate = "yes" if hog.get("kill_candidate") else "no"
    return (f"largest process {hog.get('name', '?')} (pid {hog['pid']}, rss {hog.get('rss_kb', '?')} KB, "
            f"{hog.get('mem_percent', '?')}% of memory, running {hog.get('runtime', '?')}, "
            f"kill candidate {candidate})")


def _memory(snap: Snapshot, config: Config) -> Iterator[Finding]:
    mem = snap.get("memory") or {}
    pct = as_number(mem.get("percent"))
    if pct is None:
        return
    used = f"{pct:g}% used ({mem.get('used_mb', '?')} of {mem.get('total_mb', '?')} MB)"
    if pct >= config["ARGUS_MEMORY_CRIT_PCT"]:
        text = f"Memory critical: {used}; {hog_text(snap.get('memory_hog'))}"
        yield Finding("memory:critical", "critical", text, (_alert(text),))
    elif pct >= config["ARGUS_MEMORY_WARN_PCT"]:
        text = f"Memory high: {used}"
        yield Finding("memory:warning", "warning", text, (_log(text),))


def _disks(snap: Snapshot, config: Config) -> Iterator[Finding]:
    for disk in snap.get("disks") or []:
        pct = as_number(disk.get("percent")) if isinstance(disk, dict) else None
        if pct is None:
            continue
        path, free = disk.get("path", "?"), disk.get("free_mb", "?")
        if pct >= config["ARGUS_DISK_CRIT_PCT"]:
            text = f"Disk critical: {path} at {pct:g}% used ({free} MB free)"
            clean = {"type": "clean_disk", "reason": f"disk {path} at {pct:g}%, at or above the "
                                                       f"{config['ARGUS_DISK_CRIT_PCT']}% critical threshold"}
            yield Finding(f"disk:{path}:critical", "critical", text, (clean, _alert(text)))
        elif pct >= config["ARGUS_DISK_WARN_PCT"]:
            text = f"Disk high: {path} at {pct:g}% used ({free} MB free)"
            yield Finding(f"disk:{path}:warning", "warning", text, (_log(text),))


def _load(snap: Snapshot, config: Config) -> Iterator[Finding]:
    system = snap.get("system") or {}
    per_core = as_number(system.get("load_per_core"))
    factor = config["ARGUS_LOAD_FACTOR"]
    if per_core is not None and per_core > factor:
        load = (system.get("load") or ["?"])[0]
        text = (f"Load high: {per_core:g} per core (load {load} on {system.get('cpu_count', '?')} cores, "
                f"limit {factor:g})")
        yield Finding("load:high", "warning", text, (_log(text),))


def _swap(snap: Snapshot, config: Config) -> Iterator[Finding]:
    swap = snap.get("swap") or {}
    pct, total = as_number(swap.get("percent")), as_number(swap.get("total_mb"))
    if pct is None or not total:  # no swap configured: nothing to warn about
        return
    if pct >= config["ARGUS_SWAP_WARN_PCT"]:
        text = f"Swap high: {pct:g}% used ({swap.get('used_mb', '?')} of {swap.get('total_mb')} MB)"
        yield Finding("swap:warning", "warning", text, (_log(text),))


def _freshness(snap: Snapshot, config: Config) -> Iterator[Finding]:
    limits = {check.name: check.max_age_seconds for check in config.freshness}
    for item in snap.get("freshness") or []:
        if not isinstance(item, dict) or not item.get("stale"):
            continue
        name, path, age = item.get("name", "?"), item.get("path", "?"), item.get("age_seconds")
        limit = limits.get(name)
        if age is None:
            text = f"Freshness {name}: {path} is missing or unreadable"
        else:
            bound = f" (limit {limit}s)" if limit else ""
            text = f"Freshness {name}: nothing under {path} changed for {age}s{bound}"
        yield Finding(f"freshness:{name}:stale", "critical", text, (_alert(text),))


def _orphans(snap: Snapshot, config: Config) -> Iterator[Finding]:
    orphans = snap.get("orphans") or {}
    count = as_number(orphans.get("count"))
    if count:
        text = (f"{int(count)} orphan process(es) match {orphans.get('pattern', '?')!r}; "
                "the deterministic sweep handles them")
        yield Finding("orphans:present", "info", text, notable=False)


def _collector_errors(snap: Snapshot, config: Config) -> Iterator[Finding]:
    for err in snap.get("errors") or []:
        if isinstance(err, dict):
            name = err.get("collector", "?")
            text = f"Collector {name} failed: {err.get('error', '?')}"
            yield Finding(f"collector:{name}:error", "info", text, notable=False)


RULES: tuple[Callable[[Snapshot, Config], Iterator[Finding]], ...] = (
    _services, _memory, _disks, _load, _swap, _freshness, _orphans, _collector_errors,
)


def findings(snapshot: Snapshot, config: Config) -> list[Finding]:
    """Everything the rules notice, in rule order (services first, collector errors last)."""
    return [finding for rule in RULES for finding in rule(snapshot, config)]


def signature(found: list[Finding]) -> str:
    """The notable findings as one stable string; a change means something changed materially."""
    return ",".join(sorted(f.key for f in found if f.notable))


_ACTION_ORDER = {"clean_disk": 0, "alert": 1, "log": 2}


def plan_actions(found: list[Finding]) -> list[dict[str, Any]]:
    """Remediation first, then alerts, then logs; one clean_disk however many disks are full."""
    actions: list[dict[str, Any]] = []
    for finding in found:
        for action in finding.actions:
            if action["type"] == "clean_disk" and any(a["type"] == "clean_disk" for a in actions):
                continue
            actions.append(dict(action))
    actions.sort(key=lambda a: _ACTION_ORDER.get(a["type"], 3))  # stable: rule order kept within a type
    return actions


def _assessment(found: list[Finding], dropped: int) -> str:
    problems = [f for f in found if f.actions]
    if not problems:
        return "All nominal: no rule matched." if not found else "Nominal; " + "; ".join(f.text for f in found)
    worst = "critical" if any(f.severity == "critical" for f in problems) else "warning"
    text = f"{len(problems)} problem(s), worst {worst}: " + "; ".join(f.text for f in problems)
    if dropped:
        text += f" ({dropped} further action(s) left out: at most {MAX_ACTIONS} per decision)"
    return text


def metric_notes(snap: Snapshot) -> list[str]:
    """Short factual notes about the snapshot, the observations of a rules decision."""
    notes: list[str] = []
    mem, swap, system = snap.get("memory") or {}, snap.get("swap") or {}, snap.get("system") or {}
    if as_number(mem.get("percent")) is not None:
        notes.append(f"memory {mem['percent']:g}% used")
    for disk in snap.get("disks") or []:
        if isinstance(disk, dict) and as_number(disk.get("percent")) is not None:
            notes.append(f"disk {disk.get('path', '?')} {disk['percent']:g}% used")
    if as_number(system.get("load_per_core")) is not None:
        notes.append(f"load {system['load_per_core']:g} per core")
    if as_number(swap.get("total_mb")):
        notes.append(f"swap {swap.get('percent', '?')}% used")
    for svc in snap.get("services") or []:
        if isinstance(svc, dict):
            notes.append(f"service {svc.get('name', '?')}: {svc.get('status', '?')}")
    return notes


def decide_rules(snapshot: Snapshot, config: Config, *, now: float | None = None,
                 found: list[Finding] | None = None) -> Decision:
    """The rules decision for ``snapshot`` (``found``: its findings, when the caller has them).
    ``now`` is accepted for symmetry; the rules need no clock."""
    found = findings(snapshot, config) if found is None else found
    planned = plan_actions(found)
    actions, dropped = planned[:MAX_ACTIONS], max(0, len(planned) - MAX_ACTIONS)
    observations = metric_notes(snapshot) + [f.text for f in found if not f.actions]
    return Decision(assessment=_assessment(found, dropped), actions=actions,
                    observations=observations, decider="rules")
