"""`argus relay-summary`: Relay delivery, fallbacks, the 64 KiB limit, the one-line summary."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from helpers_patterns import expected_findings
from helpers_reports import (
    RELAY_LIMIT,
    expected_stats,
    iso,
    load_records,
    problem,
    real_registry,
    with_relay,
    write_registry,
)

from argus_cli.reports.summary import body_size, fit

LIMIT = RELAY_LIMIT


@pytest.fixture
def relay_env(argus_env, tmp_path) -> dict[str, str]:
    return with_relay(argus_env, tmp_path, ARGUS_STATS_WINDOW_DAYS="3650", ARGUS_PATTERN_WINDOW_DAYS="3650",
                      ARGUS_RELAY_TIMEOUT="1")


def _calls(env: dict[str, str]) -> list[list[str]]:
    log = Path(env["RELAY_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _fallback(env: dict[str, str]) -> list[dict]:
    path = Path(env["ARGUS_STATE_DIR"]) / "relay-summary-fallback.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def window() -> str:
    """What the summary says it covers (taken when asked: a run near midnight UTC is a day later)."""
    return f", window_days=3650, window_end={time.strftime('%Y-%m-%d', time.gmtime())}"


def _summary_line(records: list[dict]) -> str:
    stats = expected_stats(records, time.time(), 3650)
    count = len(expected_findings(records, time.time(), 3650))
    return (f"Argus daily summary: problems={stats['total_problems']}, "
            f"success_rate={stats['action_success_rate']:.1f}%, patterns={count}, "
            "incidents opened=0 resolved=0" + window())  # these state dirs hold no incidents.jsonl


def test_relay_takes_the_summary(run_argus, relay_env):
    registry = real_registry()
    relay_env.update({"ARGUS_PROBLEMS_FILE": str(registry), "ARGUS_DASHBOARD_URL": "https://dash.example/argus"})
    result = run_argus("relay-summary", env=relay_env)
    assert result.returncode == 0, result.stderr
    records = load_records(registry)
    assert result.stdout == _summary_line(records) + ", dashboard=https://dash.example/argus\n"
    [argv] = _calls(relay_env)
    assert argv[:2] == ["send", "athena"]
    assert argv[argv.index("--agent") + 1] == "argus"
    assert argv[argv.index("--tag") + 1] == "argus,summary,daily"
    payload = json.loads(argv[2])
    assert {k: payload[k] for k in ("type", "source", "event", "problems_url")} == {
        "type": "summary", "source": "argus", "event": "argus.daily_summary",
        "problems_url": "https://dash.example/argus"}
    assert payload["summary"] == result.stdout.strip()
    stats = {k: v for k, v in payload["stats"].items() if k != "generated_at"}
    assert stats == expected_stats(records, time.time(), 3650)
    assert [p["id"] for p in payload["patterns"]["patterns"]] == [
        p[0] for p in expected_findings(records, time.time(), 3650)]
    assert payload["incidents"] == {"opened": 0, "resolved": 0, "open": 0, "window_days": 3650}
    assert _fallback(relay_env) == []
    assert "sent to relay" in result.stderr


class _Telegram(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, body))
        reply = b'{"ok": true, "result": {}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def telegram() -> Iterator[tuple[str, list]]:
    _Telegram.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Telegram)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Telegram.received
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_relay_failure_or_hang_goes_to_fallback_and_telegram(run_argus, relay_env, tmp_path, telegram, mode):
    base, received = telegram
    records = [problem(iso(time.time() - 60), "disk", "critical", "failure"), problem(iso(time.time() - 120))]
    relay_env.update({"ARGUS_PROBLEMS_FILE": str(write_registry(tmp_path / "p.jsonl", records)),
                      "RELAY_MODE": mode, "TELEGRAM_BOT_TOKEN": "123:secret-token", "TELEGRAM_CHAT_ID": "42",
                      "ARGUS_TELEGRAM_API_BASE": base})
    started = time.monotonic()
    result = run_argus("relay-summary", env=relay_env, timeout=30)
    assert time.monotonic() - started < 15  # the hang is cut at ARGUS_RELAY_TIMEOUT=1
    assert result.returncode == 0, result.stderr
    line = _summary_line(records)
    assert result.stdout == line + "\n"
    [argv] = _calls(relay_env)
    [kept] = _fallback(relay_env)
    assert kept == json.loads(argv[2])  # the very payload Relay did not take
    assert kept["stats"]["total_problems"] == 2
    assert received == [("/bot123:secret-token/sendMessage",
                         {"chat_id": "42", "text": line, "disable_web_page_preview": True})]
    assert "secret-token" not in result.stdout + result.stderr
    assert "relay unavailable" in result.stderr and "sent to telegram" in result.stderr
    assert ("timed out after 1s" if mode == "hang" else "connection refused") in result.stderr


def test_without_telegram_only_the_fallback_file(run_argus, relay_env, tmp_path):
    relay_env.update({"RELAY_MODE": "fail", "ARGUS_RELAY_BIN": str(tmp_path / "no-such-relay")})
    result = run_argus("relay-summary", env=relay_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("Argus daily summary: problems=0, success_rate=0.0%, patterns=0, "
                             "incidents opened=0 resolved=0" + window() + "\n")
    [kept] = _fallback(relay_env)
    assert kept["stats"]["total_problems"] == 0 and kept["problems_url"] is None
    assert "telegram not configured" in result.stderr


def test_disabled_sends_nothing(run_argus, relay_env):
    relay_env["ARGUS_RELAY_SUMMARY_ENABLED"] = "false"
    result = run_argus("relay-summary", env=relay_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Argus daily summary: problems=0")
    assert _calls(relay_env) == [] and _fallback(relay_env) == []
    assert "disabled" in result.stderr


def _many_patterns(now: float, names: int) -> list[dict]:
    """Each long hog name recurs three times: one memory_hog_recurring pattern per name."""
    hog = "Memory at 95%; hog_process={},hog_pid=1,hog_rss_kb=1,hog_mem_pct=1.0"
    return [problem(iso(now - 3600 - i), "memory", "critical", description=hog.format(f"worker-{n:04d}-" + "x" * 60))
            for n in range(names) for i in range(3)]


def test_oversized_summary_is_shrunk_by_whole_patterns(run_argus, relay_env, tmp_path):
    records = _many_patterns(time.time(), 600)
    relay_env.update({"ARGUS_PROBLEMS_FILE": str(write_registry(tmp_path / "p.jsonl", records)),
                      "RELAY_MODE": "limit"})
    result = run_argus("relay-summary", env=relay_env)
    assert result.returncode == 0, result.stderr
    total = len(expected_findings(records, time.time(), 3650))
    assert total == 600  # 600 hog patterns (one hour of one day: no time pattern): far over 64 KiB
    assert result.stdout.endswith(f"patterns={total}, incidents opened=0 resolved=0{window()}\n")
    [argv] = _calls(relay_env)
    assert len(argv[2].encode()) <= LIMIT
    payload = json.loads(argv[2])  # whole JSON, not a truncated string
    kept = payload["patterns"]["patterns"]
    assert 0 < len(kept) < total
    assert len(kept) + payload["patterns"]["patterns_omitted"] == total
    assert [p["id"] for p in kept] == [p[0] for p in expected_findings(records, time.time(), 3650)[:len(kept)]]
    assert _fallback(relay_env) == []
    assert "omitted" in result.stderr


def test_relay_limit_stand_in_really_rejects_large_bodies(run_argus, relay_env, tmp_path):
    """Guard for the test above: the stand-in does refuse a body over 64 KiB."""
    big = json.dumps({"x": "y" * LIMIT})
    run = subprocess.run([str(tmp_path / "bin" / "relay"), "send", "athena", big],
                         env={**relay_env, "RELAY_MODE": "limit"}, capture_output=True, text=True, check=False)
    assert run.returncode == 3


def test_fit_drops_oldest_buckets_when_patterns_are_not_enough():
    hourly = [{"bucket": f"2026-{m:02d}-{d:02d}T{h:02d}:00Z", "count": 1}
              for m in range(1, 13) for d in range(1, 29) for h in range(24)]
    payload = {"summary": "s", "stats": {"total_problems": len(hourly), "hourly": hourly, "daily": []},
               "patterns": {"patterns": [{"id": "p"}]}}
    assert body_size(payload) > LIMIT
    fitted, omitted = fit(payload)
    assert body_size(fitted) <= LIMIT
    assert omitted["patterns"] == 1 and fitted["patterns"]["patterns"] == []
    kept = fitted["stats"]["hourly"]
    assert kept == hourly[-len(kept):]
    assert fitted["stats"]["hourly_omitted"] == len(hourly) - len(kept) == omitted["hourly"]
    assert fit(fitted)[1] == {}  # a fitting payload is left alone


def test_a_dry_run_prints_the_event_for_the_window_asked_and_sends_nothing(run_argus, relay_env):
    """On the real registry, whose lines are all older than a week: the one-day window says so."""
    from helpers_notify import telegram_env, telegram_server
    with telegram_server() as server:
        _dry_run_on_the_real_registry(run_argus, relay_env, server, telegram_env)


def _dry_run_on_the_real_registry(run_argus: Any, relay_env: dict[str, str], telegram: Any,
                                  telegram_env: Any) -> None:
    records = [json.loads(line) for line in real_registry().read_text().splitlines() if line.strip()]
    newest = max(datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp() for r in records)
    days = int((time.time() - newest) // 86400) + 2  # a window that reaches the registry's last day
    env = telegram_env({**relay_env, "ARGUS_PROBLEMS_FILE": str(real_registry())}, telegram)
    proc = run_argus("relay-summary", "--window-days", str(days), "--dry-run", "--print", env=env)
    assert proc.returncode == 0, proc.stderr
    event = json.loads(proc.stdout)
    stats = {k: v for k, v in event["stats"].items() if k != "generated_at"}
    assert stats == expected_stats(records, time.time(), days)
    assert event["stats"]["window_days"] == event["patterns"]["window_days"] == days
    assert event["incidents"]["window_days"] == days
    assert event["summary"].endswith(f", window_days={days}, window_end={event['timestamp'][:10]}")
    fields = dict(part.split("=", 1) for part in event["summary"].split(": ", 1)[1].split(", "))
    assert fields["window_days"] == str(days) and fields["problems"] == str(stats["total_problems"])
    assert "dry run: nothing sent" in proc.stderr
    assert _calls(env) == [] and _fallback(env) == [] and telegram.requests == []
    line = run_argus("relay-summary", "--window-days", "1", "--dry-run", env=env)
    assert line.stdout.startswith("Argus daily summary: problems=0,") and ", window_days=1, window_end=" in line.stdout
    bad = run_argus("relay-summary", "--window-days", "0", env=env)
    assert bad.returncode == 2 and _calls(env) == []
