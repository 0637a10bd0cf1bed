"""The durable alert outbox (SPEC §5): an alert Telegram did not take is kept and delivered,
oldest first, by a later run. None is lost; none is sent twice, with one honest exception below.

Files under the state dir:

- ``outbox.jsonl``: one queued alert per line ``{"id","ts","text","attempts","last_error"}``.
- ``outbox.lock``: flock held (briefly, never across network I/O) around every
  read-modify-write and every append, so a concurrent ``argus act`` appending an alert is never
  overwritten by a flush rewriting the file.
- ``outbox.flush.lock``: held for a whole flush, so two processes never send the same head.
- ``outbox-delivered.jsonl``: ids Telegram accepted, fsynced before the entry is removed, so if
  the rewrite fails or the process dies before it, the next flush drops the entry unsent.

Remaining at-least-once window: if the process dies after Telegram accepted a message but
before its id reaches ``outbox-delivered.jsonl`` (a few milliseconds; or the HTTP answer is
lost on the wire), that one alert is sent again by the next flush. Exactly-once across a
network boundary without the receiver's help is impossible; we keep the window to one alert.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from argus_cli.config import Config
from argus_cli.model import iso_z
from argus_cli.notify.common import note
from argus_cli.notify.telegram import REQUEST_TIMEOUT, Delivery, cap_text, send_message
from argus_cli.state.files import (
    PRIVATE_DIR_MODE,
    LineStats,
    append_jsonl,
    atomic_write_bytes,
    dumps,
    fsync_path,
    iter_jsonl,
    move_aside,
    stored_number,
)
from argus_cli.state.lock import FileLock, LockBusy

OUTBOX_NAME = "outbox.jsonl"
LEDGER_NAME = "outbox-delivered.jsonl"
MAX_ENTRIES = 1000  # a week-long outage at one alert a cycle stays well under this
LOCK_WAIT_SECONDS = 30.0
FLUSH_BUDGET_SECONDS = 60.0  # leave the rest of the cycle for its real work

Sleep = Callable[[float], None]
Send = Callable[[str], Delivery]


class OutboxBusy(OSError):
    """The outbox lock stayed held for LOCK_WAIT_SECONDS (a stuck process)."""


@dataclass(frozen=True)
class _Flush:
    delivered: int
    remaining: int
    telegram_failed: bool


def send_alert(config: Config, text: str, now: float, *, attempts: int = 3, sleep: Sleep = time.sleep,
               timeout: float = REQUEST_TIMEOUT) -> Delivery:
    """Deliver ``text`` now, or keep it in the outbox for a later run (ok=False, "queued ...")."""
    if not config.telegram_configured:
        return Delivery(False, "telegram not configured", "unconfigured")
    text = cap_text(text)
    if not text.strip():
        return Delivery(False, "empty alert, not sent")
    send = partial(send_message, config, attempts=attempts, sleep=sleep, timeout=timeout)
    if pending_count(config):  # older alerts go first; if Telegram still fails, don't try twice
        flushed = _flush(config, now, send, FLUSH_BUDGET_SECONDS)
        if flushed.telegram_failed:
            return _queue(config, text, now, f"{flushed.remaining} earlier alert(s) still undelivered")
    delivery = send(text)
    return delivery if delivery.ok else _queue(config, text, now, delivery.detail)


def flush_outbox(config: Config, now: float, *, attempts: int = 3, sleep: Sleep = time.sleep,
                 timeout: float = REQUEST_TIMEOUT, budget: float = FLUSH_BUDGET_SECONDS) -> tuple[int, int]:
    """Deliver queued alerts oldest first; stop at the first failure. Returns (delivered, remaining)."""
    if not config.telegram_configured:
        return 0, pending_count(config)
    send = partial(send_message, config, attempts=attempts, sleep=sleep, timeout=timeout)
    flushed = _flush(config, now, send, budget)
    return flushed.delivered, flushed.remaining


def pending_count(config: Config) -> int:
    """How many alerts wait in the outbox."""
    return len(_read(_outbox(config))[0])


def pending_alerts(config: Config) -> list[dict[str, Any]]:
    return _read(_outbox(config))[0]


def _flush(config: Config, now: float, send: Send, budget: float) -> _Flush:
    try:
        with FileLock(config.state_dir / "outbox.flush.lock"):
            return _flush_locked(config, now, send, time.monotonic() + budget)
    except LockBusy:  # another process is flushing; it re-reads the file and will take ours too
        return _Flush(0, pending_count(config), False)
    except OSError as exc:
        note(f"outbox flush stopped: {exc}", config.secrets())
        return _Flush(0, pending_count(config), False)


def _flush_locked(config: Config, now: float, send: Send, deadline: float) -> _Flush:
    delivered = 0
    while True:
        head, remaining = _reconcile(config)
        if head is None or time.monotonic() > deadline:
            return _Flush(delivered, remaining, False)
        result = send(head["text"])
        if not result.ok:
            _mark_failed(config, head["id"], result.detail)
            return _Flush(delivered, remaining, True)
        _record_delivered(config, head["id"], now)
        _remove(config, head["id"])
        delivered += 1


# --- file operations, each under the outbox lock ----------------------------------------------

def _outbox(config: Config) -> Path:
    return config.state_dir / OUTBOX_NAME


def _ledger(config: Config) -> Path:
    return config.state_dir / LEDGER_NAME


@contextlib.contextmanager
def _guard(config: Config) -> Iterator[None]:
    """Exclusive flock on ``outbox.lock``, waiting up to LOCK_WAIT_SECONDS."""
    config.state_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    fd = os.open(config.state_dir / "outbox.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OutboxBusy(f"outbox lock held for over {LOCK_WAIT_SECONDS:g}s") from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _queue(config: Config, text: str, now: float, reason: str) -> Delivery:
    entry = {"id": uuid.uuid4().hex, "ts": iso_z(now), "text": text, "attempts": 1, "last_error": reason}
    try:
        with _guard(config):
            entries, _ = _read(_outbox(config))
            if len(entries) >= MAX_ENTRIES:
                dropped = len(entries) - MAX_ENTRIES + 1
                _write(_outbox(config), entries[dropped:])
                note(f"outbox full ({MAX_ENTRIES} alerts): dropped the {dropped} oldest")
            append_jsonl(_outbox(config), entry, mode=0o600)
            fsync_path(_outbox(config))
    except OSError as exc:
        note(f"alert not delivered and not queued: {reason}; outbox: {exc}", config.secrets())
        return Delivery(False, f"not delivered, not queued: {reason}")
    return Delivery(False, f"queued in outbox: {reason}", "queued")


def _reconcile(config: Config) -> tuple[dict[str, Any] | None, int]:
    """Drop entries already delivered (per the ledger); return the oldest left and the count."""
    with _guard(config):
        entries, damaged = _read(_outbox(config))
        done = _delivered_ids(config)
        keep = [e for e in entries if e["id"] not in done]
        if damaged or len(keep) != len(entries):
            _write(_outbox(config), keep, aside=damaged)
        if done:
            _prune_ledger(config, {e["id"] for e in keep})
    return (keep[0] if keep else None), len(keep)


def _remove(config: Config, entry_id: str) -> None:
    try:
        with _guard(config):
            entries, damaged = _read(_outbox(config))
            keep = [e for e in entries if e["id"] != entry_id]
            _write(_outbox(config), keep, aside=damaged)
            _prune_ledger(config, {e["id"] for e in keep})
    except OSError as exc:  # the ledger still says "delivered": the next flush drops it unsent
        note(f"outbox: could not remove a delivered alert yet: {exc}", config.secrets())


def _mark_failed(config: Config, entry_id: str, reason: str) -> None:
    try:
        with _guard(config):
            entries, damaged = _read(_outbox(config))
            for entry in entries:
                if entry["id"] == entry_id:
                    entry["attempts"] = int(stored_number(entry.get("attempts")) or 0) + 1
                    entry["last_error"] = reason
            _write(_outbox(config), entries, aside=damaged)
    except (OSError, ValueError) as exc:
        note(f"outbox: could not record a failed attempt: {exc}", config.secrets())


def _record_delivered(config: Config, entry_id: str, now: float) -> None:
    try:
        append_jsonl(_ledger(config), {"id": entry_id, "ts": iso_z(now)}, mode=0o600)
        fsync_path(_ledger(config))
    except OSError as exc:
        note(f"outbox: could not record a delivery: {exc}", config.secrets())


def _delivered_ids(config: Config) -> set[str]:
    return {str(r.get("id")) for r in iter_jsonl(_ledger(config))}


def _prune_ledger(config: Config, still_queued: set[str]) -> None:
    """Keep only ledger ids whose entry is still in the outbox (usually none)."""
    ledger = _ledger(config)
    if not ledger.exists():
        return
    keep = [r for r in iter_jsonl(ledger) if r.get("id") in still_queued]
    if keep:
        atomic_write_bytes(ledger, b"".join(dumps(r) + b"\n" for r in keep), mode=0o600)
    else:
        ledger.unlink(missing_ok=True)


def _read(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Well-formed entries in file order, and how many lines were damaged."""
    stats = LineStats()
    entries = [r for r in iter_jsonl(path, stats) if isinstance(r.get("id"), str) and isinstance(r.get("text"), str)]
    return entries, stats.lines - len(entries)


def _write(path: Path, entries: list[dict[str, Any]], aside: int = 0) -> None:
    """Atomically replace the outbox; damaged lines are kept in a ``.corrupt-`` copy, not lost."""
    if aside and path.exists():
        kept = move_aside(path)
        note(f"outbox: {aside} unreadable line(s) kept in {kept.name}")
    if entries:
        atomic_write_bytes(path, b"".join(dumps(e) + b"\n" for e in entries), mode=0o600)
    else:
        path.unlink(missing_ok=True)
