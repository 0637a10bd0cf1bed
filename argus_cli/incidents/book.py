"""The incident book (``incidents.json``): open incidents by fingerprint, their lifecycle, and the
notifications each transition calls for (ARCHITECTURE.md §8).

A cycle, once it holds the lock, loads the book and then, in order:

1. ``check_outcomes``: actions taken on incidents in earlier cycles are judged against this
   cycle's snapshot (``fixed``, ``unchanged``, ``worse``); twice ineffective escalates;
2. ``observe``: this cycle's findings open or refresh incidents; one absent for
   ARGUS_RESOLVE_CYCLES cycles in a row resolves;
3. the decision's actions: an alert asks ``alert_verdict`` whether it goes out, a host-changing
   action is checked with ``ineffective`` and then recorded with ``record_action``;
4. ``settle``: incidents a decider raised without a rule age out; reminders and the end of
   flapping fall due;
5. ``save``: the book, and one incidents.jsonl line per incident opened or resolved.

Bookkeeping only: the notices it calls for (``due``) are sent by incidents/notify.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec

from argus_cli.config import Config
from argus_cli.incidents import outcomes
from argus_cli.incidents.subjects import DECIDER, fingerprint
from argus_cli.model import iso_z
from argus_cli.snapshot import Snapshot
from argus_cli.state.files import append_jsonl
from argus_cli.state.layout import (
    INCIDENT_LOG,
    INCIDENTS,
    LISTED,
    Incident,
    IncidentAction,
    Incidents,
    Notice,
    Settled,
)

RANK = {"info": 0, "warning": 1, "critical": 2}
FLAP_WINDOW = 3600  # flapping counts the changes of a condition within the last hour
REPORTED = "reported"  # the condition of an incident a decider raised with no rule behind it
INEFFECTIVE_AFTER = 2  # an action that left its incident unchanged this often is not tried again
MAX_LISTED = 20  # notices, actions and notes kept per incident (the file refuses more than 100)
MAX_CHANGES = 50  # condition changes kept for flapping
SHOWN = 5  # of each list, the last entries the decider is shown
DELIVERED = ("sent", "queued", "recorded")  # a notice that went out, or will, or had nowhere to go
HELD_FOR = 8 * 86400  # a held notice outlives the longest silence (7 days) from when it was held


@dataclass(frozen=True)
class Due:
    """A notification the book calls for: ``kind`` is resolved, reminder, flapping, settled or
    ineffective (an alert's own opened/escalated/reminder verdict goes through the alert)."""

    kind: str
    incident: Incident
    fingerprint: str


@dataclass(frozen=True)
class Unmuted:
    """What the end of a silence or a maintenance window has to tell (``Book.unmuted``)."""

    still: list[Incident]  # open, no longer held
    held_on: list[tuple[Incident, str]]  # open, and another silence holds them (why)
    resolved: list[Incident]  # resolved meanwhile, after the operator had been told of them
    alerts: list[str]  # alerts naming no subject, held
    dropped: int  # held notices dropped past the bound

    @property
    def empty(self) -> bool:
        return not (self.still or self.held_on or self.resolved or self.alerts or self.dropped)


@dataclass
class Book:
    config: Config
    now: float
    open: dict[str, Incident]
    recent: dict[str, Settled]
    streaks: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=dict)  # streaks kept through one clean cycle
    due: list[Due] = field(default_factory=list)
    events: list[dict[str, object]] = field(default_factory=list)  # incidents.jsonl lines to append
    outcomes: list[dict[str, object]] = field(default_factory=list)  # judged this cycle, for cycles.jsonl
    opened: list[str] = field(default_factory=list)
    resolved: list[Incident] = field(default_factory=list)
    notified_now: set[str] = field(default_factory=set)  # fingerprints notified this cycle
    unkeyed: int = 0  # alerts and logs without a usable subject, counted to improve the prompt
    loaded: bytes = b""  # the book as read: a quiet cycle that changed nothing writes nothing
    held: list[Incident] = field(default_factory=list)  # resolved notices held by a silence (Incidents.held)
    held_alerts: list[str] = field(default_factory=list)  # alerts naming no subject held by one
    held_dropped: int = 0
    # why notifications about a subject are held now (a silence, a maintenance window), or None;
    # the empty subject stands for an alert that names none
    muted: Callable[[str], str | None] = field(default=lambda subject: None)

    @classmethod
    def load(cls, config: Config, now: float) -> Book:
        state = INCIDENTS.read(config.state_dir) or Incidents()
        loaded = msgspec.json.encode(state)
        for incident in state.open.values():
            _not_after(incident, now)
        held = [i for i in state.held if now - (i.cleared or i.last_seen) < HELD_FOR]
        return cls(config, now, dict(state.open), dict(state.recent), dict(state.streaks), dict(state.gaps),
                   loaded=loaded, held=held, held_alerts=list(state.held_alerts), held_dropped=state.held_dropped)

    def save(self) -> None:
        """The log first: a book written without its resolved line would leave the reports an
        incident open for ever."""
        for event in self.events:
            append_jsonl(self.config.state_dir / INCIDENT_LOG, event)
        self.events.clear()
        dropped = max(0, len(self.held) - LISTED) + max(0, len(self.held_alerts) - LISTED)
        state = Incidents(self.open, self.recent, self.streaks, self.gaps, self.held[-LISTED:],
                          self.held_alerts[-LISTED:], self.held_dropped + dropped)
        if msgspec.json.encode(state) != self.loaded:
            INCIDENTS.write(self.config.state_dir, state)

    # 1 --------------------------------------------------------------------------------------------
    def check_outcomes(self, snapshot: Snapshot, alive: Callable[[int, float | None], bool] | None) -> None:
        """Judge every action of an earlier cycle that has not been judged yet."""
        for key, incident in self.open.items():
            for action in incident.actions:
                if action.outcome is not None or action.status != "success" or action.at >= self.now:
                    continue
                verdict = outcomes.judge(action, incident, snapshot, self.config, alive)
                if verdict is None:  # the subject was not measured this cycle: judged next cycle
                    continue
                action.outcome, action.checked = verdict, self.now
                self.outcomes.append({"subject": incident.subject, "condition": incident.condition,
                                      "type": action.type, "target": action.target, "outcome": verdict,
                                      "at": iso_z(action.at)})  # when the action ran: its cycle
                self._maybe_ineffective(key, incident, action)

    def _maybe_ineffective(self, key: str, incident: Incident, action: IncidentAction) -> None:
        pair = f"{action.type} {action.target}"
        if pair in incident.escalated or not _spent(incident, action.type, action.target):
            return
        incident.escalated.append(pair)
        self.due.append(Due("ineffective", incident, key))

    # 2 --------------------------------------------------------------------------------------------
    def confirm(self, wanted: dict[str, int]) -> dict[str, int]:
        """Findings that count only once they held ``wanted[fingerprint]`` cycles (a check answering
        unknown once is a hiccup): their streaks move on, and those not confirmed yet come back
        with their count. One clean cycle keeps a streak (a collector failing every other cycle
        is a blind spot too); two in a row end it."""
        streaks: dict[str, int] = {}
        for key, count in self.streaks.items():
            if key not in wanted and key not in self.gaps:
                streaks[key] = count  # first clean cycle: kept, marked
        self.gaps = dict.fromkeys(streaks, 1)
        streaks.update({key: self.streaks.get(key, 0) + 1 for key in wanted})
        self.streaks = streaks
        return {key: self.streaks[key] for key in wanted if self.streaks[key] < wanted[key]}

    def observe(self, found: Iterable[tuple[str, str, str, str, bool]], measured: frozenset[str]) -> None:
        """This cycle's findings as (subject, condition, severity, text, page); info findings are
        notes, not incidents, and are left out by the caller. ``measured``: the subjects this
        snapshot could see; a finding missing for a subject it could not (a collector that failed,
        a check that could not answer) is no sign that the problem ended."""
        present: set[str] = set()
        for subject, condition, severity, text, page in found:
            key = fingerprint(subject, condition)
            present.add(key)
            incident = self.open.get(key)
            if incident is None:
                incident = self._open(subject, condition, severity, text, reported=False)
            else:
                self._seen(key, incident, severity, text)
            incident.page = page
        for key, incident in list(self.open.items()):
            if key not in present and not incident.reported and incident.subject in measured:
                self._absent(key, incident)

    def decider(self, degraded: str | None, *, answered: bool, retired: bool = False) -> None:
        """Argus's own LLM: ``degraded`` (why) opens or keeps ``decider degraded``, which pages;
        an answer ends it at once, and so does the operator turning the LLM off (``retired``:
        quietly, nothing recovered). A cycle that did not ask says nothing either way."""
        key = fingerprint(DECIDER, "degraded")
        incident = self.open.get(key)
        if degraded is not None:
            if incident is None:
                incident = self._open(DECIDER, "degraded", "warning", degraded, reported=False)
            else:
                self._seen(key, incident, "warning", degraded)
            incident.page = True
        elif (answered or retired) and incident is not None:
            incident.absent, incident.cleared = self.config.resolve_cycles, self.now
            self._resolve(key, incident, quiet=retired)  # switched off, not mended: no "answers again"

    def _open(self, subject: str, condition: str, severity: str, text: str, *, reported: bool) -> Incident:
        key = fingerprint(subject, condition)
        digest = hashlib.sha256(f"{key} {self.now}".encode()).hexdigest()[:6]
        settled = self.recent.pop(key, None)
        incident = Incident(id=f"{int(self.now):x}-{digest}", subject=subject, condition=condition,
                            severity=severity, worst=severity, text=text, opened=self.now,
                            last_seen=self.now, reported=reported,
                            changes=list(settled.changes) if settled else [],
                            flapping=bool(settled and settled.flapping))
        if reported and settled is not None and settled.notified is not None:
            # raised again soon after it lapsed: what the operator was told still stands (a
            # reported incident ends with no notice, so nothing said otherwise)
            incident.notified, incident.notified_severity = settled.notified, settled.notified_severity
        self.open[key] = incident
        self.opened.append(key)
        self.events.append({"ts": iso_z(self.now), "event": "opened", "id": incident.id, "subject": subject,
                            "condition": condition, "severity": severity})
        self._changed(key, incident)
        return incident

    def _seen(self, key: str, incident: Incident, severity: str, text: str) -> None:
        if incident.absent:
            self._changed(key, incident)
        incident.absent, incident.cleared = 0, None
        incident.severity, incident.text, incident.last_seen = severity, text, self.now
        if RANK.get(severity, 0) > RANK.get(incident.worst, 0):
            incident.worst = severity

    def _absent(self, key: str, incident: Incident) -> None:
        if not incident.absent:
            self._changed(key, incident)
            incident.cleared = self.now
        incident.absent += 1
        if incident.absent >= self.config.resolve_cycles:
            self._resolve(key, incident)

    def _changed(self, key: str, incident: Incident) -> None:
        """The condition came or went: count it toward flapping (a reported incident has no
        condition Argus measures, so it never flaps)."""
        if incident.reported:
            return
        incident.changes = [*self._recent_changes(incident.changes), self.now][-MAX_CHANGES:]
        if not incident.flapping and len(incident.changes) >= self.config.flap_transitions:
            incident.flapping = True
            if _worth_telling(incident):
                self.due.append(Due("flapping", incident, key))

    def _recent_changes(self, changes: Iterable[float]) -> list[float]:
        return [t for t in changes if 0 <= self.now - t < FLAP_WINDOW]

    def _resolve(self, key: str, incident: Incident, *, quiet: bool = False) -> None:
        """Close ``incident``: its log line, its flapping memory and, for one the operator was told
        of, a resolved notice. ``quiet``: no notice (nothing recovered, it was switched off)."""
        del self.open[key]
        self.resolved.append(incident)
        self.recent[key] = Settled(list(incident.changes), incident.flapping, self.now,
                                   told=incident.flapping and _worth_telling(incident),
                                   notified=incident.notified, notified_severity=incident.notified_severity)
        ended = incident.cleared if incident.cleared is not None else self.now
        self.events.append({
            "ts": iso_z(self.now), "event": "resolved", "id": incident.id, "subject": incident.subject,
            "condition": incident.condition, "severity": incident.worst, "opened": iso_z(incident.opened),
            "duration_seconds": int(max(0, ended - incident.opened)),
            "actions": [{"type": a.type, "target": a.target, "at": iso_z(a.at), "outcome": a.outcome}
                        for a in incident.actions],
            "notifications": sum(1 for n in incident.notices if n.status in DELIVERED)})
        if incident.notified is not None and not quiet and not incident.flapping and not incident.reported \
                and not self._worse_open(incident):
            if self.muted(incident.subject):
                self.held.append(incident)  # told when the silence ends
            else:
                self.due.append(Due("resolved", incident, key))

    def _worse_open(self, incident: Incident) -> bool:
        """Another incident of the same subject, more severe, is open: memory going from warning to
        critical ends the warning incident, and "back below the warning threshold" would be false."""
        rank = RANK.get(incident.severity, 0)
        return any(i.subject == incident.subject and RANK.get(i.severity, 0) > rank for i in self.open.values())

    # 3 --------------------------------------------------------------------------------------------
    def attach(self, subject: str, severity: str, text: str, *, create: bool) -> Incident | None:
        """The incident an action on ``subject`` is about: the worst one a rule holds open (seen
        this cycle first: one clearing is still the same problem, not a new one), else one a decider
        raised before; ``create`` opens a reported one."""
        found = self.lookup(subject)
        if found is not None and found.reported:
            self._seen(fingerprint(subject, REPORTED), found, _higher(found.severity, severity), text)
        if found is not None or not create:
            return found
        return self._open(subject, REPORTED, severity, text, reported=True)

    def lookup(self, subject: str) -> Incident | None:
        """``attach`` without side effects: what a note about ``subject`` is filed under."""
        mine = [i for i in self.open.values() if i.subject == subject]
        held = [i for i in mine if not i.reported]
        if held:
            return max(held, key=lambda i: (not i.absent, RANK.get(i.severity, 0)))
        return next((i for i in mine if i.reported), None)

    def alert_verdict(self, incident: Incident, severity: str = "info") -> tuple[str | None, str]:
        """(notice kind, or None when the alert is held back; why, for the record). ``severity``
        is the alert's own: an alert more severe than what the operator was last told about this
        incident goes out, whatever the rule says."""
        key = fingerprint(incident.subject, incident.condition)
        held = self.muted(incident.subject)
        if held or incident.flapping:
            return None, (f"{key}: notifications held by {held}" if held
                          else f"{key} is flapping: notifications held until it settles")
        if incident.notified is None:
            return "opened", f"{key} opened"
        now_severity = _higher(incident.severity, severity)
        if RANK.get(now_severity, 0) > RANK.get(incident.notified_severity or "info", 0):
            incident.severity = now_severity
            return "escalated", f"{key} rose to {now_severity}"
        last = iso_z(incident.notified)
        if key in self.notified_now:
            return None, f"{key} was notified at {last}, in this cycle"
        if self.now - incident.notified >= self.config.repeat_interval:
            return "reminder", f"{key} still open; last notified at {last}"
        return None, (f"{key} open since {iso_z(incident.opened)}, notified at {last}; "
                      f"next reminder from {iso_z(incident.notified + self.config.repeat_interval)}")

    def mark_notified(self, incident: Incident, kind: str, status: str, severity: str = "info") -> None:
        """Note a notification (``severity``: an alert's own, when it said more than the rule);
        one that went out (or will, or had nowhere to go) restarts the reminder interval."""
        incident.notices = [*incident.notices, Notice(kind, self.now, status)][-MAX_LISTED:]
        if status in DELIVERED:
            incident.notified, incident.notified_severity = self.now, _higher(incident.severity, severity)
            self.notified_now.add(fingerprint(incident.subject, incident.condition))

    def ineffective(self, incident: Incident, kind: str, target: str | None) -> str | None:
        """Why ``kind target`` may not be tried again on ``incident``, or None."""
        if f"{kind} {target}" in incident.escalated or _spent(incident, kind, target):
            tries = _failures(incident, kind, target)
            return (f"remediation ineffective: {kind} {target} left {incident.subject} unchanged "
                    f"{'once after resetting its start limit' if tries < INEFFECTIVE_AFTER else f'{tries} times'}; "
                    "escalated to the operator instead")
        return None

    def record_action(self, incident: Incident, action: IncidentAction) -> None:
        incident.actions = [*incident.actions, action][-MAX_LISTED:]

    def note_restarts(self, incident: Incident, unit: str, n_restarts: int) -> None:
        """systemd's own restart count for the unit: growing between two looks, systemd is
        fighting a crash loop, which the incident says (and the decider is shown)."""
        if incident.n_restarts is not None and n_restarts > incident.n_restarts:
            self.note(incident, f"systemd restarted {unit} {n_restarts - incident.n_restarts} more time(s) "
                                "on its own: a crash loop Argus should not join")
        incident.n_restarts = n_restarts

    def note(self, incident: Incident, text: str) -> None:
        incident.notes = [*incident.notes, f"{iso_z(self.now)} {text}"][-MAX_LISTED:]

    # 4 --------------------------------------------------------------------------------------------
    def settle(self, *, decider_asked: bool) -> None:
        """End of the cycle: reported incidents age out, reminders and settled flapping fall due."""
        for key, incident in list(self.open.items()):
            if incident.reported:
                self._settle_reported(key, incident, decider_asked)
            elif self.muted(incident.subject):
                pass  # neither opened nor reminder while held: the end of the silence tells it
            elif self._unheard(incident):
                self.due.append(Due("opened", incident, key))
            elif self._reminder_due(key, incident):
                self.due.append(Due("reminder", incident, key))
            if key in self.open:
                self._maybe_settled(key, incident)
        for key, settled in list(self.recent.items()):
            changes = self._recent_changes(settled.changes)
            still_flapping = settled.flapping and len(changes) >= self._settle_below()
            if settled.flapping and not still_flapping and settled.told:  # only what the operator heard of
                self.due.append(Due("settled", _closed(key, settled), key))
            if changes or self._notice_stands(settled):
                self.recent[key] = msgspec.structs.replace(settled, changes=changes, flapping=still_flapping,
                                                           told=settled.told and still_flapping)
            else:
                del self.recent[key]

    def _notice_stands(self, settled: Settled) -> bool:
        return settled.notified is not None and self.now - settled.notified < self.config.repeat_interval

    def _settle_reported(self, key: str, incident: Incident, decider_asked: bool) -> None:
        """A decider's own incident closes when the decider, asked again, stops raising it, or
        when nobody raised it for a repeat interval (the key may be gone for good)."""
        if incident.last_seen >= self.now:
            return
        if decider_asked:
            self._absent(key, incident)
        elif self.now - incident.last_seen >= self.config.repeat_interval:
            incident.cleared = incident.cleared or incident.last_seen
            self._resolve(key, incident)

    @staticmethod
    def _unheard(incident: Incident) -> bool:
        """A critical finding (or one that pages: a blind spot) the operator has not been told of,
        whatever the decider did (it may have chosen another subject's label, or no alert)."""
        return (incident.notified is None and (incident.severity == "critical" or incident.page)
                and not incident.absent and not incident.flapping and not incident.reported)

    def _reminder_due(self, key: str, incident: Incident) -> bool:
        return (incident.notified is not None and not incident.absent and not incident.flapping
                and key not in self.notified_now and self.now - incident.notified >= self.config.repeat_interval)

    def _maybe_settled(self, key: str, incident: Incident) -> None:
        incident.changes = self._recent_changes(incident.changes)
        if incident.flapping and len(incident.changes) < self._settle_below():
            incident.flapping = False
            if incident.notified is not None:
                self.due.append(Due("settled", incident, key))

    def _settle_below(self) -> int:
        """Flapping ends below half the changes that started it: no on/off at the threshold."""
        return max(1, self.config.flap_transitions // 2)

    def unmuted(self, matches: Callable[[str], bool]) -> Unmuted:
        """At the end of silences (``matches`` their subjects): what they covered that is open
        (flapping, reported, ineffective ones too: the operator heard nothing of them meanwhile),
        what another silence still holds, the resolved notices and the alerts naming no subject
        they held. Nothing is taken out of the book until ``told``."""
        covered = [i for i in self.open.values() if matches(i.subject) and not i.absent]
        return Unmuted(still=[i for i in covered if not self.muted(i.subject)],
                       held_on=[(i, self.muted(i.subject) or "") for i in covered if self.muted(i.subject)],
                       resolved=[i for i in self.held if matches(i.subject) and not self.muted(i.subject)],
                       alerts=list(self.held_alerts) if matches("") and not self.muted("") else [],
                       dropped=self.held_dropped)

    def told(self, unmuted: Unmuted) -> None:
        """The end notice went out (or will): its held notices are done with."""
        self.held = [i for i in self.held if i not in unmuted.resolved]
        if unmuted.alerts:
            self.held_alerts = []
        self.held_dropped = 0

    def hold_alert(self, text: str) -> None:
        self.held_alerts = [*self.held_alerts, text[:300]]

    # for the decider ------------------------------------------------------------------------------
    def for_decider(self) -> list[dict[str, object]]:
        """The open incidents as the LLM is shown them: what, since when, what was tried and how
        it went, what the operator was told."""
        return [{
            "subject": i.subject, "condition": i.condition, "severity": i.severity,
            "since": iso_z(i.opened), "last_seen": iso_z(i.last_seen), "absent_cycles": i.absent,
            "flapping": i.flapping,
            "actions": [{"type": a.type, "target": a.target, "at": iso_z(a.at), "status": a.status,
                         "outcome": a.outcome} for a in i.actions[-SHOWN:]],
            "notified": [{"kind": n.kind, "at": iso_z(n.at), "status": n.status} for n in i.notices[-SHOWN:]],
            "escalated": i.escalated[-SHOWN:], "notes": i.notes[-SHOWN:],
        } for i in self.open.values()]

    def summary(self) -> dict[str, object]:
        """This cycle's incident activity, for cycles.jsonl."""
        return {"open": len(self.open), "opened": list(self.opened),
                "resolved": [fingerprint(i.subject, i.condition) for i in self.resolved],
                "outcomes": list(self.outcomes), "unkeyed": self.unkeyed}


def _not_after(incident: Incident, now: float) -> None:
    """A clock set back (NTP after a bad RTC) leaves times in the future: treat them as now, so
    reminders and ageing resume within one interval instead of when the clock catches up."""
    incident.opened, incident.last_seen = min(incident.opened, now), min(incident.last_seen, now)
    if incident.notified is not None:
        incident.notified = min(incident.notified, now)
    if incident.cleared is not None:
        incident.cleared = min(incident.cleared, now)


def _worth_telling(incident: Incident) -> bool:
    """Flapping is news for an incident the operator was alerted about, or a critical one."""
    return incident.notified is not None or incident.severity == "critical"


def _failures(incident: Incident, kind: str, target: str | None) -> int:
    return sum(1 for a in incident.actions if a.type == kind and a.target == target
               and a.outcome in ("unchanged", "worse"))


def _spent(incident: Incident, kind: str, target: str | None) -> bool:
    """Tried enough: twice without effect, or once after resetting systemd's start limit (a unit
    that hit it is not hammered: one reset-failed and restart, then a human)."""
    if _failures(incident, kind, target) >= INEFFECTIVE_AFTER:
        return True
    return any(a.type == kind and a.target == target and a.reset_failed and a.outcome in ("unchanged", "worse")
               for a in incident.actions)


def _higher(a: str, b: str) -> str:
    return a if RANK.get(a, 0) >= RANK.get(b, 0) else b


def _closed(key: str, settled: Settled) -> Incident:
    """A stand-in for a fingerprint already resolved, so its settled notice can name it."""
    subject, _, condition = key.rpartition(" ")
    return Incident(id="", subject=subject, condition=condition, severity="info", worst="info", text="",
                    opened=settled.resolved, last_seen=settled.resolved, cleared=settled.resolved)
