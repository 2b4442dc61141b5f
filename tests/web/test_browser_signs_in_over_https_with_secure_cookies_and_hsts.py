"""A real `appliance serve` with the certificate `appliance tls self-signed` made: Chromium signs in over HTTPS
and gets a Secure session cookie and HSTS; the served certificate is the one whose fingerprint was printed;
a client's X-Forwarded-Proto (not from a trusted proxy) changes nothing."""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import signal
import ssl
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.durability.served import APPLIANCE, REPO
from tests.servers.ports import free_port
from tests.servers.waiting import wait_for

pytestmark = pytest.mark.browser
ADMIN_PASSWORD = "quiet harbour lamp 42"


def _cli(home: Path, env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(APPLIANCE + ["--home", str(home), *args], input=stdin, capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("tls") / "home"
    env = {**os.environ, "APPLIANCE_HOME": str(home), "APPLIANCE_SERVER_ORDER_WRITER": "false"}
    env.pop("APPLIANCE_DATABASE_URL", None)
    _cli(home, env, "init", "--admin-password-stdin", stdin=ADMIN_PASSWORD + "\n")
    out = _cli(home, env, "tls", "self-signed")
    fingerprint = re.search(r"SHA-256 fingerprint: ([0-9A-F:]{95})", out).group(1)
    port, plain_port = free_port(), free_port()
    env["APPLIANCE_SERVER_HTTP_REDIRECT_PORT"] = str(plain_port)
    log = open(home / "logs" / "serve.log", "ab")
    proc = subprocess.Popen(APPLIANCE + ["--home", str(home), "serve", "--host", "127.0.0.1", "--port", str(port),
                                         "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                            start_new_session=True)
    pinned = ssl.create_default_context(cafile=str(home / "keys" / "tls.crt"))  # the certificate is its own CA

    def ready():
        assert proc.poll() is None, (home / "logs" / "serve.log").read_text()[-2000:]
        try:
            return _request(port, pinned, "/readyz")[0] == 200
        except OSError:
            return False
    try:
        wait_for(ready, timeout=40, what="appliance serve over HTTPS")
        wait_for(lambda: _plain_status(plain_port, "/") == 308, timeout=20, what="the plain-HTTP redirect port")
        yield {"port": port, "plain_port": plain_port, "home": home, "fingerprint": fingerprint, "pinned": pinned}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def _plain_status(port, path):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None


def _request(port, context, path, headers=None):
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, response.headers
    finally:
        connection.close()


def test_the_served_certificate_is_the_one_whose_fingerprint_was_printed(served):
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", served["port"])))
    assert ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()) == served["fingerprint"]


def test_chromium_signs_in_over_https_with_a_secure_cookie_and_hsts(served, browser):
    base = f"https://127.0.0.1:{served['port']}"
    context = browser.new_context(base_url=base, ignore_https_errors=True, viewport={"width": 800, "height": 1100})
    context.set_default_timeout(10000)
    try:
        page = context.new_page()
        response = page.goto(f"http://127.0.0.1:{served['plain_port']}/login")  # typed without https
        assert response.url == f"{base}/login"
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url.startswith(f"{base}/orders")
        session = next(c for c in context.cookies() if c["name"] == "session")
        assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax"
    finally:
        context.close()


def test_a_clients_forwarded_proto_does_not_turn_https_off(served):
    status, headers = _request(served["port"], served["pinned"], "/login", {"X-Forwarded-Proto": "http"})
    assert status == 200
    assert "Strict-Transport-Security" in headers
    assert "Secure" in headers["Set-Cookie"]


def test_the_monitors_watch_the_served_certificate_and_probe_readyz_over_https(served):
    env = {**os.environ, "APPLIANCE_HOME": str(served["home"])}
    env.pop("APPLIANCE_DATABASE_URL", None)
    out = _cli(served["home"], env, "monitors", "run-once", "--check", "tls_expiry", "--check", "readyz",
               "--no-deliver")
    line = next(line for line in out.splitlines() if "tls_expiry" in line)
    assert "ok" in line and "keys/tls.crt" in line and "certificate valid until" in line, out
    readyz = next(line for line in out.splitlines() if "readyz" in line)  # probed over HTTPS
    assert " ok " in f" {readyz} " and "ready" in readyz, out


def test_plain_http_on_the_redirect_port_is_sent_to_https_with_its_path(served):
    connection = http.client.HTTPConnection("127.0.0.1", served["plain_port"], timeout=5)
    connection.request("POST", "/login?next=/orders", body=b"x=1", headers={"Host": "shop.lan:8081"})
    response = connection.getresponse()
    assert response.status == 308
    assert response.headers["Location"] == f"https://shop.lan:{served['port']}/login?next=/orders"


def test_the_redirect_port_refuses_a_host_header_that_is_not_a_host(served):
    connection = http.client.HTTPConnection("127.0.0.1", served["plain_port"], timeout=5)
    connection.request("GET", "//evil.example/x", headers={"Host": "evil.example/@shop"})
    response = connection.getresponse()
    assert response.status == 400 and response.headers.get("Location") is None
    connection = http.client.HTTPConnection("127.0.0.1", served["plain_port"], timeout=5)
    connection.request("GET", "//evil.example/x", headers={"Host": "[::1]:8081"})
    location = urlsplit(connection.getresponse().headers["Location"])
    assert (location.scheme, location.netloc) == ("https", f"[::1]:{served['port']}")  # never another site
