"""/metrics: scrapable from loopback by default; other addresses only when server.metrics_networks lists
them (else 403); with server.metrics_token_file only with that bearer token (else 401); one JSON error shape."""
from __future__ import annotations

import logging

import pytest

from web import create_app

TOKEN = "prometheus-scrape-token-0123456789"


def _scrape(app, address="127.0.0.1", token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": address})


def _error(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error", "details"} and body["error"]
    return body


def test_loopback_scrapes_by_default(app):
    response = _scrape(app)
    assert response.status_code == 200
    assert "appliance_" in response.get_data(as_text=True)


def test_an_address_outside_the_allow_list_gets_403(app):
    response = _scrape(app, "192.168.1.50")
    assert response.status_code == 403
    assert "server.metrics_networks" in _error(response)["error"]


def test_the_central_prometheus_network_can_be_allowed(settings, db):
    settings.server.metrics_networks = ["10.20.0.0/16"]
    app = create_app(settings, connect=False)
    assert _scrape(app, "10.20.3.4").status_code == 200
    assert _scrape(app, "127.0.0.1").status_code == 403


@pytest.fixture
def token_app(settings, db):
    (settings.home / "keys" / "metrics.token").write_text(TOKEN + "\n")
    settings.server.metrics_token_file = "keys/metrics.token"
    return create_app(settings, connect=False)


def test_with_a_token_file_no_token_gets_401(token_app):
    response = _scrape(token_app)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _error(response)


def test_with_a_token_file_a_wrong_token_gets_401_and_is_not_logged(token_app, caplog):
    with caplog.at_level(logging.DEBUG):
        response = _scrape(token_app, token="guessed-token-0000000000")
    assert response.status_code == 401
    assert "guessed-token" not in caplog.text and TOKEN not in caplog.text


def test_with_a_token_file_the_right_token_gets_200(token_app):
    assert _scrape(token_app, token=TOKEN).status_code == 200


def test_the_token_does_not_open_metrics_outside_the_allow_list(token_app):
    assert _scrape(token_app, "192.168.1.50", token=TOKEN).status_code == 403
