"""The deterministic rules engine (ARCHITECTURE.md §1): the decider without an API key, and the fallback.

It encodes ``prompt.md``'s decision rules. ``findings`` says what is notable in a snapshot as
stable keys (the pre-screen compares them between cycles); ``decide_rules`` turns findings
into actions. Pure: no I/O, no clock beyond the ``now`` it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from argus_cli.config import Config
from argus_cli.incidents.subjects import fingerprint, named
from argus_cli.model import MAX_ACTIONS, Decision
from argus_cli.snapshot import Snapshot, TopProcess
from argus_cli.text import truncate


class Finding(NamedTuple):  # a NamedTuple, not a dataclass: cheaper to define on every cycle's import path
    """One thing the rules noticed: a condition of a subject. Its ``key``, the incident's
    fingerprint, is stable across cycles (no numbers, no wording in it)."""

    subject: str  # incidents/subjects.py: memory, disk:/, service:web, ...
    condition: str  # no spaces: down, usage>=crit, stale, ...
    severity: str  # critical | warning | info
    text: str
    actions: tuple[dict[str, str], ...] = ()
    notable: bool = True  # False: reported to the LLM, but no reason on its own to ask it
    after: int = 1  # cycles in a row it must hold before it counts (the incident book keeps the streak)
    page: bool = False  # the operator must hear of it even if no decider alert says so (critical always)

    @property
    def key(self) -> str:
        return fingerprint(self.subject, self.condition)

    @property
    def blind(self) -> bool:
        """A thing Argus could not see, rather than a problem it saw."""
        return self.condition in BLIND_CONDITIONS


def _alert(subject: str, message: str) -> dict[str, str]:
    return {"type": "alert", "subject": subject, "message": message}


def _log(subject: str, observation: str) -> dict[str, str]:
    return {"type": "log", "subject": subject, "observation": observation}


def _or(value: object) -> object:
    """A field for a sentence: "?" when the snapshot did not measure it."""
    return "?" if value is None else value


BLIND_CONDITIONS = ("unknown", "error")


def _services(snap: Snapshot, config: Config) -> Iterator[Finding]:
    uptime = snap.system.uptime_seconds if snap.system else None
    in_grace = uptime is not None and uptime < config.boot_grace_seconds
    for svc in snap.services:
        name, detail = _or(svc.name), svc.detail or "no detail"
        subject = named("service", name)
        if svc.status == "unknown":  # a check that cannot answer for long is a blind spot to report
            text = f"Service {name} could not be checked: {detail}"
            yield Finding(subject, "unknown", "warning", text, (_alert(subject, text),),
                          after=config.unknown_cycles, page=True)
        if svc.status != "down":
            continue
        if in_grace:  # the same incident, at a lower severity: it rises when the grace ends
            text = f"Service {name} is down during boot grace ({detail}); not escalated yet"
            yield Finding(subject, "down", "warning", text, (_log(subject, text),))
        else:
            text = f"Service {name} is down: {detail}"
            yield Finding(subject, "down", "critical", text, (_alert(subject, text),))


def hog_text(hog: TopProcess | None) -> str:
    """The memory hog in words, for an alert a human reads (enrichment adds the key=value form)."""
    if hog is None or hog.pid is None:
        return "largest process unknown"
    candidate = "yes" if hog.kill_candidate else "no"
    return (f"largest process {_or(hog.name)} (pid {hog.pid}, rss {_or(hog.rss_kb)} KB, "
            f"{_or(hog.mem_percent)}% of memory, running {_or(hog.runtime)}, "
            f"kill candidate {candidate})")


def _memory(snap: Snapshot, config: Config) -> Iterator[Finding]:
    mem = snap.memory
    if mem is None or mem.percent is None:
        return
    pct = float(mem.percent)
    used = f"{pct:g}% used ({_or(mem.used_mb)} of {_or(mem.total_mb)} MB)"
    if pct >= config.memory_crit_pct:
        text = f"Memory critical: {used}; {hog_text(snap.memory_hog)}"
        yield Finding("memory", "usage>=crit", "critical", text, (_alert("memory", text),))
    elif pct >= config.memory_warn_pct:
        text = f"Memory high: {used}"
        yield Finding("memory", "usage>=warn", "warning", text, (_log("memory", text),))


def _disks(snap: Snapshot, config: Config) -> Iterator[Finding]:
    for disk in snap.disks:
        if disk.percent is None:
            continue
        pct, path, free = float(disk.percent), _or(disk.path), _or(disk.free_mb)
        subject = named("disk", path)
        if pct >= config.disk_crit_pct:
            text = f"Disk critical: {path} at {pct:g}% used ({free} MB free)"
            clean = {"type": "clean_disk", "subject": subject,
                     "reason": f"disk {path} at {pct:g}%, at or above the {config.disk_crit_pct}% critical threshold"}
            yield Finding(subject, "usage>=crit", "critical", text, (clean, _alert(subject, text)))
        elif pct >= config.disk_warn_pct:
            text = f"Disk high: {path} at {pct:g}% used ({free} MB free)"
            yield Finding(subject, "usage>=warn", "warning", text, (_log(subject, text),))


def _load(snap: Snapshot, config: Config) -> Iterator[Finding]:
    system = snap.system
    factor = config.load_factor
    if system is not None and system.load_per_core is not None and system.load_per_core > factor:
        per_core = float(system.load_per_core)
        load = system.load[0] if system.load else "?"
        text = (f"Load high: {per_core:g} per core (load {load} on {_or(system.cpu_count)} cores, "
                f"limit {factor:g})")
        yield Finding("load", "per-core>factor", "warning", text, (_log("load", text),))


def _swap(snap: Snapshot, config: Config) -> Iterator[Finding]:
    swap = snap.swap
    if swap is None or swap.percent is None or not swap.total_mb:  # no swap configured: nothing to warn about
        return
    pct = float(swap.percent)
    if pct >= config.swap_warn_pct:
        text = f"Swap high: {pct:g}% used ({_or(swap.used_mb)} of {swap.total_mb} MB)"
        yield Finding("swap", "usage>=warn", "warning", text, (_log("swap", text),))


def _freshness(snap: Snapshot, config: Config) -> Iterator[Finding]:
    limits = {check.name: check.max_age_seconds for check in config.freshness}
    for item in snap.freshness:
        if not item.stale:
            continue
        name, path, age = _or(item.name), _or(item.path), item.age_seconds
        limit = limits.get(item.name) if item.name is not None else None
        if age is None:
            text = f"Freshness {name}: {path} is missing or unreadable"
        else:
            bound = f" (limit {limit}s)" if limit else ""
            text = f"Freshness {name}: nothing under {path} changed for {age}s{bound}"
        subject = named("freshness", name)
        yield Finding(subject, "stale", "critical", text, (_alert(subject, text),))


def _orphans(snap: Snapshot, config: Config) -> Iterator[Finding]:
    orphans = snap.orphans
    if orphans is not None and orphans.count:
        text = (f"{orphans.count} orphan process(es) match {_or(orphans.pattern)!r}; "
                "the deterministic sweep handles them")
        yield Finding("orphans", "present", "info", text, notable=False)


SHOWN_ERRORS = 3  # of one collector's errors (one per missing disk path), named in its finding
COLLECTOR_ERROR_CYCLES = 2  # one hiccup is noted; a collector failing twice in a row is a blind spot


def _collector_errors(snap: Snapshot, config: Config) -> Iterator[Finding]:
    failed: dict[str, list[str]] = {}  # one finding per collector, however many items it missed
    for err in snap.errors:
        failed.setdefault(str(_or(err.collector)), []).append(str(_or(err.error)))
    for name, errors in failed.items():
        subject = named("collector", name)
        listed = "; ".join(errors[:SHOWN_ERRORS]) + (f"; +{len(errors) - SHOWN_ERRORS} more" if
                                                      len(errors) > SHOWN_ERRORS else "")
        text = truncate(f"Collector {name} failed, Argus could not see what it measures: {listed}", 600)
        yield Finding(subject, "error", "warning", text, (_alert(subject, text),),
                      after=COLLECTOR_ERROR_CYCLES, page=True)


RULES: tuple[Callable[[Snapshot, Config], Iterator[Finding]], ...] = (
    _services, _memory, _disks, _load, _swap, _freshness, _orphans, _collector_errors,
)


def unconfirmed(finding: Finding, seen: int) -> Finding:
    """A finding that has not held long enough yet: a note, no action, no reason to ask the LLM."""
    return finding._replace(severity="info", actions=(), notable=False, page=False,
                            text=f"{finding.text} (seen {seen} of {finding.after} cycles in a row)")


def findings(snapshot: Snapshot, config: Config) -> list[Finding]:
    """Everything the rules notice, in rule order (services first, collector errors last)."""
    return [finding for rule in RULES for finding in rule(snapshot, config)]


def signature(found: list[Finding]) -> str:
    """The notable findings as one stable string; a change (a new fingerprint, or a severity
    that moved, as when boot grace ends) means something changed materially."""
    return ",".join(sorted(f"{f.key}={f.severity}" for f in found if f.notable))


_ACTION_ORDER = {"clean_disk": 0, "alert": 1, "log": 2}


def plan_actions(found: list[Finding]) -> list[dict[str, str]]:
    """Remediation first, then alerts, then logs; one clean_disk however many disks are full."""
    actions: list[dict[str, str]] = []
    for finding in found:
        for action in finding.actions:
            if action["type"] == "clean_disk" and any(a["type"] == "clean_disk" for a in actions):
                continue
            actions.append(dict(action))
    actions.sort(key=lambda a: _ACTION_ORDER.get(a["type"], 3))  # stable: rule order kept within a type
    return actions


def _assessment(found: list[Finding], dropped: int) -> str:
    """"All nominal" only when nothing was found and every check reported: what Argus could not
    see is said first, so silence is never mistaken for health."""
    blind = [f for f in found if f.blind]
    problems = [f for f in found if f.actions and not f.blind]
    notes = [f for f in found if not f.actions and not f.blind]
    unseen = ("Argus could not see everything: " + "; ".join(f.text for f in blind) + ". ") if blind else ""
    if not problems:
        if not found:
            return "All nominal: no rule matched."
        seen = ("Nothing wrong in what it saw." if not notes else "Nominal; " + "; ".join(f.text for f in notes))
        return unseen + seen if blind else seen
    worst = "critical" if any(f.severity == "critical" for f in problems) else "warning"
    text = unseen + f"{len(problems)} problem(s), worst {worst}: " + "; ".join(f.text for f in problems)
    if dropped:
        text += f" ({dropped} further action(s) left out: at most {MAX_ACTIONS} per decision)"
    return text


def metric_notes(snap: Snapshot) -> list[str]:
    """Short factual notes about the snapshot, the observations of a rules decision."""
    notes: list[str] = []
    if snap.memory is not None and snap.memory.percent is not None:
        notes.append(f"memory {snap.memory.percent:g}% used")
    notes.extend(f"disk {_or(disk.path)} {disk.percent:g}% used" for disk in snap.disks if disk.percent is not None)
    if snap.system is not None and snap.system.load_per_core is not None:
        notes.append(f"load {snap.system.load_per_core:g} per core")
    if snap.swap is not None and snap.swap.total_mb:
        notes.append(f"swap {_or(snap.swap.percent)}% used")
    notes.extend(f"service {_or(svc.name)}: {_or(svc.status)}" for svc in snap.services)
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
