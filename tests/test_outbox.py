"""The durable alert outbox: queued when Telegram fails, delivered later exactly once, in order."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from helpers_notify import TOKEN, FakeTelegram, files_containing, telegram_env

from argus_cli.config import Config, load
from argus_cli.notify.outbox import MAX_ENTRIES, flush_outbox, pending_alerts, send_alert

NOW = 1_770_000_000.0


def no_sleep(_: float) -> None:
    pass


@pytest.fixture
def server(telegram: FakeTelegram) -> FakeTelegram:
    return telegram  # conftest's local Bot API


@pytest.fixture
def env(argus_env: dict[str, str], server: FakeTelegram) -> dict[str, str]:
    return telegram_env(argus_env, server)


@pytest.fixture
def cfg(env: dict[str, str]) -> Config:
    return load(env)


def outbox_lines(cfg: Config) -> list[dict[str, object]]:
    path = cfg.state_dir / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def alert(cfg: Config, text: str) -> str:
    return send_alert(cfg, text, NOW, attempts=1, sleep=no_sleep).detail


def test_delivered_alert_leaves_no_outbox(cfg: Config, server: FakeTelegram) -> None:
    delivery = send_alert(cfg, "[h] disk full", NOW, sleep=no_sleep)
    assert delivery.ok
    assert server.delivered == {"[h] disk full": 1}
    assert not (cfg.state_dir / "outbox.jsonl").exists()


def test_failed_alert_is_queued_then_delivered_once(cfg: Config, server: FakeTelegram) -> None:
    server.default = "500"
    first = send_alert(cfg, "A", NOW, attempts=2, sleep=no_sleep)
    assert not first.ok and first.detail.startswith("queued in outbox: telegram HTTP 500")
    # with A still stuck, B waits behind it: Telegram is tried once (for A), not again for B
    second = send_alert(cfg, "B", NOW + 60, attempts=2, sleep=no_sleep)
    assert second.detail == "queued in outbox: 1 earlier alert(s) still undelivered"
    assert len(server.requests) == 4
    lines = outbox_lines(cfg)
    assert [e["text"] for e in lines] == ["A", "B"]
    assert set(lines[0]) == {"id", "ts", "text", "attempts", "last_error"}
    assert lines[0]["attempts"] == 2 and lines[0]["ts"] == "2026-02-02T02:40:00Z"

    server.default = "ok"
    assert flush_outbox(cfg, NOW + 300, sleep=no_sleep) == (2, 0)
    assert server.order == ["A", "B"] and server.delivered == {"A": 1, "B": 1}
    assert flush_outbox(cfg, NOW + 600, sleep=no_sleep) == (0, 0)
    assert server.delivered == {"A": 1, "B": 1}
    assert not (cfg.state_dir / "outbox.jsonl").exists()


def test_next_alert_flushes_the_outbox_first(cfg: Config, server: FakeTelegram) -> None:
    server.default = "500"
    alert(cfg, "old")
    server.default = "ok"
    assert send_alert(cfg, "new", NOW, sleep=no_sleep).ok
    assert server.order == ["old", "new"]
    assert outbox_lines(cfg) == []


def test_flush_stops_at_first_failure_and_keeps_order(cfg: Config, server: FakeTelegram) -> None:
    server.default = "500"
    for text in ("A", "B", "C"):
        alert(cfg, text)
    server.default = "ok"
    server.fail_next("ok", "400")  # A goes through, B is refused once
    assert flush_outbox(cfg, NOW, attempts=1, sleep=no_sleep) == (1, 2)
    lines = outbox_lines(cfg)
    assert [e["text"] for e in lines] == ["B", "C"]
    assert "chat not found" in str(lines[0]["last_error"])
    assert flush_outbox(cfg, NOW, sleep=no_sleep) == (2, 0)
    assert server.order == ["A", "B", "C"]


def test_not_configured_is_not_queued(argus_env: dict[str, str]) -> None:
    cfg = load(argus_env)
    delivery = send_alert(cfg, "x", NOW)
    assert (delivery.ok, delivery.detail) == (False, "telegram not configured")
    assert flush_outbox(cfg, NOW) == (0, 0)
    assert not (cfg.state_dir / "outbox.jsonl").exists()


def test_empty_alert_is_refused_not_queued(cfg: Config, server: FakeTelegram) -> None:
    assert send_alert(cfg, "  \n", NOW).detail == "empty alert, not sent"
    assert server.requests == [] and outbox_lines(cfg) == []


def test_entry_recorded_as_delivered_is_not_resent(cfg: Config, server: FakeTelegram) -> None:
    """The files a crash between the delivery record and the outbox rewrite leaves behind."""
    server.default = "500"
    alert(cfg, "already sent")
    alert(cfg, "still due")
    sent_id = outbox_lines(cfg)[0]["id"]
    (cfg.state_dir / "outbox-delivered.jsonl").write_text(json.dumps({"id": sent_id, "ts": "x"}) + "\n")
    server.default, before = "ok", len(server.requests)
    assert flush_outbox(cfg, NOW, sleep=no_sleep) == (1, 0)
    assert server.order == ["still due"] and len(server.requests) == before + 1
    assert not (cfg.state_dir / "outbox-delivered.jsonl").exists()


FLUSH = "import time; from argus_cli.config import load; from argus_cli.notify.outbox import flush_outbox; " \
        "print(flush_outbox(load(), time.time()))"


def test_killed_mid_flush_loses_nothing_and_repeats_at_most_one(env: dict[str, str], cfg: Config,
                                                               server: FakeTelegram) -> None:
    server.default = "500"
    texts = [f"alert {n:02d}" for n in range(30)]
    for text in texts:
        alert(cfg, text)
    server.default, server.delay = "ok", 0.03
    proc = subprocess.Popen([sys.executable, "-c", FLUSH], env=env)
    deadline = time.monotonic() + 20
    while len(server.order) < 8 and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.kill()  # SIGKILL: no cleanup, the flush lock dies with the process
    proc.wait()
    assert 8 <= len(server.order) < 30
    server.delay = 0
    delivered, remaining = flush_outbox(cfg, NOW, sleep=no_sleep)
    assert delivered > 0 and remaining == 0
    assert set(server.delivered) == set(texts)  # nothing lost
    assert sum(server.delivered.values()) - len(texts) <= 1  # the documented at-least-once window
    assert list(dict.fromkeys(server.order)) == texts  # oldest first throughout


def test_outbox_is_capped_dropping_the_oldest(cfg: Config, server: FakeTelegram,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    cfg.state_dir.mkdir(parents=True)
    old = [{"id": f"id{n}", "ts": "2026-01-01T00:00:00Z", "text": f"old {n}", "attempts": 1}
           for n in range(MAX_ENTRIES)]
    (cfg.state_dir / "outbox.jsonl").write_text("".join(json.dumps(e) + "\n" for e in old))
    server.default = "500"
    alert(cfg, "newest")
    texts = [e["text"] for e in outbox_lines(cfg)]
    assert len(texts) == MAX_ENTRIES
    assert texts[0] == "old 1" and texts[-1] == "newest"
    assert "outbox full (1000 alerts): dropped the 1 oldest" in capfd.readouterr().err


def test_damaged_lines_are_kept_aside_not_lost(cfg: Config, server: FakeTelegram) -> None:
    server.default = "500"
    alert(cfg, "A")
    with (cfg.state_dir / "outbox.jsonl").open("a") as handle:
        handle.write('{"id": "torn", "te\n')
    alert(cfg, "B")
    server.default = "ok"
    assert flush_outbox(cfg, NOW, sleep=no_sleep) == (2, 0)
    assert server.order == ["A", "B"]
    (aside,) = cfg.state_dir.glob("outbox.jsonl.corrupt-*")
    assert '"torn"' in aside.read_text()


def test_token_never_reaches_files_output_or_detail(cfg: Config, server: FakeTelegram,
                                                    capfd: pytest.CaptureFixture[str]) -> None:
    server.default = "echo"  # the server's error text quotes the URL path, token included
    details = [send_alert(cfg, f"alert {n}", NOW, attempts=2, sleep=no_sleep).detail for n in range(3)]
    assert "<redacted>" in pending_alerts(cfg)[0]["last_error"]
    server.default = "ok"
    flush_outbox(cfg, NOW, sleep=no_sleep)
    secret_part = TOKEN.split(":")[1]
    assert files_containing(cfg.state_dir, secret_part) == []
    out, err = capfd.readouterr()
    assert secret_part not in out + err + "".join(details)


SENDER = """
import sys, time
from argus_cli.config import load
from argus_cli.notify.outbox import send_alert
cfg = load()
for k in range(5):
    print(send_alert(cfg, f"p{sys.argv[1]} n{k}", time.time(), attempts=1, sleep=lambda s: None).detail)
"""


def test_concurrent_senders_while_down_queue_each_alert_once(env: dict[str, str], cfg: Config,
                                                             server: FakeTelegram) -> None:
    server.default = "500"
    procs = [subprocess.Popen([sys.executable, "-c", SENDER, str(p)], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in range(6)]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    assert not any(TOKEN.split(":")[1] in out + err for out, err in outputs)
    lines = (cfg.state_dir / "outbox.jsonl").read_text().splitlines()
    texts = [json.loads(line)["text"] for line in lines]  # every line parses
    expected = {f"p{p} n{k}" for p in range(6) for k in range(5)}
    assert sorted(texts) == sorted(expected)  # each exactly once
    server.default = "ok"
    assert flush_outbox(cfg, NOW, sleep=no_sleep) == (30, 0)
    assert server.delivered == dict.fromkeys(expected, 1)
    for p in range(6):  # each sender's alerts stay in its own order
        mine = [t for t in server.order if t.startswith(f"p{p} ")]
        assert mine == [f"p{p} n{k}" for k in range(5)]


# --- entries holding the wrong types ----------------------------------------------------------

def test_outbox_entry_with_wrong_attempts_type_does_not_break_the_flush(tmp_path):
    (tmp_path / "none.env").write_text("")
    config = load({"TELEGRAM_BOT_TOKEN": "1:tok", "TELEGRAM_CHAT_ID": "42", "ARGUS_STATE_DIR": str(tmp_path / "state"),
                   "ARGUS_TELEGRAM_API_BASE": "http://127.0.0.1:9"}, env_file=tmp_path / "none.env")
    config.state_dir.mkdir()
    entry = {"id": "a1", "ts": "2026-01-01T00:00:00Z", "text": "disk full", "attempts": [1], "last_error": "x"}
    (config.state_dir / "outbox.jsonl").write_text(json.dumps(entry) + "\n")
    assert flush_outbox(config, time.time(), attempts=1, sleep=lambda _s: None) == (0, 1)
    assert [e["attempts"] for e in pending_alerts(config)] == [1]
