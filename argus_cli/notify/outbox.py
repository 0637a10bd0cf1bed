"""The durable alert outbox (ARCHITECTURE.md §4): an alert Telegram did not take is kept and delivered,
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

A full state filesystem: Telegram takes the head but neither the ledger nor the rewrite can be
written. The flush stops there with one error (a loop would resend that head until the time
ran out), and no entry is sent twice in one cycle (``DeliveryBudget.sent_ids``); while the disk
stays full that head goes out again once per cycle, never more.

Every flush and send runs against a ``DeliveryBudget``: a cycle passes its own, shared by all
its senders; a lone call (tests, tools) gets FLUSH_BUDGET_SECONDS and up to MAX_ENTRIES messages.
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
from argus_cli.notify.budget import DeliveryBudget
from argus_cli.notify.common import note
from argus_cli.notify.telegram import REQUEST_TIMEOUT, Delivery, cap_text, send_message
from argus_cli.state.files import (
    PRIVATE_DIR_MODE,
    LineStats,
    append_jsonl,
    atomic_write_bytes,
    create_state_file,
    dumps,
    fsync_path,
    iter_jsonl,
    move_aside,
    stored_number,
)
from argus_cli.state.layout import OUTBOX, OUTBOX_DELIVERED, OUTBOX_FLUSH_LOCK, OUTBOX_LOCK
from argus_cli.state.lock import FileLock, LockBusy

MAX_ENTRIES = 1000  # a week-long outage at one alert a cycle stays well under this
LOCK_WAIT_SECONDS = 30.0
FLUSH_BUDGET_SECONDS = 60.0  # a lone flush or send (outside a cycle) stops after this

Sleep = Callable[[float], None]
Send = Callable[[str], Delivery]


class OutboxBusy(OSError):
    """The outbox lock stayed held for LOCK_WAIT_SECONDS (a stuck process)."""


@dataclass(frozen=True)
class _Flush:
    delivered: int
    remaining: int


def send_alert(config: Config, text: str, now: float, *, attempts: int = 3, sleep: Sleep = time.sleep,
               timeout: float = REQUEST_TIMEOUT, budget: DeliveryBudget | None = None) -> Delivery:
    """Deliver ``text`` now, or keep it in the outbox for a later run (ok=False, "queued ...").
    Once ``budget`` refuses (Telegram failed this cycle, time or cap used up) nothing is tried."""
    if not config.telegram_configured:
        return Delivery(False, "telegram not configured", "unconfigured")
    text = cap_text(text)
    if not text.strip():
        return Delivery(False, "empty alert, not sent")
    budget = budget or _lone_budget()
    refused = budget.refusal()
    if refused is not None:
        return _queue(config, text, now, refused)
    send = partial(send_message, config, attempts=attempts, sleep=sleep, timeout=timeout, budget=budget)
    if budget.outbox_error is None and pending_count(config):  # older alerts go first
        flushed = _flush(config, now, send, budget)
        if flushed.remaining and budget.outbox_error is None:
            return _queue(config, text, now, f"{flushed.remaining} earlier alert(s) still undelivered")
    # An outbox that cannot be updated (a full disk) likely cannot take this alert either: it
    # goes out directly, once; being in no file, nothing can send it again.
    delivery = send(text)
    return delivery if delivery.ok else _queue(config, text, now, delivery.detail)


def flush_outbox(config: Config, now: float, *, attempts: int = 3, sleep: Sleep = time.sleep,
                 timeout: float = REQUEST_TIMEOUT, budget: DeliveryBudget | None = None) -> tuple[int, int]:
    """Deliver queued alerts oldest first; stop at the first failure, when ``budget`` is used up
    or when the outbox cannot be updated. Returns (delivered, remaining)."""
    if not config.telegram_configured:
        return 0, pending_count(config)
    budget = budget or _lone_budget()
    send = partial(send_message, config, attempts=attempts, sleep=sleep, timeout=timeout, budget=budget)
    flushed = _flush(config, now, send, budget)
    return flushed.delivered, flushed.remaining


def _lone_budget() -> DeliveryBudget:
    """For a call outside a cycle: a minute, and no cap below the outbox's own size."""
    return DeliveryBudget(FLUSH_BUDGET_SECONDS, MAX_ENTRIES)


def pending_count(config: Config) -> int:
    """How many alerts wait in the outbox."""
    return len(_read(_outbox(config))[0])


def pending_alerts(config: Config) -> list[dict[str, Any]]:
    return _read(_outbox(config))[0]


def _flush(config: Config, now: float, send: Send, budget: DeliveryBudget) -> _Flush:
    if budget.outbox_error is not None:  # said once already; the outbox waits for the next cycle
        return _Flush(0, pending_count(config))
    try:
        with FileLock(config.state_dir / OUTBOX_FLUSH_LOCK):
            return _flush_locked(config, now, send, budget)
    except LockBusy:  # another process is flushing; it re-reads the file and will take ours too
        return _Flush(0, pending_count(config))
    except OSError as exc:
        _stuck(config, budget, str(exc))
        return _Flush(0, pending_count(config))


def _flush_locked(config: Config, now: float, send: Send, budget: DeliveryBudget) -> _Flush:
    delivered = 0
    while True:
        head, remaining = _reconcile(config)
        if head is None or budget.refusal() is not None:
            return _Flush(delivered, remaining)
        if head["id"] in budget.sent_ids:  # still at the head after we sent it: never twice a cycle
            _stuck(config, budget, "a delivered alert is still queued")
            return _Flush(delivered, remaining)
        budget.sent_ids.add(head["id"])
        result = send(head["text"])
        if not result.ok:
            _mark_failed(config, head["id"], result.detail)
            return _Flush(delivered, remaining)
        delivered += 1
        if not _settle(config, budget, head["id"], now):
            return _Flush(delivered, remaining)


def _settle(config: Config, budget: DeliveryBudget, entry_id: str, now: float) -> bool:
    """Record a delivered entry and take it off the outbox. False, with one error, when it stays
    queued (a full disk, typically): looping on would send the same head again at once."""
    with contextlib.suppress(OSError):  # harmless when the removal works; reported with it if not
        _record_delivered(config, entry_id, now)
    try:
        _remove(config, entry_id)
    except OSError as exc:
        if _still_queued(config, entry_id):
            _stuck(config, budget, f"a delivered alert could not be removed from the outbox ({exc})")
            return False
    return True


def _stuck(config: Config, budget: DeliveryBudget, why: str) -> None:
    """The outbox cannot be updated: stop flushing for this cycle, with one clear error."""
    budget.outbox_error = f"outbox delivery stopped for this cycle: {why}"
    note(budget.outbox_error, config.secrets())


def _still_queued(config: Config, entry_id: str) -> bool:
    try:
        return any(e["id"] == entry_id for e in _read(_outbox(config))[0])
    except OSError:
        return True


# --- file operations, each under the outbox lock ----------------------------------------------

def _outbox(config: Config) -> Path:
    return config.state_dir / OUTBOX


def _ledger(config: Config) -> Path:
    return config.state_dir / OUTBOX_DELIVERED


@contextlib.contextmanager
def _guard(config: Config) -> Iterator[None]:
    """Exclusive flock on ``outbox.lock``, waiting up to LOCK_WAIT_SECONDS."""
    config.state_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    # never through a planted symlink: it, or a directory or FIFO in its place, is moved aside
    fd = create_state_file(config.state_dir / OUTBOX_LOCK, os.O_RDWR, 0o600)
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
    """Raises OSError; if the ledger got the id, the next flush drops the entry unsent."""
    with _guard(config):
        entries, damaged = _read(_outbox(config))
        keep = [e for e in entries if e["id"] != entry_id]
        _write(_outbox(config), keep, aside=damaged)
        _prune_ledger(config, {e["id"] for e in keep})


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
    append_jsonl(_ledger(config), {"id": entry_id, "ts": iso_z(now)}, mode=0o600)
    fsync_path(_ledger(config))


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
