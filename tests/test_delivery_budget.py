"""Telegram delivery within one cycle's budget (issue 9, items 3 and 7): a full state filesystem
never turns into a message storm, a cycle sends at most ARGUS_TELEGRAM_MAX_PER_CYCLE messages,
and a Telegram that never answers costs a cycle ARGUS_TELEGRAM_BUDGET_SECONDS once, after the
host-changing actions ran. Real things throughout: a local Bot API, a TCP blackhole, a small
tmpfs, real state files and a systemctl stand-in."""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import mounted_tmpfs
from helpers_actions import actions_env, install_systemctl, recorded, registry, use_env
from helpers_notify import CHAT_ID, TOKEN, FakeTelegram, running, stop, telegram_env

from argus_cli.actions.context import Tuning
from argus_cli.actions.execute import execute_decision
from argus_cli.config import Config, load
from argus_cli.cycle import run_cycle
from argus_cli.model import Decision, iso_z
from argus_cli.notify.budget import DeliveryBudget
from argus_cli.notify.outbox import flush_outbox, pending_alerts, send_alert
from argus_cli.snapshot import Snapshot, parse_snapshot

NOW = 1_770_000_000.0
SCENARIO = Path(__file__).parent / "scenarios" / "service_down.json"  # the rules answer with one alert
FAST = Tuning(active_timeout=0.3, poll_interval=0.05)


def no_sleep(_: float) -> None:
    pass


def service_down(now: float) -> Snapshot:
    snapshot = copy.deepcopy(json.loads(SCENARIO.read_text())["snapshot"])
    snapshot["ts"] = iso_z(now)
    return parse_snapshot(snapshot)


class Blackhole:
    """Telegram behind a dead route: accepts TCP connections, reads nothing, never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.accepted: list[socket.socket] = []
        self.closing = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.closing:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)
            self.on_connection(conn)

    def on_connection(self, conn: socket.socket) -> None:
        """A blackhole reads nothing and never answers."""

    def close(self) -> None:
        self.closing = True
        self.thread.join(timeout=2)
        for conn in [*self.accepted, self.listener]:
            conn.close()


class Drip(Blackhole):
    """Telegram behind a server that answers one byte every 0.2 s, for ever: each socket read is
    on time, the request as a whole never ends."""

    def on_connection(self, conn: socket.socket) -> None:
        threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not self.closing:
                conn.sendall(b"X")
                time.sleep(0.2)


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


@pytest.fixture
def server() -> Iterator[FakeTelegram]:
    fake = running(FakeTelegram())
    yield fake
    stop(fake)


def dead_telegram_env(env: dict[str, str], hole: Blackhole, seconds: int = 2) -> dict[str, str]:
    return {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT_ID,
            "ARGUS_TELEGRAM_API_BASE": hole.base, "ARGUS_TELEGRAM_BUDGET_SECONDS": str(seconds)}


def queue_while_down(cfg: Config, server: FakeTelegram, texts: list[str]) -> None:
    """Queue alerts the real way: Telegram refuses them, the outbox keeps them."""
    server.default = "500"
    for text in texts:
        assert send_alert(cfg, text, NOW, attempts=1, sleep=no_sleep).state == "queued"
    server.default, server.requests = "ok", []


# --- item 3: a full state filesystem, the per-cycle cap ---------------------------------------

@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, to be filled up; skipped where this process may not mount one."""
    with mounted_tmpfs(tmp_path / "small", "size=64k,mode=0700") as mount:
        yield mount


def fill(root: Path) -> Path:
    """Write zeros until the filesystem says ENOSPC; the filler file, to free the space again."""
    filler = root / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_full_state_filesystem_sends_a_delivered_alert_once_per_cycle(
        argus_env: dict[str, str], server: FakeTelegram, small_fs: Path,
        capfd: pytest.CaptureFixture[str]) -> None:
    cfg = load(telegram_env({**argus_env, "ARGUS_STATE_DIR": str(small_fs / "state")}, server))
    queue_while_down(cfg, server, ["A", "B"])
    filler = fill(small_fs)
    capfd.readouterr()

    # Telegram takes A; neither the delivery ledger nor the outbox rewrite can be written.
    cycle = DeliveryBudget.for_cycle(cfg)
    started = time.monotonic()
    assert flush_outbox(cfg, NOW, sleep=no_sleep, budget=cycle) == (1, 2)
    assert time.monotonic() - started < 5
    assert server.delivered == {"A": 1}
    # the same cycle goes on: no second flush, and a new alert (it cannot be queued on this
    # disk) goes out directly, once
    assert flush_outbox(cfg, NOW, sleep=no_sleep, budget=cycle) == (0, 2)
    assert send_alert(cfg, "C", NOW, sleep=no_sleep, budget=cycle).ok
    assert server.delivered == {"A": 1, "C": 1}
    err = capfd.readouterr().err
    assert err.count("outbox delivery stopped for this cycle") == 1, err
    assert "No space left on device" in err

    # space is back: the next cycle delivers what is left, A again at most once more
    filler.unlink()
    assert flush_outbox(cfg, NOW + 300, sleep=no_sleep, budget=DeliveryBudget.for_cycle(cfg)) == (2, 0)
    assert server.delivered == {"A": 2, "B": 1, "C": 1}
    assert pending_alerts(cfg) == []


def test_a_cycle_sends_at_most_max_per_cycle_and_queues_the_rest(
        argus_env: dict[str, str], server: FakeTelegram) -> None:
    cfg = load(telegram_env(argus_env, server))
    assert cfg.telegram_max_per_cycle == 20
    texts = [f"old {n:02d}" for n in range(30)]
    queue_while_down(cfg, server, texts)

    line = run_cycle(cfg, now=NOW, decider="rules", collect=service_down, sleep=no_sleep, install_signals=False)

    assert server.order == texts[:20] and len(server.requests) == 20
    assert line["outbox"] == {"delivered": 20, "queued": 10}
    (action,) = line["actions"]
    assert action["type"] == "alert" and "20 message(s) already sent this cycle" in action["detail"]
    left = [e["text"] for e in pending_alerts(cfg)]
    assert left[:10] == texts[20:] and len(left) == 11 and "web" in left[10]  # the new alert, queued last
    # the next cycle takes the next 20: the 10 old ones first, then this cycle's alert
    run_cycle(cfg, now=NOW + 300, decider="rules", collect=service_down, sleep=no_sleep, install_signals=False)
    assert server.order[:30] == texts and "web" in server.order[30]


# --- item 7: a Telegram that never answers ----------------------------------------------------

def test_dead_telegram_costs_one_budget_and_the_restart_runs_first(
        argus_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blackhole: Blackhole) -> None:
    bin_dir = tmp_path / "bin"
    install_systemctl(bin_dir)
    config = use_env(monkeypatch, dead_telegram_env(
        actions_env(argus_env, tmp_path, ARGUS_ALLOWED_SERVICES="web.service"), blackhole))
    actions = [{"type": "alert", "message": "web is down"},
               {"type": "alert", "message": "database latency high"},
               {"type": "restart_service", "target": "web.service", "reason": "web is down"},
               {"type": "alert", "message": "memory pressure on the worker"},
               {"type": "log", "observation": "web restarted after an outage"},
               {"type": "alert", "message": "queue backlog growing"}]

    started = time.monotonic()
    results = execute_decision(config, Decision("t", actions), None, dry_run=False, now=NOW, tuning=FAST)
    elapsed = time.monotonic() - started

    assert [r.index for r in results] == list(range(6))  # still in decision order
    assert results[2].status == "success", results[2].detail
    assert recorded(bin_dir, "systemctl") == [["restart", "web.service"], ["is-active", "web.service"]]
    taken = [p["action_taken"] for p in registry(config)]
    assert taken[0] == "restart_service:web.service"  # it ran before any alert
    assert taken[2:] == ["alert:telegram"] * 4
    alerts = [r for r in results if r.type == "alert"]
    assert all("queued in outbox" in r.detail for r in alerts), [r.detail for r in alerts]
    assert all("telegram failed earlier this cycle" in r.detail for r in alerts[1:])
    assert len(blackhole.accepted) == 1  # one attempt; the others went straight to the outbox
    assert len(pending_alerts(config)) == 4
    assert elapsed < 2 + 3  # about the budget, not 4 x 33 s


def test_one_budget_covers_outbox_self_monitor_and_alert_actions(
        argus_env: dict[str, str], blackhole: Blackhole) -> None:
    config = load(dead_telegram_env(argus_env, blackhole))
    state = config.state_dir
    state.mkdir(parents=True)
    (state / "outbox.jsonl").write_text(json.dumps(
        {"id": "e1", "ts": iso_z(NOW - 600), "text": "queued earlier", "attempts": 1, "last_error": "x"}) + "\n")
    (state / "cycle-state.json").write_text(json.dumps(
        {"status": "failed", "timestamp": iso_z(NOW - 300), "detail": "collect failed", "consecutive_failures": 3}))

    line = run_cycle(config, now=NOW, decider="rules", collect=service_down, sleep=no_sleep, install_signals=False)

    assert line["duration_ms"] < 5000, line  # the 2 s budget once, not 33 s per alert
    assert len(blackhole.accepted) == 1  # the outbox head; nothing else touched the network
    assert line["outbox"] == {"delivered": 0, "queued": 1}
    assert "telegram failed earlier this cycle" in line["self_monitor"]["alert"]
    (action,) = line["actions"]
    assert action["type"] == "alert" and "telegram failed earlier this cycle" in action["detail"]
    queued = [e["text"] for e in pending_alerts(config)]
    assert len(queued) == 3 and queued[0] == "queued earlier"


def test_a_dripping_telegram_is_cut_off_at_the_budget(argus_env: dict[str, str]) -> None:
    drip = Drip()
    try:
        config = load(dead_telegram_env(argus_env, drip))
        config.state_dir.mkdir(parents=True)
        (config.state_dir / "outbox.jsonl").write_text(json.dumps(
            {"id": "e1", "ts": iso_z(NOW - 600), "text": "queued earlier", "attempts": 1, "last_error": "x"}) + "\n")
        line = run_cycle(config, now=NOW, decider="rules", collect=service_down, sleep=no_sleep,
                         install_signals=False)
    finally:
        drip.close()
    assert line["duration_ms"] < 5000, line  # the 2 s budget, not the cycle's 240 s limit
    assert line["status"] == "ok" and line["outbox"] == {"delivered": 0, "queued": 1}
    assert len(drip.accepted) == 1
    assert [e["text"] for e in pending_alerts(config)][:1] == ["queued earlier"]
