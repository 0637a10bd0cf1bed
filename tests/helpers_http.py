"""A real HTTP server on 127.0.0.1 for service checks: ``/404`` answers 404, ``/redirect/404``
answers 302 to ``/404``, ``/`` answers 200."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "/" + self.path.removeprefix("/redirect/"))
        else:
            self.send_response(int(self.path.strip("/") or 200))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def status_server() -> Iterator[str]:
    """The server's base URL for the duration of the block."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (it was free a moment ago)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Listener:
    """A service that is up while this TCP socket listens on 127.0.0.1, down once it is closed."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None
        self.port = 0
        self.up()

    def up(self) -> None:
        if self.sock is None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen(16)
            self.sock, self.port = sock, sock.getsockname()[1]

    def down(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


@contextmanager
def raw_server(reply: bytes) -> Iterator[str]:
    """A server on 127.0.0.1 that answers every connection with ``reply`` as is (no HTTP framing
    added): a status line that is not HTTP, a header no client accepts. Its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed: the block ended
            with conn:
                conn.recv(65536)
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
