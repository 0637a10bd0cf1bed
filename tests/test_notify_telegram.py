"""Telegram delivery against a local Bot API server: body, retries, limits, no token leaks."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers_notify import CHAT_ID, TOKEN, FakeTelegram, telegram_env

from argus_cli.config import Config, load
from argus_cli.notify.telegram import MAX_TEXT, send_message


@pytest.fixture
def server(telegram: FakeTelegram) -> FakeTelegram:
    return telegram  # conftest's local Bot API


@pytest.fixture
def cfg(argus_env: dict[str, str], server: FakeTelegram) -> Config:
    return load(telegram_env(argus_env, server))


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def assert_clean(detail: str, server: FakeTelegram) -> None:
    assert TOKEN not in detail
    assert TOKEN.split(":")[1] not in detail
    assert server.base not in detail


def test_posts_json_body_to_bot_api(cfg: Config, server: FakeTelegram) -> None:
    delivery = send_message(cfg, "[web1] disk at 95%", sleep=Sleeps())
    assert delivery.ok, delivery.detail
    (request,) = server.requests
    assert request["path"] == f"/bot{TOKEN}/sendMessage"
    assert request["body"] == {"chat_id": CHAT_ID, "text": "[web1] disk at 95%",
                               "disable_web_page_preview": True, "_content_type": "application/json"}
    assert server.delivered == {"[web1] disk at 95%": 1}


def test_hostile_text_survives_json_encoding(cfg: Config, server: FakeTelegram) -> None:
    text = 'he said "hi"\n\t\\ "}, "chat_id": "666"} $(rm -rf /) \u00e9\u4e2d'
    assert send_message(cfg, text).ok
    assert server.requests[0]["body"]["text"] == text
    assert server.requests[0]["body"]["chat_id"] == CHAT_ID


@pytest.mark.parametrize("failures", [("500", "500"), ("drop", "okfalse"), ("okfalse", "drop")])
def test_retries_then_delivers(cfg: Config, server: FakeTelegram, failures: tuple[str, ...]) -> None:
    server.fail_next(*failures)
    sleeps = Sleeps()
    delivery = send_message(cfg, "recovering", attempts=3, sleep=sleeps)
    assert delivery.ok, delivery.detail
    assert len(server.requests) == 3
    assert sleeps == [1.0, 2.0]  # short, growing backoff
    assert server.delivered == {"recovering": 1}


def test_gives_up_after_attempts_with_safe_detail(cfg: Config, server: FakeTelegram) -> None:
    server.default = "500"
    delivery = send_message(cfg, "down", attempts=3, sleep=Sleeps())
    assert not delivery.ok
    assert len(server.requests) == 3
    assert "HTTP 500" in delivery.detail and "3 attempt" in delivery.detail
    assert_clean(delivery.detail, server)


def test_client_error_is_not_retried(cfg: Config, server: FakeTelegram) -> None:
    server.default = "400"
    delivery = send_message(cfg, "x", attempts=3, sleep=Sleeps())
    assert not delivery.ok and "chat not found" in delivery.detail
    assert len(server.requests) == 1


def test_rate_limit_honours_small_retry_after(cfg: Config, server: FakeTelegram) -> None:
    server.fail_next("429:2")
    sleeps = Sleeps()
    assert send_message(cfg, "x", sleep=sleeps).ok
    assert sleeps == [2.0]


def test_rate_limit_with_long_wait_is_left_to_the_outbox(cfg: Config, server: FakeTelegram) -> None:
    server.fail_next("429:3600")
    sleeps = Sleeps()
    delivery = send_message(cfg, "x", sleep=sleeps)
    assert not delivery.ok and "retry after 3600" in delivery.detail
    assert sleeps == [] and len(server.requests) == 1


def test_timeout_per_request(cfg: Config, server: FakeTelegram) -> None:
    server.fail_next("hang:3", "hang:3")
    started = time.monotonic()
    delivery = send_message(cfg, "slow", attempts=2, sleep=Sleeps(), timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert not delivery.ok and "network error" in delivery.detail
    assert_clean(delivery.detail, server)


def test_connection_refused_is_retried(argus_env: dict[str, str], server: FakeTelegram) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = load({**telegram_env(argus_env, server), "ARGUS_TELEGRAM_API_BASE": f"http://127.0.0.1:{port}"})
    sleeps = Sleeps()
    delivery = send_message(cfg, "x", attempts=3, sleep=sleeps)
    assert not delivery.ok and "network error" in delivery.detail
    assert sleeps == [1.0, 2.0]
    assert TOKEN not in delivery.detail and str(port) not in delivery.detail


def test_text_is_capped_at_4096(cfg: Config, server: FakeTelegram) -> None:
    assert send_message(cfg, "x" * 5000).ok
    sent = server.requests[0]["body"]["text"]
    assert len(sent) == MAX_TEXT and sent.endswith("…")


def test_cap_counts_utf16_units_like_telegram(cfg: Config, server: FakeTelegram) -> None:
    assert send_message(cfg, "\U0001f525" * 3000).ok  # each emoji is two UTF-16 units
    sent = server.requests[0]["body"]["text"]
    assert len(sent.encode("utf-16-le")) // 2 <= MAX_TEXT
    assert sent.startswith("\U0001f525" * 2000)


def test_not_configured_sends_nothing(argus_env: dict[str, str], server: FakeTelegram) -> None:
    cfg = load({**argus_env, "ARGUS_TELEGRAM_API_BASE": server.base, "TELEGRAM_CHAT_ID": CHAT_ID})
    delivery = send_message(cfg, "x")
    assert (delivery.ok, delivery.detail) == (False, "telegram not configured")
    assert server.requests == []


def test_token_echoed_by_server_is_redacted(cfg: Config, server: FakeTelegram,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    server.default = "echo"
    delivery = send_message(cfg, "x", attempts=2, sleep=Sleeps())
    assert not delivery.ok and "<redacted>" in delivery.detail
    assert_clean(delivery.detail, server)
    out, err = capfd.readouterr()
    assert TOKEN not in out + err


def test_malformed_api_base_never_quotes_the_url(argus_env: dict[str, str], server: FakeTelegram,
                                                 tmp_path: Path) -> None:
    cfg = load({**telegram_env(argus_env, server), "ARGUS_TELEGRAM_API_BASE": "not-a-url"})
    delivery = send_message(cfg, "x", sleep=Sleeps())
    assert not delivery.ok and "ARGUS_TELEGRAM_API_BASE" in delivery.detail
    assert TOKEN not in delivery.detail and "not-a-url" not in delivery.detail


# --- odd tokens and answers -------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["\x7f", "\x01", "\n"])
def test_telegram_token_with_a_control_character_never_reaches_the_detail(tmp_path, bad):
    (tmp_path / "none.env").write_text("")
    token = f"123456:SECRETsecret{bad}tail"
    config = load({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_CHAT_ID": "42", "ARGUS_STATE_DIR": str(tmp_path),
                   "ARGUS_TELEGRAM_API_BASE": "http://127.0.0.1:9"}, env_file=tmp_path / "none.env")
    delivery = send_message(config, "disk full", attempts=1, sleep=lambda _s: None)
    assert not delivery.ok
    assert "SECRETsecret" not in delivery.detail, delivery.detail


class _Deep(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b"[" * 60000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_telegram_answer_nested_too_deep_is_a_failed_delivery_not_a_crash(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Deep)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "none.env").write_text("")
    try:
        config = load({"TELEGRAM_BOT_TOKEN": "1:tok", "TELEGRAM_CHAT_ID": "42", "ARGUS_STATE_DIR": str(tmp_path),
                       "ARGUS_TELEGRAM_API_BASE": f"http://127.0.0.1:{server.server_port}"},
                      env_file=tmp_path / "none.env")
        delivery = send_message(config, "disk full", attempts=1, sleep=lambda _s: None)
    finally:
        server.shutdown()
        server.server_close()
    assert not delivery.ok
