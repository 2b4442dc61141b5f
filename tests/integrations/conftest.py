"""A webhook receiver on 127.0.0.1 (a real HTTP server on a thread) and the web fixtures for the pages."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.web.conftest import admin, app, client_for, manager, password_hash, staff, users  # noqa: F401


def verify(secret: str, headers, body: bytes, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """The receiver's check, exactly as docs/api.md "Webhooks" shows it."""
    timestamp = headers.get("X-Appliance-Timestamp", "")
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = timestamp.isdigit() and abs((now or time.time()) - int(timestamp)) <= tolerance_seconds
    return fresh and hmac.compare_digest(expected, headers.get("X-Appliance-Signature", ""))


class Receiver:
    """Records every POST (headers and raw body); answers with the next status of `answers`, then 200."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/shop"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receiver():
    made = Receiver()
    made.thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()
