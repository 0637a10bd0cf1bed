"""Test helpers for the notify area: a local Telegram Bot API and stand-ins for bd and relay."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from conftest import write_executable

TOKEN = "123456789:AAH-test_SECRET-token_x9Yz"  # noqa: S105 - fake, shaped like a real bot token
CHAT_ID = "-100424242"
BOT = {"id": 123456789, "is_bot": True, "first_name": "Argus test", "username": "argus_test_bot"}  # getMe




class FakeTelegram:
    """Bot API stand-in on 127.0.0.1. Behaviours queued with ``fail_next`` are used one request
    each (``500``, ``drop``, ``okfalse``, ``400``, ``401``, ``429:N``, ``hang:S``, ``echo``); afterwards
    ``default`` applies (``ok``, or e.g. ``500`` to be down). ``delivered`` counts texts taken;
    ``getMe`` answers ``BOT`` when ``ok``."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.plan: deque[str] = deque()
        self.default = "ok"
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []  # what getUpdates hands out (press() adds button presses)
        self.edits: list[dict[str, Any]] = []  # editMessageText bodies
        self.answered: list[dict[str, Any]] = []  # answerCallbackQuery bodies
        self.delivered: Counter[str] = Counter()
        self.order: list[str] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.block_on_close = False  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, *behaviours: str) -> None:
        with self.lock:
            self.plan.extend(behaviours)

    def _next(self, path: str, body: dict[str, Any]) -> str:
        with self.lock:
            self.requests.append({"path": path, "body": body})
            return self.plan.popleft() if self.plan else self.default

    def _accept(self, text: str) -> None:
        with self.lock:
            self.delivered[text] += 1
            self.order.append(text)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                body["_content_type"] = self.headers.get("Content-Type")
                if fake.delay:
                    time.sleep(fake.delay)
                fake._respond(self, fake._next(self.path, body), body)

        return Handler

    def _respond(self, handler: BaseHTTPRequestHandler, how: str, body: dict[str, Any]) -> None:
        if how == "drop":
            handler.close_connection = True  # no status line at all: the client sees a reset
            return
        if how.startswith("hang:"):
            time.sleep(float(how[5:]))
            how = "500"
        if how == "ok" and handler.path == f"/bot{self.token}/sendMessage":
            self._accept(body.get("text", ""))
            _reply(handler, 200, {"ok": True, "result": {"message_id": len(self.order)}})
            return
        if how == "ok" and handler.path == f"/bot{self.token}/getMe":
            _reply(handler, 200, {"ok": True, "result": BOT})
            return
        if how == "ok" and handler.path == f"/bot{self.token}/getUpdates":
            with self.lock:  # as Telegram does: an offset confirms (drops) every update before it
                offset = int(body.get("offset") or 0)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                batch = self.updates[: int(body.get("limit") or 100)]
            _reply(handler, 200, {"ok": True, "result": batch})
            return
        if how == "ok" and handler.path.rsplit("/", 1)[-1] in ("editMessageText", "answerCallbackQuery"):
            with self.lock:
                (self.edits if handler.path.endswith("editMessageText") else self.answered).append(body)
            _reply(handler, 200, {"ok": True, "result": True})
            return
        _reply(handler, *_failure(how, handler.path))


def press(fake: FakeTelegram, data: str, *, chat_id: int | str = CHAT_ID, user: str = "alice",
          message_id: int = 1, user_id: int = 7001) -> int:
    """Queue a button press (a ``callback_query`` update) as Telegram would deliver it; its update id."""
    with fake.lock:
        update_id = max((u["update_id"] for u in fake.updates), default=fake_update_base(fake)) + 1
        fake.next_update = update_id
        fake.updates.append({"update_id": update_id, "callback_query": {
            "id": f"cb{update_id}", "from": {"id": user_id, "is_bot": False, "first_name": user.title(),
                                             "username": user},
            "message": {"message_id": message_id, "date": 0, "chat": {"id": int(chat_id), "type": "group"}},
            "chat_instance": "1", "data": data}})
    return update_id


def fake_update_base(fake: FakeTelegram) -> int:
    return getattr(fake, "next_update", 9000)


def buttons_sent(fake: FakeTelegram) -> list[dict[str, Any]]:
    """The sendMessage bodies that carried inline buttons, oldest first."""
    return [r["body"] for r in fake.requests if r["path"].endswith("/sendMessage") and "reply_markup" in r["body"]]


def _failure(how: str, path: str) -> tuple[int, dict[str, Any]]:
    if how.startswith("429:"):
        wait = int(how[4:])
        return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {wait}",
                     "parameters": {"retry_after": wait}}
    table = {
        "500": (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
        "okfalse": (200, {"ok": False, "description": "odd answer"}),
        "400": (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        "401": (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),  # a revoked token
        # a hostile or buggy server echoing the request path, which holds the token
        "echo": (404, {"ok": False, "error_code": 404, "description": f"Not Found: {path}"}),
    }
    return table.get(how, (404, {"ok": False, "error_code": 404, "description": "Not Found"}))


def _reply(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    with contextlib.suppress(OSError):  # the client may have timed out and gone
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def running(fake: FakeTelegram) -> FakeTelegram:
    fake.thread.start()
    return fake


def stop(fake: FakeTelegram) -> None:
    fake.server.shutdown()
    fake.server.server_close()


def telegram_env(env: dict[str, str], server: FakeTelegram) -> dict[str, str]:
    return {**env, "TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_CHAT_ID": CHAT_ID,
            "ARGUS_TELEGRAM_API_BASE": server.base}


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


# --- stand-ins for bd and relay ---------------------------------------------------------------
# Both record one JSON line per call ({"argv", "cwd"}) to <bin>/<name>.calls.jsonl and read their
# behaviour from <bin>/<name>.mode: ok (default), fail, hang, garbage.

_PRELUDE = '''#!{python}
import json, os, subprocess, sys, time
HERE = os.path.dirname(os.path.abspath(__file__))
NAME = os.path.basename(__file__)
def path(suffix):
    return os.path.join(HERE, NAME + suffix)
with open(path(".calls.jsonl"), "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
mode = open(path(".mode")).read().strip() if os.path.exists(path(".mode")) else "ok"
if mode == "fail":
    print(NAME + ": backend unavailable", file=sys.stderr)
    sys.exit(1)
if mode == "hang":
    child = subprocess.Popen(["sleep", "30"])  # a grandchild that must die with us
    open(path(".hang-pids"), "w").write("%d %d" % (os.getpid(), child.pid))
    child.wait()
    sys.exit(0)
if mode == "garbage":
    print("Warning: something odd\\n<<not json>> {{")
    sys.exit(0)
'''

_BD = _PRELUDE + '''
cmd = sys.argv[1] if len(sys.argv) > 1 else ""
if cmd == "list":
    print(open(path(".list.json")).read() if os.path.exists(path(".list.json")) else "[]")
elif cmd == "create":
    calls = [json.loads(x) for x in open(path(".calls.jsonl"))]
    print("argus-t%d" % sum(1 for c in calls if c["argv"][:1] == ["create"]))
elif cmd == "close":
    print("closed " + sys.argv[2])
else:
    print("unknown command", file=sys.stderr)
    sys.exit(2)
'''

_RELAY = _PRELUDE + '''
args = sys.argv[1:]
if len(args) < 2 or args[0] != "send":
    print("usage: relay send TO PAYLOAD [--agent A] [--priority P] [--tag T]", file=sys.stderr)
    sys.exit(2)
if len(args[2].encode()) > 64 * 1024:
    print("relay: message body exceeds 64 KiB", file=sys.stderr)
    sys.exit(1)
json.loads(args[2])
print("sent")
'''


def install_bd(bin_dir: Path) -> Path:
    return write_executable(bin_dir / "bd", _BD.format(python=sys.executable))


def install_relay(bin_dir: Path) -> Path:
    return write_executable(bin_dir / "relay", _RELAY.format(python=sys.executable))


def set_mode(tool: Path, mode: str) -> None:
    tool.with_name(tool.name + ".mode").write_text(mode)


def calls(tool: Path) -> list[dict[str, Any]]:
    log = tool.with_name(tool.name + ".calls.jsonl")
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (killed, not yet reaped by init) counts as dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_dead(pids: list[int], within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@contextlib.contextmanager
def telegram_server() -> Iterator[FakeTelegram]:
    """A running FakeTelegram for the duration of the block."""
    server = running(FakeTelegram())
    try:
        yield server
    finally:
        stop(server)
