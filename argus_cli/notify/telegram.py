"""Telegram alerts through the Bot API (ARCHITECTURE.md §6), with retries and no token leaks.

The request URL embeds the bot token, so nothing produced here ever mentions the URL: details
are built from status codes and Telegram's own ``description``, then redacted again anyway.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from argus_cli.config import Config
from argus_cli.notify.budget import DeliveryBudget
from argus_cli.redaction import redact
from argus_cli.text import one_line

MAX_TEXT = 4096  # Telegram's limit, counted in UTF-16 code units
REQUEST_TIMEOUT = 10.0
RETRY_AFTER_CAP = 10.0  # a longer 429 wait is left to the outbox and the next cycle
_BACKOFF = (1.0, 2.0, 4.0)
_MAX_BODY = 64 * 1024
_JOIN_MARGIN = 0.5  # seconds past a request's timeout before it is abandoned


@dataclass(frozen=True)
class Delivery:
    """Outcome of one alert. ``detail`` is safe to log: never the URL, never the token.

    ``state`` says what became of it: ``sent``, ``queued`` (in the outbox, it will go out),
    ``unconfigured`` (no bot token or chat id: recorded only) or ``failed`` (lost for good).
    """

    ok: bool
    detail: str
    state: str = "failed"
    message_id: int | None = None  # Telegram's id for the message sent (to edit it later)

    @property
    def will_go_out(self) -> bool:
        return self.state in ("sent", "queued")


@dataclass(frozen=True)
class _Attempt:
    ok: bool
    detail: str
    retry: bool
    wait: float | None = None  # server-requested delay (429 retry_after)
    result: object = None  # Telegram's "result" of an ok answer


_Judge = Callable[[int, bytes, "str | None"], _Attempt]  # (status, body, Retry-After header)


def cap_text(text: str) -> str:
    """Valid UTF-8 text of at most MAX_TEXT UTF-16 units, with an ellipsis when cut."""
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    if _utf16_len(text) <= MAX_TEXT:
        return text
    cut = text[: MAX_TEXT - 1]
    while _utf16_len(cut) > MAX_TEXT - 1:
        cut = cut[:-1]
    return cut + "…"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def send_message(config: Config, text: str, *, attempts: int = 3,
                 sleep: Callable[[float], None] = time.sleep,
                 timeout: float = REQUEST_TIMEOUT, budget: DeliveryBudget | None = None,
                 buttons: list[list[dict[str, str]]] | None = None) -> Delivery:
    """POST ``text`` to the configured chat; retry network errors, 5xx and 429. With a
    ``budget``, every wait (request timeout, backoff) stays within its remaining time, the
    message counts against its cap, and a failure closes it for the rest of the cycle.
    ``buttons``: rows of inline keyboard buttons (``text``, ``callback_data``) under it."""
    if not config.telegram_configured:
        return Delivery(False, "telegram not configured", "unconfigured")
    refused = budget.refusal() if budget is not None else None
    if refused is not None:
        return Delivery(False, refused)
    if budget is not None:
        budget.messages += 1
    payload: dict[str, object] = {"chat_id": config.telegram_chat_id, "text": cap_text(text),
                                  "disable_web_page_preview": True}
    if buttons:
        payload["reply_markup"] = {"inline_keyboard": buttons}
    body = json.dumps(payload).encode("utf-8")
    url = f"{config.telegram_api_base.rstrip('/')}/bot{config.telegram_bot_token}/sendMessage"
    result, number = _Attempt(False, "not attempted", False), 0
    for number in range(1, max(1, attempts) + 1):
        result = _post_within(url, body, _within(budget, timeout))
        if result.ok or not result.retry or number >= attempts:
            break
        delay = result.wait if result.wait is not None else _BACKOFF[min(number, len(_BACKOFF)) - 1]
        if budget is not None and delay >= budget.remaining():
            break  # no time left for another try: the outbox keeps the message
        sleep(delay)
    detail = result.detail if result.ok else f"{result.detail} (after {number} attempt(s))"
    sent = result.result if isinstance(result.result, dict) else {}
    message_id = sent.get("message_id") if isinstance(sent.get("message_id"), int) else None
    delivery = Delivery(result.ok, _scrub(detail, url, config), "sent" if result.ok else "failed", message_id)
    if budget is not None and not delivery.ok:
        budget.telegram_error = delivery.detail
    return delivery


def get_me(config: Config, *, timeout: float = REQUEST_TIMEOUT) -> Delivery:
    """One ``getMe`` (``argus doctor --online``): does the bot token work? Once, no retries.
    ``detail`` names the bot (``@username``, id) or says why not, never the URL or the token;
    ``state`` is ``sent`` when Telegram answered ``ok``, ``unconfigured`` without a token."""
    if not config.telegram_bot_token:
        return Delivery(False, "TELEGRAM_BOT_TOKEN unset", "unconfigured")
    url = f"{config.telegram_api_base.rstrip('/')}/bot{config.telegram_bot_token}/getMe"
    result = _post_within(url, b"{}", timeout, _judge_me)
    return Delivery(result.ok, _scrub(result.detail, url, config), "sent" if result.ok else "failed")


@dataclass(frozen=True)
class Answer:
    """One Bot API call that is not a message: ``result`` is Telegram's, ``detail`` safe to log."""

    ok: bool
    result: object
    detail: str


def call(config: Config, method: str, payload: Mapping[str, object], *, timeout: float = REQUEST_TIMEOUT,
         budget: DeliveryBudget | None = None) -> Answer:
    """One Bot API ``method`` (getUpdates, answerCallbackQuery, editMessageText), once: the next
    cycle tries again. Within ``budget``'s time; a failure closes it like a failed message."""
    if not config.telegram_configured:
        return Answer(False, None, "telegram not configured")
    refused = budget.refusal() if budget is not None else None
    if refused is not None:
        return Answer(False, None, refused)
    url = f"{config.telegram_api_base.rstrip('/')}/bot{config.telegram_bot_token}/{method}"
    attempt = _post_within(url, json.dumps(payload).encode("utf-8"), _within(budget, timeout))
    detail = _scrub(attempt.detail, url, config)
    if budget is not None and not attempt.ok and attempt.retry:  # down, not a refusal of this one call
        budget.telegram_error = detail
    return Answer(attempt.ok, attempt.result, detail)


def _judge_me(status: int, raw: bytes, retry_after_header: str | None) -> _Attempt:
    reply = _parse(raw)
    bot = reply.get("result")
    if status != 200 or reply.get("ok") is not True:
        return _judge(status, raw, retry_after_header)
    if not isinstance(bot, dict):
        return _Attempt(True, "answered ok without a bot description", False)
    name, ident = bot.get("username"), bot.get("id")
    shown = f"@{name}" if isinstance(name, str) and name else "a bot without a username"
    return _Attempt(True, shown + (f" (id {ident})" if isinstance(ident, int) else ""), False)


def _within(budget: DeliveryBudget | None, timeout: float) -> float:
    """The request timeout, cut to what the budget has left (never zero: urllib would not wait)."""
    return timeout if budget is None else max(0.05, min(timeout, budget.remaining()))


def _scrub(detail: str, url: str, config: Config) -> str:
    return one_line(redact(detail.replace(url, "<telegram-api>"), config.secrets()), 500)


def _post_within(url: str, body: bytes, timeout: float, judge: _Judge | None = None) -> _Attempt:
    """``_post`` with ``timeout`` as a limit on the whole request, not on each socket read: a
    server that drips one byte a second would otherwise hold the cycle until its time limit. The
    request runs in a daemon thread; one still running at the limit is abandoned (the process
    is short-lived) and the message stays in the outbox."""
    outcome: list[_Attempt] = []
    worker = threading.Thread(target=lambda: outcome.append(_post(url, body, timeout, judge or _judge)), daemon=True,
                              name="telegram-post")
    worker.start()
    worker.join(timeout + _JOIN_MARGIN)
    if outcome:
        return outcome[0]
    return _Attempt(False, f"network error: no complete answer within {timeout:g}s", True)


def _post(url: str, body: bytes, timeout: float, judge: _Judge) -> _Attempt:
    try:
        request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - https or a test base
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return judge(response.status, response.read(_MAX_BODY), None)
    except urllib.error.HTTPError as exc:
        return judge(exc.code, _read_error_body(exc), exc.headers.get("Retry-After"))
    except urllib.error.URLError as exc:
        return _Attempt(False, f"network error: {_reason(exc.reason)}", True)
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, dropped connections
        return _Attempt(False, f"network error: {_reason(exc)}", True)
    except ValueError as exc:  # a malformed API base; the message could quote the URL
        return _Attempt(False, f"invalid ARGUS_TELEGRAM_API_BASE ({type(exc).__name__})", False)


def _read_error_body(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(_MAX_BODY)
    except (OSError, http.client.HTTPException):
        return b""


def _reason(reason: object) -> str:
    text = str(reason) or type(reason).__name__
    return f"{type(reason).__name__}: {text}" if isinstance(reason, BaseException) else text


def _judge(status: int, raw: bytes, retry_after_header: str | None = None) -> _Attempt:
    """Classify one HTTP answer: success, retryable (5xx, 429, odd 200) or final (other 4xx)."""
    reply = _parse(raw)
    described = str(reply.get("description") or "").strip()
    if status == 200 and reply.get("ok") is True:
        return _Attempt(True, "delivered", False, result=reply.get("result"))
    summary = f"telegram HTTP {status}" + (f": {described}" if described else "")
    if status == 429:
        wait = _retry_after(reply, retry_after_header)
        if wait is not None and wait > RETRY_AFTER_CAP:
            return _Attempt(False, f"{summary} (retry after {wait:g}s)", False)
        return _Attempt(False, summary, True, wait)
    if status == 200:
        return _Attempt(False, f"{summary}: answer without \"ok\": true", True)
    return _Attempt(False, summary, status >= 500)


def _parse(raw: bytes) -> dict[str, object]:
    try:
        value = json.loads(raw.decode("utf-8", errors="replace")) if raw else {}
    except (ValueError, RecursionError):  # RecursionError: an answer nested thousands deep
        return {}
    return value if isinstance(value, dict) else {}


def _retry_after(reply: Mapping[str, object], header: str | None) -> float | None:
    params = reply.get("parameters")
    candidates = [params.get("retry_after") if isinstance(params, dict) else None, header]
    for value in candidates:
        if not isinstance(value, str | int | float):  # absent, or a list or object
            continue
        try:
            seconds = float(value)
        except (ValueError, OverflowError):  # not a number, or an integer too big for a float
            continue
        if seconds >= 0:
            return seconds
    return None
