"""``argus silence add|list|expire``: mute notifications about matching subjects for a while.

Thin: check the input, call ``control/silences.py``, print. Bad input is one line, exit 2, and
is refused before the state dir is touched; a state dir this user may not write is one line
with the fix, exit 1. ``list`` only reads.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from argus_cli.cli.common import ArgusError, emit_json, load_config, read_or_fail, require_state_dir
from argus_cli.text import one_line, truncate

if TYPE_CHECKING:
    from argus_cli.config import Config
    from argus_cli.state.layout import Silence

SHOWN = 3  # open incidents named when a new silence covers some; the rest are counted
DURATIONS = "90s, 15m, 2h, 7d or plain seconds"

app = typer.Typer(help="Silences: hold back notifications about matching subjects for a while (at most 7 days).\n\n"
                       "Example: argus silence add 'service:*' --for 2h --reason 'deploy of the gateway'",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command("add")
def add(
    pattern: Annotated[str, typer.Argument(
        metavar="PATTERN", help="The subjects to silence, a glob: service:gateway, service:*, disk:/var*, memory, *.",
        show_default=False)],
    duration: Annotated[Optional[str], typer.Option(
        "--for", metavar="DURATION", help=f"How long (required): {DURATIONS}; 1 min to 7 days.",
        show_default=False)] = None,
    reason: Annotated[Optional[str], typer.Option(
        "--reason", metavar="TEXT", help="Why (required): one line, kept with the silence.",
        show_default=False)] = None,
) -> None:
    """Silence notifications about the subjects matching PATTERN for a while.

    Incidents still open, resolve and are recorded; only the notifications about them wait. When
    the silence ends, the next cycle announces it and notifies what is still open. Prints the
    open incidents it covers now, so a typo in PATTERN shows at once.

    Example: argus silence add 'service:*' --for 2h --reason "deploy of the gateway"
    """
    from argus_cli.control import silences

    config = load_config()
    with _bad_input():  # checked first: bad input never depends on the state dir
        seconds = silences.check_seconds(_seconds(duration))
        pattern, text = silences.validate_pattern(pattern), silences.clean_reason(_required(reason))
    require_state_dir(config.state_dir)
    with _bad_input(), _store_errors():
        silence = silences.add(config, pattern, seconds, text, now=time.time(), by=_who())
    typer.echo(f"silence {silence.id} on {_safe(silence.pattern)} until {silences.stamp(silence.ends)} "
               f"({silences.span(silence.ends - silence.created)}): {_safe(silence.reason)}")
    hint = _open_incidents(config, silence.pattern)
    if hint is not None:
        typer.echo(hint)


@app.command("list")
def list_(
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON list of silences.")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="Also the ended silences still kept.")] = False,
) -> None:
    """List the active silences: id, pattern, until, time left, by whom and why.

    With --all also the ended ones still kept (a week after their end was announced). --json
    prints objects with id, pattern, reason, created, ends (ISO 8601, UTC), by, expired_by,
    announced and active.

    Example: argus silence list --json | jq -r '.[].pattern'
    """
    from argus_cli.control import silences
    from argus_cli.state.layout import SILENCES, Silences

    config, now = load_config(), time.time()
    store = read_or_fail(SILENCES, config.state_dir) or Silences()
    running = silences.active(store, now)
    ended = sorted((s for s in store.silences.values() if s.ends <= now), key=lambda s: s.ends, reverse=True)
    shown = running + ended if show_all else running
    if json_out:
        emit_json([_as_json(s, now) for s in shown])
        return
    if not running:
        kept = f" ({len(ended)} ended kept: argus silence list --all)" if ended and not show_all else ""
        typer.echo(f"no active silences{kept}")
    width = max((len(_safe(s.pattern)) for s in shown), default=0)
    for silence in shown:
        typer.echo(_row(silence, now, width))


@app.command("expire")
def expire(
    silence_id: Annotated[str, typer.Argument(metavar="ID", help="The silence's id, as argus silence list shows it.",
                                              show_default=False)],
) -> None:
    """End a silence now; the next cycle announces it and notifies what is still open.

    Example: argus silence expire 3f2a9c
    """
    from argus_cli.control import silences

    config = load_config()
    require_state_dir(config.state_dir)
    with _store_errors():
        try:
            silence = silences.expire(config, silence_id.strip().lower(), now=time.time(), by=_who())
        except silences.SilenceNotFound as exc:
            raise ArgusError(str(exc), 2) from None
        except silences.AlreadyEnded as exc:
            raise ArgusError(str(exc)) from None
    typer.echo(f"silence {silence.id} on {_safe(silence.pattern)} ended; "
               "the next cycle announces it and notifies what is still open")


# --- input ----------------------------------------------------------------------------------------

def _seconds(duration: str | None) -> int:
    from argus_cli.config import parse_duration
    from argus_cli.control.silences import quoted

    if duration is None:
        raise ValueError(f"silence add needs --for DURATION ({DURATIONS}): every silence ends")
    seconds = parse_duration(duration.strip())
    if seconds is None:
        raise ValueError(f"--for {quoted(duration)} is no duration: use {DURATIONS}")
    return seconds


def _required(reason: str | None) -> str:
    if reason is None:
        raise ValueError("silence add needs --reason TEXT: say why, for whoever wonders where the alerts went")
    return reason


@contextlib.contextmanager
def _bad_input() -> Iterator[None]:
    try:
        yield
    except ValueError as exc:
        raise ArgusError(str(exc), 2) from None


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """A lock held too long or a store that cannot be used: one line, exit 1."""
    from argus_cli.state.layout import Unusable
    from argus_cli.state.lock import LockBusy

    try:
        yield
    except (LockBusy, Unusable) as exc:
        raise ArgusError(str(exc)) from None


def _who() -> str:
    """The unix user, and who they are behind sudo."""
    import pwd

    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = f"uid {uid}"
    sudo = os.environ.get("SUDO_USER", "")
    return f"{name} ({sudo} via sudo)" if uid == 0 and sudo and sudo != name else name


# --- output ---------------------------------------------------------------------------------------

def _safe(text: str, limit: int = 200) -> str:
    """Text from the store (hand edits included) as one printable line."""
    return one_line(truncate(text, limit), limit)


def _open_incidents(config: Config, pattern: str) -> str | None:
    """What a new silence covers among the open incidents; None without an incident book."""
    from argus_cli.control.silences import matches
    from argus_cli.state.layout import INCIDENTS

    if not INCIDENTS.path(config.state_dir).exists():
        return None
    book = INCIDENTS.read(config.state_dir, report=lambda _message: None)
    covered = sorted(_safe(f"{i.subject} {i.condition}", 80) for i in (book.open.values() if book else ())
                     if not i.absent and matches(pattern, i.subject))
    if not covered:
        return "it matches no open incident now"
    listed = ", ".join(covered[:SHOWN]) + (f", +{len(covered) - SHOWN} more" if len(covered) > SHOWN else "")
    return f"it covers {len(covered)} open incident{'s' if len(covered) > 1 else ''}: {listed}"


def _row(silence: Silence, now: float, width: int) -> str:
    from argus_cli.control.silences import span, stamp

    if silence.ends > now:
        when = f"until {stamp(silence.ends)} ({span(silence.ends - now)} left)"
    else:
        by = f" (expired early by {_safe(silence.expired_by, 64)})" if silence.expired_by else ""
        when = f"ended {stamp(silence.ends)}{by}"
    return (f"{_safe(silence.id, 16)}  {_safe(silence.pattern).ljust(width)}  {when}  "
            f"by {_safe(silence.by, 64)}: {_safe(silence.reason)}")


def _as_json(silence: Silence, now: float) -> dict[str, object]:
    return {"id": silence.id, "pattern": silence.pattern, "reason": silence.reason,
            "created": _iso(silence.created), "ends": _iso(silence.ends), "by": silence.by,
            "expired_by": silence.expired_by, "announced": silence.announced, "active": silence.ends > now}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
