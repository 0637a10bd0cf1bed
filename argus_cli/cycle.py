"""One Argus cycle, the steps of ARCHITECTURE.md §1:

    lock → log rotation + outbox → self-check → disk guard → orphan sweep → collect
         → incidents → pre-screen → decide → act → notify → record

``run_cycle`` returns the cycles.jsonl line it appended. The clock, the snapshot source and
the sleep used between delivery retries are parameters, so a test can run a whole simulated
day in-process against real state files.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from argus_cli.config import Config
from argus_cli.decide import engine, prescreen
from argus_cli.decide.prescreen import Gate
from argus_cli.decide.rules import BLIND_CONDITIONS as BLIND
from argus_cli.decide.rules import Finding, findings
from argus_cli.model import ActionResult, Decision
from argus_cli.redaction import redact
from argus_cli.runtime import records
from argus_cli.runtime.guard import CycleTimeout, Guard, Interrupted
from argus_cli.runtime.log import cycle_log
from argus_cli.runtime.records import CycleRecord
from argus_cli.snapshot import Snapshot
from argus_cli.state import layout
from argus_cli.state.files import owning_state
from argus_cli.state.layout import CycleState
from argus_cli.state.lock import FileLock, LockBusy

if TYPE_CHECKING:  # psutil loads when the sweep reads the table
    from argus_cli.control.quiet import Quiet
    from argus_cli.incidents.book import Book
    from argus_cli.processes import ProcessRow

Collect = Callable[[float], Snapshot]
MAX_ERRORS = 20  # collector errors listed in one cycles.jsonl line
MAX_FINDINGS = 30  # findings listed in one cycles.jsonl line (argus explain shows them)


def run_cycle(config: Config, *, dry_run: bool = False, decider: str | None = None, now: float | None = None,
              clock: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep, collect: Collect | None = None,
              install_signals: bool = True) -> dict[str, object]:
    """Run one cycle; never raises for a failed step (the record says what failed)."""
    record = CycleRecord(now=clock() if now is None else now, dry_run=dry_run)
    started = monotonic()
    lock = FileLock(config.state_dir / layout.CYCLE_LOCK)
    try:
        lock.acquire()                                                        # 1. lock
    except LockBusy:
        return _skipped(config, record)
    except OSError as exc:  # a read-only state fs, a symlink planted as the lock: one line, no traceback
        return _unlocked(config, record, exc)
    # The lock holder owns the state: an unusable file it reads is moved aside (ARCHITECTURE.md §4).
    with owning_state():
        try:
            with cycle_log(config) as (log, rotated), \
                    Guard(config.cycle_timeout, install_signals) as guard:  # 2. rotation (on open)
                cycle = _Cycle(config, record, log, guard, decider=decider, sleep=sleep, collect=collect)
                cycle.log_rotated = rotated
                cycle.run(started, monotonic)
        except (Exception, Interrupted, CycleTimeout) as exc:  # noqa: BLE001 - before the steps could record
            _failed_outside_steps(config, record, exc)
        finally:
            lock.release()
    return record.line()


def _alive(processes: list[ProcessRow]) -> Callable[[int, float | None], bool]:
    """Is this process (PID and start time) in the table read this cycle?"""
    started = {p.pid: p.create_time for p in processes}

    def alive(pid: int, create_time: float | None) -> bool:
        if pid not in started:
            return False
        now = started[pid]
        return create_time is None or now is None or abs(now - create_time) <= 1.0

    return alive


def _failed_outside_steps(config: Config, record: CycleRecord, exc: BaseException) -> None:
    """Whatever goes wrong once the lock is held (also a signal or the time limit while the cycle
    sets up) leaves a ``failed`` line and counts as a failure."""
    if isinstance(exc, Interrupted | CycleTimeout):
        record.fail("interrupted" if isinstance(exc, Interrupted) else "timeout")
    else:
        record.fail(redact(f"unexpected error: {type(exc).__name__}: {exc}", config.secrets())[:300])
    print(f"argus: cycle failed: {record.detail}", file=sys.stderr)
    state = layout.CYCLE_STATE.name
    for name, write in ((layout.CYCLES, lambda: records.append_minimal_cycle(config, record)),
                        (state, lambda: records.write_state(config, records.read_state(config), record))):
        try:
            write()
        except Exception as again:  # noqa: BLE001 - stderr is all that is left
            print(f"argus: cannot write {name}: {type(again).__name__}: {again}", file=sys.stderr)


def _skipped(config: Config, record: CycleRecord) -> dict[str, object]:
    record.status, record.detail = "skipped", "another argus cycle holds the lock"
    print(f"argus: {record.detail} ({config.state_dir / layout.CYCLE_LOCK}); skipped", file=sys.stderr)
    try:
        records.append_cycle(config, record)
        with cycle_log(config, may_rotate=False) as (log, _):
            log.info("cycle skipped: %s", record.detail)
    except OSError as exc:
        print(f"argus: cannot record the skipped cycle: {exc}", file=sys.stderr)
    return record.line()


def _unlocked(config: Config, record: CycleRecord, exc: OSError) -> dict[str, object]:
    """The lock could not even be opened: nothing may run unlocked, so the cycle fails here."""
    record.fail(f"cannot take the cycle lock {config.state_dir / layout.CYCLE_LOCK}: {exc.strerror or exc}")
    print(f"argus: {record.detail}", file=sys.stderr)
    with contextlib.suppress(OSError):  # usually fails the same way (read-only); a symlinked lock still leaves a record
        records.append_cycle(config, record)
    return record.line()


class _Cycle:
    """The steps of one locked cycle. Each step returns what the next needs and ``run`` threads it
    through; what the cycle reports goes into ``record``. A failed step is recorded and the cycle
    goes on where it can."""

    def __init__(self, config: Config, record: CycleRecord, log: logging.Logger, guard: Guard, *,
                 decider: str | None, sleep: Callable[[float], None], collect: Collect | None) -> None:
        self.config, self.record, self.log, self.guard = config, record, log, guard
        self.decider, self.sleep, self.collect_fn = decider, sleep, collect
        self.dry_run, self.now = record.dry_run, record.now
        self.log_rotated = False
        self.quiet: Quiet | None = None  # silences and the maintenance window, read with the incidents
        self.quiet_told: list[dict[str, object]] = []  # what the end of a silence or window announced
        self.approved_now: frozenset[str] = frozenset()  # approved requests that ran this cycle
        self.snapshot: Snapshot | None = None  # what this cycle measured, once it got that far
        from argus_cli.control.maintenance import effective_autonomy
        # what may run on its own this cycle: ARGUS_AUTONOMY, or observe inside a maintenance window
        self.autonomy, self.window = effective_autonomy(config, self.now)
        record.autonomy = str(self.autonomy)
        record.mode = "observe" if self.autonomy.observes_all() else "act"
        if self.window is not None:
            record.extra["maintenance"] = self.window.text
        from argus_cli.notify.budget import DeliveryBudget
        # One Telegram allowance (time and messages) for every sender of this cycle: a dead
        # Telegram costs the cycle ARGUS_TELEGRAM_BUDGET_SECONDS once, not once per alert.
        self.delivery = DeliveryBudget.for_cycle(config)

    def run(self, started: float, monotonic: Callable[[], float]) -> None:
        self.log.info("cycle start%s", " (dry run)" if self.dry_run else "")
        previous = CycleState()  # what cycle-state.json said, once the self-check has read it
        decided: engine.Decided | None = None
        book: Book | None = None
        results: list[ActionResult] = []  # filled as each action ends, so a time-out keeps what ran
        try:
            self.guard.stop_if_asked()  # a SIGTERM that came while Python was still starting
            self.rotate_records()                                          # 2. rotation
            outbox = self.deliver_outbox()                                 #    outbox
            self.read_answers()                                            #    approvals
            previous, self_check = self.check_self(outbox)                 # 3. self-check
            disk_full = self.check_disk()                                  # 4. disk guard
            processes = self.sweep_orphans()                               # 5. orphan sweep
            snapshot = self.collect(processes)                             # 6. collect
            self.snapshot = snapshot  # its measurements go to metrics.jsonl with the records
            if snapshot is not None:
                found = findings(snapshot, self.config)  # once: for incidents, the pre-screen, the LLM, the rules
                book, found = self.track(snapshot, found, processes)       # 7. incidents
                gate = self.prescreen(snapshot, found, disk_full)          # 8. pre-screen
                decided = self.decide(snapshot, found, gate, self_check, book)  # 9. decide
                self.act(decided.decision, snapshot, results, book)        # 10. act
                self.notify(decided, book)                                 # 11. notify
                self.judge_health(found, book)
        except Interrupted as exc:
            self.record.fail("interrupted")
            self.log.warning("cycle interrupted by %s", exc)
        except CycleTimeout as exc:
            self.record.fail("timeout")
            self.log.error("%s", exc)
        except Exception as exc:  # a bug in one step must still leave a consistent record
            self.record.fail(redact(f"unexpected error: {type(exc).__name__}: {exc}", self.config.secrets())[:300])
            self.log.exception("cycle failed")
        finally:
            self.guard.quiet()
            self.record.duration_ms = int((monotonic() - started) * 1000)
            self.write_records(previous, decided, results, book)           # 12. record

    def _step_failed(self, step: str, exc: Exception) -> None:
        message = redact(f"{step}: {type(exc).__name__}: {exc}", self.config.secrets())[:300]
        self.record.errors.append(message)
        self.record.fail(f"{step} failed")
        self.log.error("%s", message)

    # 2 ------------------------------------------------------------------------------------------
    def rotate_records(self) -> None:
        """Records past ARGUS_RECORDS_MAX_MB rotate before this cycle writes to them; a dry run
        leaves the files as they are."""
        if self.dry_run:
            return
        rotated, errors = records.rotate_records(self.config)
        if rotated:
            self.record.extra["records_rotated"] = rotated
            self.log.info("records rotated: %s", ", ".join(rotated))
        for error in errors:  # the cycle goes on: the record only grows past its bound
            self.record.errors.append(error)
            self.log.warning("%s", error)

    def deliver_outbox(self) -> dict[str, int] | None:
        """Queued alerts delivered and still queued; None when the outbox was not flushed."""
        if self.dry_run or not self.config.telegram_configured:
            return None  # a dry run leaves the outbox untouched; without Telegram nothing could be delivered
        from argus_cli.notify.outbox import flush_outbox
        try:
            delivered, queued = flush_outbox(self.config, self.now, sleep=self.sleep, budget=self.delivery)
        except Exception as exc:  # noqa: BLE001 - an outbox problem must not stop the watchdog
            self._step_failed("outbox", exc)
            return None
        self._note_outbox_error()
        outbox = {"delivered": delivered, "queued": queued}
        self.record.extra["outbox"] = outbox
        if delivered or queued:
            self.log.info("outbox: %d delivered, %d still queued", delivered, queued)
        return outbox

    def read_answers(self) -> None:
        """The operator's answers to actions waiting for approval (Telegram buttons); requests
        that waited too long expire. A dry run leaves them alone."""
        if self.dry_run or not (self.config.state_dir / layout.APPROVALS.name).exists():
            return  # nothing was ever asked: a quiet host does not load the approvals code
        from argus_cli.control.asking import read_answers
        try:
            summary = read_answers(self.config, self.now, self.delivery)
        except Exception as exc:  # noqa: BLE001 - approvals trouble must not stop the watchdog
            self._step_failed("approvals", exc)
            return
        if summary:
            self.record.extra["approvals"] = summary
            error = summary.get("error")
            if isinstance(error, str):
                self.record.errors.append(error)
            self.log.info("approvals: %s", summary)

    # 3 ------------------------------------------------------------------------------------------
    def check_self(self, outbox: dict[str, int] | None) -> tuple[CycleState, dict[str, object]]:
        """The previous cycle's state, and the self-check the LLM is shown (it alerts after
        repeated failures)."""
        previous = records.read_state(self.config)
        self_check: dict[str, object] = {
            "previous_status": previous.status or None, "previous_detail": previous.detail,
            "consecutive_failures": previous.consecutive_failures or 0, "log_rotated": self.log_rotated,
            "outbox": outbox}
        due = records.self_alert_due(previous)
        if due is not None:
            alert = self._self_alert(previous, due)
            self_check["self_alert"] = alert
            self.record.extra["self_monitor"] = {"consecutive_failures": due, "alert": alert}
        return previous, self_check

    def _self_alert(self, previous: CycleState, failures: int) -> str:
        text = (f"[{socket.gethostname()}] Argus self-monitor: {failures} consecutive cycles failed; "
                f"last: {previous.detail or 'no detail'}")
        self.log.warning("self-monitor: %d consecutive failures", failures)
        if self.dry_run:
            return "dry run: would alert"
        from argus_cli.notify.outbox import send_alert
        try:
            delivery = send_alert(self.config, text, self.now, budget=self.delivery)
        except Exception as exc:  # noqa: BLE001
            self._step_failed("self-monitor alert", exc)
            return "failed"
        records.mark_self_alerted(self.config, previous, failures)
        return "sent" if delivery.ok else delivery.detail

    # 4 ------------------------------------------------------------------------------------------
    def check_disk(self) -> bool:
        """True when the state disk is nearly full: the operator is alerted and the LLM skipped."""
        guard = records.disk_guard(self.config)
        if not guard.tripped:
            return False
        minimum = self.config.min_free_mb
        message = (f"EMERGENCY: only {guard.free_mb} MB free on {guard.path} (ARGUS_MIN_FREE_MB={minimum}); "
                   "the LLM is skipped until space is freed")
        self.record.fail(f"disk guard: {guard.free_mb} MB free on {guard.path}")
        self.log.error("%s", message)
        alert = Decision("disk guard", [{"type": "alert", "message": message}], decider="rules")
        results: list[ActionResult] = []
        self._execute(alert, None, results)
        self.record.extra["disk_guard"] = {"path": guard.path, "free_mb": guard.free_mb,
                                           "alert": results[0].to_dict() if results else None}
        return True

    # 5 ------------------------------------------------------------------------------------------
    def sweep_orphans(self) -> list[ProcessRow] | None:
        """The process table less what the sweep ended, for the collectors; None when it failed."""
        from argus_cli.actions.orphan_sweep import sweep_orphans
        from argus_cli.processes import read_process_table
        try:
            table = read_process_table()  # read once: the sweep and then the collectors use it
            # the sweep kills as kill_pid does: only when ARGUS_AUTONOMY lets kill_pid act on its own
            sweep = sweep_orphans(self.config, self.now, dry_run=self.dry_run, processes=table,
                                  observe=self.autonomy.level("kill_pid") != "act")
        except Exception as exc:  # noqa: BLE001
            self._step_failed("orphan sweep", exc)
            return None
        self.record.extra["orphan_sweep"] = sweep
        ended = {*sweep["killed"], *sweep["children_killed"]}
        if ended:
            self.log.warning("orphan sweep killed %s", sweep["killed"])
        return [p for p in table if p.pid not in ended]

    # 6 ------------------------------------------------------------------------------------------
    def collect(self, processes: list[ProcessRow] | None) -> Snapshot | None:
        try:
            if self.collect_fn is not None:
                snapshot = self.collect_fn(self.now)
            else:
                from argus_cli.collectors import take_snapshot
                snapshot = take_snapshot(self.config, self.now, processes=processes)
        except Exception as exc:  # noqa: BLE001
            self._step_failed("collect", exc)
            return None
        errors = [f"collector {e.collector}: {e.error}" for e in snapshot.errors]
        # one entry per item a collector missed (a disk path): many items must not bloat every line
        self.record.errors.extend(errors[:MAX_ERRORS])
        if len(errors) > MAX_ERRORS:
            self.record.errors.append(f"... and {len(errors) - MAX_ERRORS} more collector error(s)")
        return snapshot

    # 7 ------------------------------------------------------------------------------------------
    def track(self, snapshot: Snapshot, found: list[Finding],
              processes: list[ProcessRow] | None) -> tuple[Book | None, list[Finding]]:
        """Open, refresh and resolve incidents from the findings, after judging what last cycle's
        actions did (ARCHITECTURE.md §8). Returns the book (None when it cannot be kept this
        cycle: then every finding counts at once) and the findings, those that must hold a while
        and have not yet as notes."""
        from argus_cli.control.quiet import Quiet
        from argus_cli.decide.rules import unconfirmed
        from argus_cli.incidents import subjects
        from argus_cli.incidents.book import Book
        try:
            self.quiet = Quiet.load(self.config, self.window, self.now)
            book = Book.load(self.config, self.now)
            book.muted = self.quiet.muted
            pending = book.confirm({f.key: f.after for f in found if f.after > 1})
            found = [unconfirmed(f, pending[f.key]) if f.key in pending else f for f in found]
            alive = None if processes is None else _alive(processes)
            book.check_outcomes(snapshot, alive)
            book.observe(((f.subject, f.condition, f.severity, f.text, f.page) for f in found if f.severity != "info"),
                         subjects.measured(snapshot))
        except Exception as exc:  # noqa: BLE001 - without incidents the cycle still guards the host
            self._step_failed("incidents", exc)
            return None, found
        try:  # before the decision's alerts: the end of a silence is what tells its incidents
            self.quiet_told = self.end_quiet(book)
        except Exception as exc:  # noqa: BLE001
            self._step_failed("end of silences", exc)
        for key in book.opened:
            self.log.info("incident opened: %s", key)
        return book, found

    # 8 ------------------------------------------------------------------------------------------
    def prescreen(self, snapshot: Snapshot, found: list[Finding], disk_full: bool) -> Gate:
        if disk_full:
            return Gate(False, "disk_guard")
        return prescreen.gate(self.config, snapshot, found, now=self.now, override=self.decider)

    # 9 ------------------------------------------------------------------------------------------
    def decide(self, snapshot: Snapshot, found: list[Finding], gate: Gate,
               self_check: dict[str, object], book: Book | None) -> engine.Decided:
        decided = engine.decide_gated(self.config, snapshot, found, gate, now=self.now,
                                      self_check=self_check, remember=not self.dry_run,
                                      # built only for a call: a quiet cycle does not list what no one reads
                                      incidents=book.for_decider() if book is not None and gate.call else ())
        decision = decided.decision
        self.record.decider, self.record.assessment = decision.decider, decision.assessment
        self.record.llm_called, self.record.llm_skip_reason = decided.llm_called, decided.llm_skip_reason
        self.record.llm_reason, self.record.llm_error = decided.llm_reason, decided.llm_error
        self.record.usage, self.record.model = decision.usage, decision.model
        if decision.decider == "fallback" and self.record.status == "ok":
            self.record.status = "fallback"
            self.record.detail = decided.llm_error or f"LLM not asked: {decided.llm_skip_reason}"
        self.log.info("decided by %s (llm %s): %d action(s)", decision.decider,
                      "called" if decided.llm_called else f"skipped: {decided.llm_skip_reason}",
                      len(decision.actions))
        return decided

    # 10 -----------------------------------------------------------------------------------------
    def act(self, decision: Decision, snapshot: Snapshot, results: list[ActionResult], book: Book | None) -> None:
        self.run_approved(snapshot, book)
        if decision.actions:  # nothing to run: do not even load the actions layer
            self._execute(decision, snapshot, results, book)

    def run_approved(self, snapshot: Snapshot, book: Book | None) -> None:
        """What the operator approved since the last cycle, checked against this snapshot first."""
        if self.dry_run or not (self.config.state_dir / layout.APPROVALS.name).exists():
            return
        from argus_cli.actions.execute import run_approved
        with self.guard.deferred():
            try:
                ran = run_approved(self.config, snapshot, now=self.now, delivery=self.delivery, incidents=book,
                                   should_stop=self.guard.should_stop, autonomy=self.autonomy)
            except Exception as exc:  # noqa: BLE001
                self._step_failed("approved actions", exc)
                return
        self.approved_now = frozenset(f"{r['type']} {r['target']}" for r in ran if r["state"] == "done")
        if ran:
            approvals = self.record.extra.setdefault("approvals", {})
            if isinstance(approvals, dict):
                approvals["ran"] = ran
            for entry in ran:
                self.log.warning("approved request %s: %s %s %s: %s", entry["request"], entry["type"],
                                 entry["target"], entry["state"], entry["detail"])

    # 11 -----------------------------------------------------------------------------------------
    def notify(self, decided: engine.Decided, book: Book | None) -> None:
        """Resolved notices, reminders, flapping, escalations: what the incidents call for."""
        if book is None:
            return
        from argus_cli.decide.prescreen import degraded
        from argus_cli.incidents.notify import send_due
        try:
            answered = decided.decision.decider == "llm"
            failing = decided.llm_called or decided.llm_skip_reason == "backoff"  # asked, or held off after failures
            retired = decided.llm_skip_reason in ("decider_rules", "no_api_key")  # the operator turned it off
            book.decider(degraded(self.config, self.now) if failing and not answered else None, answered=answered,
                         retired=retired)
            book.settle(decider_asked=answered)
            sent = self.quiet_told + send_due(self.config, book, dry_run=self.dry_run, delivery=self.delivery)
        except Exception as exc:  # noqa: BLE001
            self._step_failed("incident notices", exc)
            return
        self._note_outbox_error()
        for notice in sent:
            self.log.info("%s: %s notice %s", notice.get("fingerprint") or notice.get("what"), notice["kind"],
                          notice["status"])
        self.record.extra["notices"] = sent

    def end_quiet(self, book: Book) -> list[dict[str, object]]:
        """Announce the silences and the maintenance window that ended since the last cycle."""
        quiet = self.quiet
        if quiet is None or not quiet.changed():
            return []
        ended = quiet.ended()
        told: list[dict[str, object]] = []
        announced = True
        if ended:
            from argus_cli.incidents.notify import send_quiet_ends
            told, announced = send_quiet_ends(self.config, book, ended, dry_run=self.dry_run, delivery=self.delivery)
        if not self.dry_run and announced:  # not told: the next cycle tries again
            quiet.record(self.config, [e.silence_id for e in ended if e.silence_id is not None])
        return told

    def judge_health(self, found: list[Finding], book: Book | None) -> None:
        """``health`` and ``open_findings`` of this cycle's record: the open incidents' worst
        severity (a problem blind spots are graded by, e.g. a service unknown for long), else
        ``blind`` when any check could not see, else ``ok``."""
        problems = [f for f in found if f.severity != "info"]
        severities = [f.severity for f in problems if not f.blind]
        if book is not None:
            severities += [i.severity for i in book.open.values() if not i.absent and i.condition not in BLIND]
        blind = any(f.blind for f in found) or (book is not None and any(
            i.condition in BLIND for i in book.open.values()))
        self.record.health = records.health_of(severities, blind)
        self.record.open_findings = len(problems)
        self.record.findings = [{"subject": f.subject, "condition": f.condition, "severity": f.severity,
                                 "text": f.text[:200]} for f in found[:MAX_FINDINGS]]

    def _execute(self, decision: Decision, snapshot: Snapshot | None, results: list[ActionResult],
                 book: Book | None = None) -> None:
        """Run actions with signals deferred: SIGTERM stops the cycle between two actions. Each
        result is appended to ``results`` as its action ends."""
        from argus_cli.actions.execute import execute_decision
        with self.guard.deferred():  # raises Interrupted after the block if a signal came in
            try:
                execute_decision(self.config, decision, snapshot, dry_run=self.dry_run, now=self.now,
                                 should_stop=self.guard.should_stop, results=results, delivery=self.delivery,
                                 incidents=book, autonomy=self.autonomy, approved_now=self.approved_now)
            except Exception as exc:  # noqa: BLE001
                self._step_failed("act", exc)
            finally:
                self._log_results(results)
                self._note_outbox_error()

    def _note_outbox_error(self) -> None:
        """An outbox that cannot be updated (a full disk) stops delivery: one error in the record."""
        error = self.delivery.outbox_error
        if error is not None and error not in self.record.errors:
            self.record.errors.append(error)
            self.log.error("%s", error)

    def _log_results(self, results: list[ActionResult]) -> None:
        for result in results:
            self.log.info("action %d %s %s: %s %s", result.index, result.type, result.target or "",
                          result.status, result.detail)

    # 12 -----------------------------------------------------------------------------------------
    def write_records(self, previous: CycleState, decided: engine.Decided | None,
                      results: list[ActionResult], book: Book | None) -> None:
        if book is not None:
            self.record.extra["incidents"] = book.summary()
        for name, write in self._writes(previous, decided, results, book):
            try:
                write()
            except OSError as exc:  # e.g. a full disk: say so, keep writing the others
                print(f"argus: cannot write {name}: {exc}", file=sys.stderr)
                self.log.error("cannot write %s: %s", name, exc)
            except Exception as exc:  # noqa: BLE001 - a value no writer can take: the cycle failed, say why
                self._unwritable(name, exc)
        self.log.info("cycle end: status=%s decider=%s llm_called=%s duration_ms=%d%s", self.record.status,
                      self.record.decider, self.record.llm_called, self.record.duration_ms,
                      f" detail={self.record.detail}" if self.record.detail else "")

    def _append_metrics(self, snapshot: Snapshot) -> None:
        """The measurements feed trends only: a line that cannot be written is logged, never a
        failed cycle (a full disk is still an OSError for the caller, said as such)."""
        from argus_cli.runtime import metrics
        try:
            metrics.append(self.config, snapshot, self.now)
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - a value the line cannot take: leave the line out
            self.log.error("metrics.jsonl: line left out: %s: %s", type(exc).__name__, exc)

    def _publish_textfile(self, previous: CycleState) -> None:
        """ARGUS_PROMETHEUS_TEXTFILE (runtime/textfile.py): a failure is in this cycle's errors,
        never a failed cycle."""
        from argus_cli.runtime.textfile import publish
        record = self.record
        state = records.next_state(previous, record.status, record.detail, record.now, record.effective_mode)
        published = publish(self.config, record.line(), state, log=self.log, now=self.now)
        record.errors.extend(published.errors)
        if published.seeded is not None:
            record.extra["prometheus_seeded"] = published.seeded

    def _write_decision(self, decision: Decision, results: list[ActionResult]) -> None:
        self.record.actions = records.action_summaries(decision, results)
        records.write_last_decision(self.config, decision, results, self.record)

    def _unwritable(self, name: str, exc: Exception) -> None:
        """A record that cannot be serialised is a bug: fail the cycle with a one-line reason, and if
        it was cycles.jsonl's own line, write a minimal one so the failure is still counted."""
        reason = redact(f"cannot write {name}: {type(exc).__name__}: {exc}", self.config.secrets())[:300]
        self.record.fail(reason)
        self.log.error("%s", reason)
        print(f"argus: {reason}", file=sys.stderr)
        if name == layout.CYCLES:
            try:
                records.append_minimal_cycle(self.config, self.record)
            except Exception as again:  # noqa: BLE001 - stderr is all that is left
                print(f"argus: cannot write {name} at all: {type(again).__name__}", file=sys.stderr)

    def _writes(self, previous: CycleState, decided: engine.Decided | None, results: list[ActionResult],
                book: Book | None) -> list[tuple[str, Callable[[], object]]]:
        """The files this cycle leaves, in write order: the incidents and the decision before the
        cycles.jsonl line that names them; a dry run writes no raw response and no incidents, and
        its cycle-state.json says it was a dry run (doctor and Prometheus agree with `argus last`)."""
        config, record = self.config, self.record
        writes: list[tuple[str, Callable[[], object]]] = []
        if book is not None and not self.dry_run:
            writes.append((layout.INCIDENTS.name, book.save))
        if decided is not None:
            raw, decision = decided.raw_response, decided.decision
            if raw is not None and not self.dry_run:
                writes.append((layout.LAST_RESPONSE.name, lambda: records.write_last_response(config, raw, self.now)))
            writes.append((layout.LAST_DECISION.name, lambda: self._write_decision(decision, results)))
        if self.snapshot is not None and not self.dry_run:
            snapshot = self.snapshot
            writes.append((layout.METRICS, lambda: self._append_metrics(snapshot)))
        if config.prometheus_textfile is not None and not self.dry_run:  # before the line that says how it went
            writes.append(("prometheus textfile", lambda: self._publish_textfile(previous)))
        writes.append((layout.CYCLES, lambda: records.append_cycle(config, record)))
        writes.append((layout.CYCLE_STATE.name, lambda: records.write_state(config, previous, record)))
        return writes
