"""The plain-HTTP port of a box that serves HTTPS itself: every request is redirected (308, same path) to
the HTTPS port. `appliance serve` runs it beside gunicorn when server.http_redirect_port is set:
    python -m web.redirect HOST PORT HTTPS_PORT
gunicorn serves TLS on every address it binds, so this small server (standard library only, no app, no
database) is the one that answers `http://box:PORT/` with the way to `https://box:HTTPS_PORT/`.
"""
from __future__ import annotations

import re
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$")


def target(host_header: str | None, path: str, https_port: int, fallback_host: str) -> str | None:
    """The HTTPS URL for this request, or None when its Host header is not a plain host name or address."""
    host = fallback_host
    if host_header:
        match = _HOST.match(host_header.strip())
        if match is None:
            return None
        host = match.group(1)
    port = "" if https_port == 443 else f":{https_port}"
    if not path.startswith("/") or path.startswith("//"):
        path = "/"
    return f"https://{host}{port}{path}"


def make_handler(https_port: int, fallback_host: str):
    class Redirect(BaseHTTPRequestHandler):
        server_version = "appliance-redirect"
        sys_version = ""

        def _answer(self) -> None:
            location = target(self.headers.get("Host"), self.path, https_port, fallback_host)
            if location is None:
                self.send_error(400, "Bad Host header")
                return
            self.send_response(308)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

        def log_message(self, format, *args):  # noqa: A002 - quiet: gunicorn logs the real requests
            pass

    return Redirect


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(host: str, port: int, https_port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("Server", (_Server,), {"address_family": family})
    fallback = host if host not in ("0.0.0.0", "::", "") else socket.getfqdn()
    with server_class((host, port), make_handler(https_port, fallback)) as server:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        server.serve_forever()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
