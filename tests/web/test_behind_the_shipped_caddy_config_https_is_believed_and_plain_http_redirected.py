"""The shipped deploy/caddy/Caddyfile (Caddy's local CA: `tls internal`) in front of the app with
server.trusted_proxies = ["127.0.0.1"]: over Caddy's HTTPS the answer has HSTS and a Secure session cookie,
plain HTTP is redirected to HTTPS, and a client's own X-Forwarded-Proto sent to Caddy changes nothing.
Real Caddy (Debian's), a real threaded server, 127.0.0.1 only."""
from __future__ import annotations

import http.client
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.servers.ports import free_port
from tests.servers.required import tool_path
from tests.servers.waiting import wait_for

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "caddy" / "Caddyfile"


@pytest.fixture
def proxied(behind_a_proxy, live_server, users, tmp_path):
    caddy = tool_path("caddy", "the reverse-proxy example is tested with Debian's caddy: apt-get install caddy",
                      "/usr/bin/caddy")
    app_port = int(live_server.rsplit(":", 1)[1])

    plain, tls = free_port(), free_port()
    site = SHIPPED.read_text()
    assert "\nshop.lan {" in site and "reverse_proxy 127.0.0.1:8080" in site  # the example still has these lines
    site = (site.replace("\nshop.lan {", f"\nhttps://localhost:{tls} {{")
            .replace("reverse_proxy 127.0.0.1:8080", f"reverse_proxy 127.0.0.1:{app_port}"))
    globals_ = f"{{\n\thttp_port {plain}\n\thttps_port {tls}\n\tadmin off\n\tskip_install_trust\n\tdefault_bind 127.0.0.1\n}}\n"
    (tmp_path / "Caddyfile").write_text(globals_ + site)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    log = open(tmp_path / "caddy.log", "wb")
    proc = subprocess.Popen([caddy, "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    root = tmp_path / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def up():
        assert proc.poll() is None, (tmp_path / "caddy.log").read_text()[-3000:]
        if not root.exists():
            return False
        try:
            return _get(tls, "/healthz", context=ssl.create_default_context(cafile=str(root)))[0] == 200
        except (OSError, ssl.SSLError):
            return False
    try:
        wait_for(up, timeout=30, what="caddy in front of the app")
        yield {"plain": plain, "tls": tls, "context": ssl.create_default_context(cafile=str(root))}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _get(port, path, headers=None, context=None):
    if context is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def test_over_caddy_https_with_hsts_a_secure_cookie_and_a_redirect_from_http(proxied):
    status, headers, _ = _get(proxied["tls"], "/login", context=proxied["context"])
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Secure" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]

    status, headers, _ = _get(proxied["plain"], "/orders?page=2", {"Host": f"localhost:{proxied['plain']}"})
    assert status in (301, 302, 307, 308) and headers["Location"].startswith("https://localhost")

    spoofed = {"X-Forwarded-Proto": "http", "X-Forwarded-For": "10.9.9.9"}
    status, headers, _ = _get(proxied["tls"], "/login", spoofed, context=proxied["context"])
    assert status == 200 and "Strict-Transport-Security" in headers  # still HTTPS, not sent round again
