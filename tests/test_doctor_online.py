"""`argus doctor --online`: one minimal LLM call and one Telegram getMe prove the setup works;
`--send-test` sends one test message. Each says ok / FAIL / warn / skip with the reason, never a
secret; without --online nothing goes on the network."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from urllib.parse import quote

from helpers_anthropic import DUMMY_KEY, error, slow, text
from helpers_anthropic import llm_env as _llm_env
from helpers_notify import BOT, TOKEN, telegram_env

from argus_cli.config import load
from argus_cli.online_checks import TEST_MESSAGE, check_llm_online, check_telegram_online


def no_secret(run: subprocess.CompletedProcess[str]) -> None:
    out = run.stdout + run.stderr
    for secret in (DUMMY_KEY, TOKEN):
        for form in (secret, quote(secret, safe=""), secret.split(":")[-1]):
            assert form not in out, f"{form!r} leaked"


def line(run: subprocess.CompletedProcess[str], name: str) -> str:
    found = [x for x in run.stdout.splitlines() if x[6:].startswith(f"{name} ")]
    assert len(found) == 1, run.stdout
    return found[0]


def failed(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [x for x in run.stdout.splitlines() if x.startswith("FAIL")]


def both(argus_env, anthropic_api, telegram, **extra: str) -> dict[str, str]:
    return telegram_env(_llm_env(argus_env, anthropic_api, **extra), telegram)


def test_without_online_nothing_goes_on_the_network(run_argus, argus_env, anthropic_api, telegram):
    run = run_argus("doctor", env=both(argus_env, anthropic_api, telegram))
    assert anthropic_api.requests == [] and telegram.requests == []
    assert "llm online" not in run.stdout and "tg online" not in run.stdout
    assert "ok    api key     set" in run.stdout
    no_secret(run)


def test_online_ok_names_the_call_and_its_cost(run_argus, argus_env, anthropic_api, telegram):
    anthropic_api.default = lambda: text("p")
    run = run_argus("doctor", "--online", env=both(argus_env, anthropic_api, telegram))
    assert line(run, "llm online") == ("ok    llm online  messages.create on claude-haiku-4-5: "
                                       "answered (1200 input + 85 output tokens, max_tokens=1)")
    assert line(run, "tg online") == f"ok    tg online   getMe: @{BOT['username']} (id {BOT['id']})"
    assert "tg test" not in run.stdout
    assert failed(run) == [] and run.returncode == 0
    [sent] = anthropic_api.requests  # one call, the cheapest there is
    assert sent["path"] == "/v1/messages"
    assert sent["body"] == {"model": "claude-haiku-4-5", "max_tokens": 1,
                            "messages": [{"role": "user", "content": "ping"}]}
    assert any(DUMMY_KEY in value for value in sent["headers"].values())  # the key went in a header
    assert [r["path"] for r in telegram.requests] == [f"/bot{TOKEN}/getMe"]
    assert sum(telegram.delivered.values()) == 0
    no_secret(run)


def test_a_bogus_key_fails_with_the_api_error_and_no_key(run_argus, argus_env, anthropic_api, telegram):
    # a server that echoes the key it was given: the doctor must still not print it
    anthropic_api.queue(error(401, "authentication_error", f"invalid x-api-key {DUMMY_KEY}"))
    run = run_argus("doctor", "--online", env=both(argus_env, anthropic_api, telegram))
    assert line(run, "llm online") == ("FAIL  llm online  messages.create on claude-haiku-4-5: "
                                       "HTTP 401 authentication_error: invalid x-api-key <redacted>")
    assert run.returncode == 1
    assert len(anthropic_api.requests) == 1  # no SDK retries
    no_secret(run)


def test_an_unknown_model_fails_with_404(run_argus, argus_env, anthropic_api, telegram):
    anthropic_api.queue(error(404, "not_found_error", "model: claude-bogus"))
    run = run_argus("doctor", "--online", env=both(argus_env, anthropic_api, telegram, ARGUS_MODEL="claude-bogus"))
    assert line(run, "llm online") == ("FAIL  llm online  messages.create on claude-bogus: HTTP 404 not_found_error: "
                                       "model: claude-bogus (is ARGUS_MODEL a model this key may use?)")
    assert anthropic_api.requests[0]["body"]["model"] == "claude-bogus"
    assert run.returncode == 1
    no_secret(run)


def test_a_rate_limit_warns_and_does_not_fail(run_argus, argus_env, anthropic_api, telegram):
    anthropic_api.queue(error(429, "rate_limit_error", "Number of requests has exceeded your rate limit"))
    run = run_argus("doctor", "--online", env=both(argus_env, anthropic_api, telegram))
    assert line(run, "llm online").startswith(
        "warn  llm online  messages.create on claude-haiku-4-5: HTTP 429 rate_limit_error: Number of requests")
    assert len(anthropic_api.requests) == 1  # retry-after is not waited for: retries are off
    assert failed(run) == [] and run.returncode == 0
    no_secret(run)


def test_a_hang_fails_within_the_timeout(argus_env, anthropic_api, monkeypatch):
    for name, value in _llm_env(argus_env, anthropic_api).items():
        monkeypatch.setenv(name, value)
    anthropic_api.queue(slow(10, text("late")))
    started = time.monotonic()
    check = check_llm_online(load(), timeout=0.5)
    assert time.monotonic() - started < 6  # the first call also imports the SDK (~2 s)
    assert (check.level, check.name) == ("FAIL", "llm online")
    assert check.detail == "messages.create on claude-haiku-4-5: no answer within 0.5s (APITimeoutError)"
    assert DUMMY_KEY not in check.detail


def test_the_doctor_caps_the_llm_timeout(monkeypatch, argus_env, anthropic_api):
    """ARGUS_LLM_TIMEOUT may be minutes; the doctor waits at most 20 s."""
    from argus_cli.decide import llm

    seen: list[float] = []
    monkeypatch.setattr(llm, "probe", lambda config, *, timeout: seen.append(timeout) or llm.LlmOutcome(None))
    for name, value in _llm_env(argus_env, anthropic_api, ARGUS_LLM_TIMEOUT="300").items():
        monkeypatch.setenv(name, value)
    assert check_llm_online(load()).detail.endswith("(token counts not reported, max_tokens=1)")
    monkeypatch.setenv("ARGUS_LLM_TIMEOUT", "7")
    check_llm_online(load())
    assert seen == [20.0, 7.0]


def test_an_unreachable_api_fails_with_the_reason(monkeypatch, argus_env):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    check = check_llm_online(load(), timeout=2)
    assert check.level == "FAIL"
    assert check.detail.startswith("messages.create on claude-haiku-4-5: APIConnectionError: Connection error.")
    assert DUMMY_KEY not in check.detail


def test_without_a_key_or_token_online_skips(run_argus, argus_env, anthropic_api, telegram):
    env = {**argus_env, "ANTHROPIC_BASE_URL": anthropic_api.url}
    run = run_argus("doctor", "--online", "--send-test", env=env)
    assert line(run, "llm online") == ("skip  llm online  ANTHROPIC_API_KEY unset: no call made "
                                       "(the rules engine decides)")
    assert line(run, "tg online") == "skip  tg online   TELEGRAM_BOT_TOKEN unset: no call made"
    assert line(run, "tg test") == "skip  tg test     TELEGRAM_BOT_TOKEN unset: no test message sent"
    assert anthropic_api.requests == [] and telegram.requests == []
    assert failed(run) == [] and run.returncode == 0


def test_a_rejected_bot_token_fails_and_is_never_printed(run_argus, argus_env, anthropic_api, telegram):
    telegram.fail_next("401")
    run = run_argus("doctor", "--online", "--send-test", env=both(argus_env, anthropic_api, telegram))
    assert line(run, "tg online") == "FAIL  tg online   getMe: telegram HTTP 401: Unauthorized"
    assert line(run, "tg test") == "skip  tg test     getMe failed: no test message sent"
    assert [r["path"] for r in telegram.requests] == [f"/bot{TOKEN}/getMe"]
    assert run.returncode == 1
    no_secret(run)


def test_a_server_echoing_the_url_does_not_leak_the_token(argus_env, telegram, monkeypatch):
    for name, value in telegram_env(argus_env, telegram).items():
        monkeypatch.setenv(name, value)
    telegram.fail_next("echo")
    check = check_telegram_online(load(), timeout=2)
    assert check.level == "FAIL" and check.detail.startswith("getMe: telegram HTTP 404: Not Found: ")
    assert TOKEN not in check.detail and TOKEN.split(":")[-1] not in check.detail


def test_a_hanging_telegram_fails_within_the_timeout(argus_env, telegram, monkeypatch):
    for name, value in telegram_env(argus_env, telegram).items():
        monkeypatch.setenv(name, value)
    telegram.fail_next("hang:3")
    started = time.monotonic()
    check = check_telegram_online(load(), timeout=0.3)
    assert time.monotonic() - started < 2
    assert check.level == "FAIL" and check.detail.startswith("getMe: network error: ")
    assert "timed out" in check.detail or "no complete answer within 0.3s" in check.detail
    assert TOKEN not in check.detail


def test_send_test_sends_one_message_directly(run_argus, argus_env, anthropic_api, telegram, tmp_path):
    anthropic_api.default = lambda: text("p")
    run = run_argus("doctor", "--online", "--send-test", env=both(argus_env, anthropic_api, telegram))
    host = socket.gethostname()
    assert line(run, "tg test") == "ok    tg test     sendMessage to chat -100424242: delivered"
    assert dict(telegram.delivered) == {f"[{host}] {TEST_MESSAGE}": 1}
    assert not list((tmp_path / "state").glob("outbox*"))  # not through the outbox
    assert failed(run) == [] and run.returncode == 0
    no_secret(run)


def test_send_test_implies_online_and_reports_a_refused_chat(run_argus, argus_env, anthropic_api, telegram):
    anthropic_api.default = lambda: text("p")
    telegram.fail_next("ok", "400")  # getMe answers, sendMessage is refused
    run = run_argus("doctor", "--send-test", "--json", env=both(argus_env, anthropic_api, telegram))
    checks = {c["name"]: c for c in json.loads(run.stdout)}
    assert checks["llm online"]["level"] == "ok" and checks["tg online"]["level"] == "ok"
    assert checks["tg test"] == {"name": "tg test", "level": "FAIL", "detail": "sendMessage to chat -100424242: "
                                 "telegram HTTP 400: Bad Request: chat not found (after 1 attempt(s))"}
    assert len(telegram.requests) == 2 and sum(telegram.delivered.values()) == 0  # one attempt, no retry
    assert run.returncode == 1
    no_secret(run)
