"""The shipped deploy/nginx/appliance.conf in front of the app with server.trusted_proxies = ["127.0.0.1"]:
over nginx's HTTPS the answer has HSTS and a Secure session cookie, the sign-in throttle counts the client's
address (X-Forwarded-For), plain HTTP is redirected to HTTPS, and a client's own forwarded headers sent to
nginx change nothing. Real nginx (Debian's), a real threaded server, 127.0.0.1 only."""
from __future__ import annotations

import http.client
import os
import re
import ssl
import subprocess
from pathlib import Path

import pytest

from cli.tls_cmd import make_self_signed
from tests.servers.ports import free_port
from tests.servers.required import tool_path
from tests.servers.waiting import wait_for

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "appliance.conf"


@pytest.fixture
def proxied(behind_a_proxy, live_server, users, tmp_path):
    nginx = tool_path("nginx", "the reverse-proxy example is tested with Debian's nginx: apt-get install nginx-light",
                      "/usr/sbin/nginx")
    app_port = int(live_server.rsplit(":", 1)[1])

    cert, key = make_self_signed(["localhost"], [], 2)
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    plain, tls = free_port(), free_port()
    site = SHIPPED.read_text()
    site = (site.replace("listen 80;", f"listen 127.0.0.1:{plain};").replace("listen [::]:80;", "")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{tls} ssl http2;")
            .replace("listen [::]:443 ssl http2;", "")
            .replace("/etc/nginx/appliance/", f"{tmp_path}/")
            .replace("proxy_pass http://127.0.0.1:8080;", f"proxy_pass http://127.0.0.1:{app_port};"))
    assert f"127.0.0.1:{tls} ssl" in site and str(app_port) in site  # the example still has these lines
    temp = "".join(f"{name}_temp_path {tmp_path}/{name};\n" for name in
                   ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "") +
        f"daemon off;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{ worker_connections 64; }}\nhttp {{\naccess_log off;\n{temp}{site}\n}}\n")
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    context = ssl.create_default_context(cafile=str(tmp_path / "tls.crt"))

    def up():
        assert proc.poll() is None, proc.stdout.read().decode()
        try:
            return _get(tls, "/healthz", context=context)[0] == 200
        except OSError:
            return False
    try:
        wait_for(up, timeout=15, what="nginx in front of the app")
        yield {"plain": plain, "tls": tls, "context": context}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get(port, path, headers=None, context=None, method="GET", body=None):
    if context is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def test_over_nginx_https_the_answer_has_hsts_and_a_secure_cookie(proxied):
    status, headers, _ = _get(proxied["tls"], "/login", context=proxied["context"])
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Secure" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]


def test_plain_http_to_nginx_is_redirected_to_https(proxied):
    status, headers, _ = _get(proxied["plain"], "/orders?page=2", {"Host": "shop.lan"})
    assert status == 301 and headers["Location"] == "https://shop.lan/orders?page=2"


def test_a_clients_own_forwarded_headers_are_overwritten_by_nginx(proxied):
    spoofed = {"X-Forwarded-Proto": "http", "X-Forwarded-For": "127.0.0.1"}
    status, headers, _ = _get(proxied["tls"], "/login", spoofed, context=proxied["context"])
    assert status == 200 and "Strict-Transport-Security" in headers  # still HTTPS, not sent round again


def test_the_sign_in_throttle_counts_the_clients_real_address_not_a_claimed_one(proxied):
    from appliance.models import SignInThrottle
    status, headers, body = _get(proxied["tls"], "/login", context=proxied["context"])
    cookie = headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    form = f"username=sam&password=wrong-guess-123&csrf_token={token}"
    status, _, _ = _get(proxied["tls"], "/login", {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
                                                   "X-Forwarded-For": "10.9.9.9"},
                        context=proxied["context"], method="POST", body=form)
    assert status == 401
    addresses = {row.key for row in SignInThrottle.select().where(SignInThrottle.kind == "address")}
    assert addresses == {"127.0.0.1"}  # nginx's $remote_addr (the client, here on loopback), not the claimed 10.9.9.9
