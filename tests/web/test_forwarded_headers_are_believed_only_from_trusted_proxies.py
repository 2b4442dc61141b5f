"""Behind a reverse proxy: X-Forwarded-Proto/-For count only from server.trusted_proxies; over HTTPS every
answer has HSTS and a Secure session cookie; plain HTTP from the LAN is redirected to HTTPS, loopback is not."""
from __future__ import annotations

import pytest

from web import create_app

PROXY = "10.0.0.1"
HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.168.1.20", "X-Forwarded-Host": "shop.lan"}


@pytest.fixture
def proxied_app(settings, db):
    settings.server.trusted_proxies = [f"{PROXY}/32"]
    settings.server.https_only = True
    return create_app(settings, connect=False)


def _get(app, path, address, headers=None):
    return app.test_client().get(path, headers=headers or {}, environ_base={"REMOTE_ADDR": address})


def _session_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_a_trusted_proxy_saying_https_gets_hsts_and_a_secure_cookie(proxied_app):
    response = _get(proxied_app, "/login", PROXY, HTTPS)
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Secure" in _session_cookie(response)


def test_an_untrusted_clients_forwarded_proto_is_ignored_and_it_is_sent_to_https(proxied_app):
    response = _get(proxied_app, "/login?next=/orders", "192.168.1.20", HTTPS)
    assert response.status_code == 308
    assert response.headers["Location"] == "https://localhost/login?next=/orders"  # its own Host, not the claimed one
    assert "Strict-Transport-Security" not in response.headers


def test_plain_http_through_the_proxy_is_redirected_to_https(proxied_app):
    response = _get(proxied_app, "/orders", PROXY, {**HTTPS, "X-Forwarded-Proto": "http"})
    assert response.status_code == 308
    assert response.headers["Location"] == "https://shop.lan/orders"


def test_loopback_stays_plain_http_without_hsts(proxied_app):
    response = _get(proxied_app, "/login", "127.0.0.1")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in _session_cookie(response)


def test_without_trusted_proxies_even_loopback_cannot_claim_https(app, users):
    response = _get(app, "/login", "127.0.0.1", HTTPS)
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers
    assert "Secure" not in _session_cookie(response)


def test_without_https_configured_the_lan_is_served_plain_http(app, users):
    assert _get(app, "/login", "192.168.1.20").status_code == 200
