"""A local stand-in for the Anthropic Messages API (POST /v1/messages) on 127.0.0.1.

The real SDK talks to it through ANTHROPIC_BASE_URL. Replies are queued (``fake.queue(...)``),
else made by ``fake.responder`` from the request's parsed body (a reply per request, e.g. by the
snapshot it shows), else come from ``fake.default``; every request is kept (headers and parsed
body) so a test can assert what Argus sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DUMMY_KEY = "sk-ant-test-0123456789abcdef-DUMMY"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def message(content: list[dict[str, Any]], stop_reason: str = "tool_use", usage: tuple[int, int] = (1200, 85)) -> Reply:
    body = {"id": "msg_test", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": usage[0], "output_tokens": usage[1]}}
    return Reply(200, json.dumps(body).encode())


def tool_use(decision: dict[str, Any], **kw: Any) -> Reply:
    return message([{"type": "tool_use", "id": "toolu_test", "name": "decide", "input": decision}], **kw)


def text(answer: str) -> Reply:
    return message([{"type": "text", "text": answer}], stop_reason="end_turn")


def refusal() -> Reply:
    return message([{"type": "text", "text": "I can't help with that."}], stop_reason="refusal")


def error(status: int, kind: str = "api_error", message_text: str = "boom") -> Reply:
    body = {"type": "error", "error": {"type": kind, "message": message_text}}
    headers = {"retry-after": "30"} if status == 429 else {}
    return Reply(status, json.dumps(body).encode(), headers=headers)


def malformed() -> Reply:
    return Reply(200, b'{"id": "msg_test", "type": "message", "content": [')


def slow(seconds: float, reply: Reply) -> Reply:
    return Reply(reply.status, reply.body, seconds, reply.headers)


NOMINAL = {"assessment": "All nominal.", "actions": [], "observations": ["memory fine"]}


class FakeAnthropic:
    """Start with ``with FakeAnthropic() as fake:``; point ANTHROPIC_BASE_URL at ``fake.url``."""

    def __init__(self, default: Callable[[], Reply] | None = None,
                 responder: Callable[[dict[str, Any]], Reply] | None = None) -> None:
        self.default = default or (lambda: tool_use(NOMINAL))
        self.responder = responder
        self.replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self.replies:
                return self.replies.popleft()
        return self.responder(body) if self.responder is not None else self.default()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw or b"{}")
                with fake._lock:
                    fake.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body, "at": time.monotonic()})
                reply = fake._next(body)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test): nothing to deliver

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeAnthropic:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def user_text(self, index: int = -1) -> str:
        return self.requests[index]["body"]["messages"][0]["content"]


def llm_env(env: dict[str, str], fake: FakeAnthropic, **extra: str) -> dict[str, str]:
    return {**env, "ANTHROPIC_API_KEY": DUMMY_KEY, "ANTHROPIC_BASE_URL": fake.url, **extra}
