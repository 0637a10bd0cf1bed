"""``argus doctor --online``: prove the LLM and Telegram settings work by using them once.

Offline, the doctor can only say a key is *set*; these checks say whether it *works*:

- ``llm online``: one Messages API call (``decide/llm.probe``: ``max_tokens=1``, a one-word user
  message, no system prompt, no tools) to ``ARGUS_MODEL``, SDK retries off, timeout
  ``ARGUS_LLM_TIMEOUT`` capped at ``LLM_TIMEOUT_CAP``. Its cost is a handful of input tokens and
  one output token, printed as the API counted them.
- ``tg online``: one Bot API ``getMe``: the token works, and which bot it is.
- ``tg test`` (``--send-test`` only): one ``[host] argus doctor: test message`` through the
  normal sender (``send_message``, one attempt, not the outbox): the chat id works too.

Each is ``ok``, ``FAIL`` (with the HTTP status and the API's own error type and message),
``warn`` (a rate limit or an overloaded API: the setup is fine, the API busy) or ``skip`` (not
configured). Every detail is redacted with the configured secrets: neither the API key nor the
bot token (which the Telegram URL embeds) is ever printed. Nothing is written to the state
directory: the doctor only reads it (ARCHITECTURE.md §4).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping

from argus_cli.config import Config
from argus_cli.doctor import Check
from argus_cli.redaction import redact
from argus_cli.text import one_line

LLM_TIMEOUT_CAP = 20.0  # seconds: the doctor is run by hand, ARGUS_LLM_TIMEOUT may be minutes
TELEGRAM_TIMEOUT = 10.0
TEST_MESSAGE = "argus doctor: test message"
_DETAIL_CAP = 400


def run_online_checks(config: Config, *, send_test: bool = False,
                      llm_timeout: float | None = None, telegram_timeout: float = TELEGRAM_TIMEOUT) -> list[Check]:
    """The online checks, in order: LLM, getMe, then (``send_test``) one test message."""
    checks = [check_llm_online(config, timeout=llm_timeout), check_telegram_online(config, timeout=telegram_timeout)]
    if send_test:
        checks.append(check_telegram_test(config, getme_ok=checks[-1].level == "ok", timeout=telegram_timeout))
    return checks


def check_llm_online(config: Config, *, timeout: float | None = None) -> Check:
    name = "llm online"
    if not config.has_api_key:
        return Check(name, "skip", "ANTHROPIC_API_KEY unset: no call made (the rules engine decides)")
    from argus_cli.decide.llm import probe

    limit = min(float(config.llm_timeout), LLM_TIMEOUT_CAP) if timeout is None else timeout
    call = f"messages.create on {config.model}"
    try:
        outcome = probe(config, timeout=limit)
    except Exception as exc:  # noqa: BLE001 - every SDK error, timeout or bad body is the answer
        level, reason = _llm_failure(exc, limit)
        return Check(name, level, _safe(f"{call}: {reason}", config))
    usage = outcome.usage or {}
    used_in, used_out = usage.get("input_tokens"), usage.get("output_tokens")
    spent = (f"{used_in} input + {used_out} output tokens" if used_in is not None and used_out is not None
             else "token counts not reported")
    return Check(name, "ok", _safe(f"{call}: answered ({spent}, max_tokens=1)", config))


def _llm_failure(exc: Exception, timeout: float) -> tuple[str, str]:
    """(level, reason) for an exception of the probe: the HTTP status and the API's error type and
    message when it answered, else what kept the answer from coming."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        kind, text = _api_error(getattr(exc, "body", None))
        reason = f"HTTP {status}" + (f" {kind}" if kind else "") + (f": {text}" if text else "")
        if status == 429:
            return "warn", f"{reason} (rate limited: the key was accepted, retry later)"
        if status >= 500:
            return "warn", f"{reason} (the API is failing or overloaded, retry later)"
        if status == 404:
            return "FAIL", f"{reason} (is ARGUS_MODEL a model this key may use?)"
        return "FAIL", reason
    kind_name = type(exc).__name__
    if kind_name == "APITimeoutError":
        return "FAIL", f"no answer within {timeout:g}s ({kind_name})"
    cause = exc.__cause__
    detail = f"{kind_name}: {exc}" + (f" ({type(cause).__name__}: {cause})" if cause is not None else "")
    return "FAIL", detail


def _api_error(body: object) -> tuple[str, str]:
    """The ``error.type`` and ``error.message`` of an Anthropic error body."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return "", str(body) if isinstance(body, str) else ""
    kind, message = error.get("type"), error.get("message")
    return (kind if isinstance(kind, str) else ""), (message if isinstance(message, str) else "")


def check_telegram_online(config: Config, *, timeout: float = TELEGRAM_TIMEOUT) -> Check:
    name = "tg online"
    if not config.telegram_bot_token:
        return Check(name, "skip", "TELEGRAM_BOT_TOKEN unset: no call made")
    from argus_cli.notify.telegram import get_me

    answer = get_me(config, timeout=timeout)
    return Check(name, "ok" if answer.ok else "FAIL", _safe(f"getMe: {answer.detail}", config))


def check_telegram_test(config: Config, *, getme_ok: bool, timeout: float = TELEGRAM_TIMEOUT) -> Check:
    name = "tg test"
    if not config.telegram_configured:
        missing = "TELEGRAM_BOT_TOKEN" if not config.telegram_bot_token else "TELEGRAM_CHAT_ID"
        return Check(name, "skip", f"{missing} unset: no test message sent")
    if not getme_ok:
        return Check(name, "skip", "getMe failed: no test message sent")
    from argus_cli.notify.telegram import send_message

    delivery = send_message(config, f"[{socket.gethostname()}] {TEST_MESSAGE}", attempts=1, timeout=timeout)
    where = f"sendMessage to chat {config.telegram_chat_id}"
    return Check(name, "ok" if delivery.ok else "FAIL", _safe(f"{where}: {delivery.detail}", config))


def _safe(detail: str, config: Config) -> str:
    return one_line(redact(detail, config.secrets()), _DETAIL_CAP)
