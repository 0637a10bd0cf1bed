"""The incident book's rules, on a real state directory, cycle by cycle (the clock is a number)."""

from __future__ import annotations

from typing import Any

from argus_cli.incidents.book import Book
from argus_cli.state.layout import INCIDENTS

STEP = 300.0
T0 = 1_800_000_000.0
DOWN = ("service:web", "down", "critical", "Service web is down", False)
MEASURED = frozenset({"service:web", "service:api", "memory"})  # what every cycle here could see


class Run:
    """Cycles over one state directory; ``verdicts`` is what each alert was told, in order."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.verdicts: list[str | None] = []

    def cycle(self, n: int, found: list[tuple[str, str, str, str, bool]], *, asked: bool = False,
              alerts: tuple[tuple[str, str, str], ...] = ()) -> Book:
        """Findings, then alerts (subject, severity, text) as the alert action handles them,
        then settle and save."""
        book = Book.load(self.config, T0 + n * STEP)
        book.observe(found, MEASURED)
        for subject, severity, text in alerts:
            incident = book.attach(subject, severity, text, create=True)
            assert incident is not None
            kind, _ = book.alert_verdict(incident)
            if kind is not None:
                book.mark_notified(incident, kind, "sent")
            self.verdicts.append(kind)
        book.settle(decider_asked=asked)
        book.save()
        return book


def test_a_decider_s_own_incident_closes_when_the_decider_stops_raising_it(argus_env, config_of):
    config = config_of(argus_env)
    alert = (("process:node", "warning", "node is spinning at 100% CPU"),)
    run = Run(config)
    book = run.cycle(0, [], asked=True, alerts=alert)
    assert [(i.subject, i.condition, i.reported) for i in book.open.values()] == [("process:node", "reported", True)]
    run.cycle(1, [], asked=False)  # the LLM was not asked: absence proves nothing
    run.cycle(2, [], asked=True)
    book = run.cycle(3, [], asked=True)
    # closed, quietly: no rule can say the problem ended, so Argus does not announce that it did
    assert not book.open and [i.condition for i in book.resolved] == ["reported"] and not book.due


def test_a_reported_incident_nobody_raises_again_closes_after_a_repeat_interval(argus_env, config_of):
    config = config_of({**argus_env, "ARGUS_REPEAT_INTERVAL": "900"})
    run = Run(config)
    run.cycle(0, [], asked=True, alerts=(("process:node", "warning", "node spinning"),))
    assert run.cycle(2, []).open
    assert not run.cycle(3, []).open


def test_severity_rising_is_alerted_again(argus_env, config_of):
    config = config_of(argus_env)
    run = Run(config)
    run.cycle(0, [], alerts=(("service:api", "warning", "api is slow"),))
    run.cycle(1, [], alerts=(("service:api", "warning", "api still slow"),))
    run.cycle(2, [], alerts=(("service:api", "critical", "api down"),))
    assert run.verdicts == ["opened", None, "escalated"]


def test_an_alert_on_a_clearing_incident_is_the_same_incident(argus_env, config_of):
    config = config_of(argus_env)
    run = Run(config)
    run.cycle(0, [DOWN], alerts=(("service:web", "critical", "web down"),))
    book = run.cycle(1, [], alerts=(("service:web", "critical", "web was down"),))  # a stale view
    assert run.verdicts == ["opened", None]
    assert list(book.open) == ["service:web down"]


def test_a_quiet_cycle_writes_nothing(argus_env, config_of):
    config = config_of(argus_env)
    run = Run(config)
    run.cycle(0, [])
    assert not INCIDENTS.path(config.state_dir).exists()
    run.cycle(1, [DOWN])
    written = INCIDENTS.path(config.state_dir).stat().st_mtime_ns
    run.cycle(2, [DOWN])  # last_seen moves: written
    assert INCIDENTS.path(config.state_dir).stat().st_mtime_ns >= written


def test_flapping_is_recognised_across_reopenings(argus_env, config_of):
    config = config_of({**argus_env, "ARGUS_RESOLVE_CYCLES": "1", "ARGUS_FLAP_TRANSITIONS": "4"})
    run = Run(config)
    kinds = []
    for n in range(6):
        book = run.cycle(n, [DOWN] if n % 2 == 0 else [],
                         alerts=(("service:web", "critical", "down"),) if n % 2 == 0 else ())
        kinds += [d.kind for d in book.due]
    # opened (alert), resolved, reopened (alert), then the 4th change: flapping, and no more
    assert run.verdicts == ["opened", "opened", None]
    assert kinds == ["resolved", "flapping"]
