"""Silences: the operator mutes notifications about matching subjects for a bounded time.

A silence is an fnmatch glob over incident subjects (``service:*``, ``disk:/var*``, ``*``), a
reason, who set it and when it ends: never more than seven days ahead, so a forgotten silence
cannot hide a host for good. Incidents still open and resolve under a silence; only what is
sent about them waits, and the end of each silence is announced by the next cycle.

The store is ``silences.json`` (state/layout.py). Everything that changes it goes through
``editing``, under ``silences.lock``: the CLI and a cycle each read, change and write the whole
file, and without the lock one would lose the other's change. The lock holder owns the store, so
an unusable file it reads is moved aside (``files.owning_state``). Times are epoch seconds and
the clock is always a parameter.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from difflib import get_close_matches
from fnmatch import fnmatchcase

from argus_cli.config import Config
from argus_cli.state.files import Reporter, to_stderr
from argus_cli.state.layout import LISTED, SILENCES, SILENCES_LOCK, Silence, Silences

DAY = 86400
MIN_SECONDS = 60
MAX_SECONDS = 7 * DAY
KEEP_SECONDS = 7 * DAY  # an ended silence stays listed (`list --all`) this long after its end was announced
PATTERN_MAX = 128
REASON_MAX = 200
BY_MAX = 64
LOCK_WAIT = 5.0  # seconds: a cycle holds the lock for milliseconds
# The kinds of subject (incidents/subjects.py); the nameless ones are a whole subject on their own.
KINDS = ("memory", "swap", "load", "disk", "service", "freshness", "process", "orphans", "tmux", "collector",
         "decider")
NAMELESS = frozenset({"memory", "swap", "load", "orphans", "decider"})
_GLOB = frozenset("*?[")
# A terminal escape (CSI, OSC, or ESC and one character): dropped whole from a reason, so no
# "[31m" debris is left behind once the ESC itself is gone.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?", re.S)


class SilenceNotFound(LookupError):
    """No silence has that id."""


class AlreadyEnded(ValueError):
    """The silence to expire ended already."""


# --- validation: every check raises ValueError with one line for the operator ---------------------

def validate_pattern(text: str) -> str:
    """``text`` stripped, when it is a glob that can match a subject: ``*``, or a subject kind (or
    a glob over kinds) with a name where the kind has names (``service:*``, ``disk:/var*``)."""
    pattern = text.strip()
    if not 1 <= len(pattern) <= PATTERN_MAX:
        raise ValueError(f"a pattern has 1 to {PATTERN_MAX} characters, not {len(pattern)}")
    if not pattern.isprintable() or any(ch.isspace() for ch in pattern):
        raise ValueError(f"{quoted(pattern)}: a pattern holds no spaces or control characters")
    if pattern != "*":
        _check_kind(pattern)
    return pattern


def _check_kind(pattern: str) -> None:
    kind, colon, name = pattern.partition(":")
    known = f"(known: {', '.join(KINDS)})"
    if _GLOB & set(kind):
        if not any(fnmatchcase(k, kind) for k in KINDS):
            raise ValueError(f"{quoted(pattern)}: no subject kind matches {quoted(kind)} {known}")
        return
    if kind not in KINDS:
        close = get_close_matches(kind, KINDS, n=1)
        guess = f"; did you mean {quoted(close[0])}?" if close else ""
        raise ValueError(f"{quoted(pattern)}: no subject kind {quoted(kind)}{guess} {known}")
    if kind in NAMELESS and colon:
        raise ValueError(f"{quoted(pattern)}: a {kind} subject has no name: use {kind}")
    if kind not in NAMELESS and not name:
        raise ValueError(f"{quoted(pattern)}: {kind} subjects are named: use {kind}:NAME or {kind}:*")


def clean_reason(text: str) -> str:
    """``text`` as one printable line (terminal escapes and control characters dropped) of at most
    REASON_MAX characters; ValueError when nothing is left."""
    flat = " ".join(_ESCAPE.sub("", text).split())
    flat = "".join(ch for ch in flat if ch.isprintable())
    if not flat:
        raise ValueError("a silence needs a reason: say why, for whoever wonders where the alerts went")
    return flat if len(flat) <= REASON_MAX else flat[: REASON_MAX - 1] + "…"


def check_seconds(seconds: int) -> int:
    if seconds > MAX_SECONDS:
        raise ValueError(f"a silence must end within 7 days, not in {span(seconds)}")
    if seconds < MIN_SECONDS:
        raise ValueError(f"a silence lasts at least {span(MIN_SECONDS)}, not {span(seconds)}")
    return seconds


def quoted(text: str, limit: int = 60) -> str:
    """``text`` in double quotes, safe on a terminal: control characters shown as escapes."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return '"' + "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in shown) + '"'


# --- reading the store: pure, the clock passed in --------------------------------------------------

CLOCK_SLACK = 300  # seconds a clock may step back and a silence still count from its creation


def active(store: Silences, now: float) -> list[Silence]:
    """The silences in force at ``now``, the first to end first. One whose end was announced is
    over, and a clock set back before one was created does not make it last longer: muting is
    the risky side, so a doubtful silence holds nothing."""
    return sorted((s for s in store.silences.values()
                   if not s.announced and s.created - CLOCK_SLACK <= now < s.ends), key=_by_end)


def covering(store: Silences, subject: str, now: float) -> Silence | None:
    """The active silence matching ``subject`` that ends last, or None."""
    return max((s for s in active(store, now) if matches(s.pattern, subject)), key=_by_end, default=None)


def ended_unannounced(store: Silences, now: float) -> list[Silence]:
    """The silences that ended by ``now`` and whose end no cycle announced yet, the first first."""
    return sorted((s for s in store.silences.values() if s.ends <= now and not s.announced), key=_by_end)


def matches(pattern: str, subject: str) -> bool:
    return fnmatchcase(subject, pattern)


def _by_end(silence: Silence) -> tuple[float, str]:
    return silence.ends, silence.id


# --- changing the store ----------------------------------------------------------------------------

def add(config: Config, pattern: str, seconds: int, reason: str, *, now: float, by: str) -> Silence:
    """A new silence of ``pattern`` from ``now`` for ``seconds``; ValueError for bad input (nothing
    is written) or when LISTED silences are active already."""
    pattern, reason, seconds = validate_pattern(pattern), clean_reason(reason), check_seconds(seconds)
    with editing(config, now) as store:
        if len(active(store, now)) >= LISTED:
            raise ValueError(f"{LISTED} silences are active already: expire one first (argus silence list)")
        silence = Silence(id=_new_id(store), pattern=pattern, reason=reason, created=now, ends=now + seconds,
                          by=_clean_name(by))
        store.silences[silence.id] = silence
    return silence


def expire(config: Config, silence_id: str, *, now: float, by: str) -> Silence:
    """End the silence ``silence_id`` at ``now``; SilenceNotFound or AlreadyEnded otherwise."""
    with editing(config, now) as store:
        silence = store.silences.get(silence_id)
        if silence is None:
            raise SilenceNotFound(_not_found(store, silence_id, now))
        if silence.ends <= now:
            who = f" (expired by {silence.expired_by})" if silence.expired_by else ""
            raise AlreadyEnded(f"silence {silence.id} on {silence.pattern} already ended at {stamp(silence.ends)}{who}")
        silence.ends, silence.expired_by = now, _clean_name(by)
    return silence


def mark_announced(config: Config, ids: Iterable[str], now: float | None = None) -> None:
    """Record that a cycle announced the end of these silences (unknown ids are passed over)."""
    with editing(config, now) as store:
        for silence_id in ids:
            if silence_id in store.silences:
                store.silences[silence_id].announced = True


def prune(store: Silences, now: float) -> None:
    """Drop the silences announced as ended over KEEP_SECONDS ago; past LISTED entries, the ended
    ones that ended first. An active silence is never dropped."""
    for key, silence in list(store.silences.items()):
        if silence.announced and silence.ends < now - KEEP_SECONDS:
            del store.silences[key]
    ended = sorted((item for item in store.silences.items() if item[1].ends <= now), key=lambda i: _by_end(i[1]))
    for key, _ in ended[: max(0, len(store.silences) - LISTED)]:
        del store.silences[key]


@contextlib.contextmanager
def editing(config: Config, now: float | None = None, report: Reporter = to_stderr) -> Iterator[Silences]:
    """The store, to change in place, under ``silences.lock``; written back atomically (pruned as
    of ``now``, the real clock when None) when the block ends normally and changed it.

    Raises LockBusy when another process holds the lock for LOCK_WAIT seconds, and Unusable
    when silences.json can be neither read nor moved aside.
    """
    def tidy(store: Silences) -> None:
        prune(store, time.time() if now is None else now)
    with SILENCES.editing(config.state_dir, SILENCES_LOCK, Silences, tidy, report=report, wait=LOCK_WAIT) as store:
        yield store


def _new_id(store: Silences) -> str:
    while (candidate := secrets.token_hex(3)) in store.silences:
        pass
    return candidate


def _clean_name(name: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in name.strip())[:BY_MAX] or "unknown"


def _not_found(store: Silences, silence_id: str, now: float) -> str:
    ids = [s.id for s in active(store, now)]
    known = f" (active: {', '.join(ids[:5])}{', …' if len(ids) > 5 else ''})" if ids else " (none is active)"
    return f"no silence {quoted(silence_id, 20)}{known}: argus silence list --all shows them"


# --- showing times ------------------------------------------------------------------------------------

def stamp(epoch: float) -> str:
    """``2026-11-30 16:00 UTC``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def span(seconds: float) -> str:
    """A duration the way an operator says it: ``90 s``, ``15 min``, ``2 h 30 min``, ``7 d``."""
    whole = int(seconds)
    if whole < 60 or (whole < 120 and whole % 60):
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    if whole < 2 * DAY:
        hours, minutes = divmod(whole // 60, 60)
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(whole // 3600, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")
