"""Fixtures for the web pages: users of each role, signed-in test clients, a live server, a browser.

Passwords are hashed once per session (argon2 is deliberately slow); test clients are signed in by
writing the same session the sign-in page writes, so only the sign-in tests pay for a real check.
Browser tests drive Debian's /usr/bin/chromium through Playwright (never `playwright install`).
"""
from __future__ import annotations

import os
import socket
import threading

import pytest
from werkzeug.serving import make_server

from appliance import accounts, inventory
from appliance.models import User
from web import create_app

from tests.servers.required import module, need

from .web_helpers import CHROMIUM, CHROMIUM_ARGS, PASSWORD, USERNAMES, sign_in


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives headless Chromium against a live server (one browser per session)")


@pytest.fixture(scope="session")
def password_hash() -> str:
    return accounts.hash_password(PASSWORD)


@pytest.fixture
def app(settings, db):
    return create_app(settings, connect=False)


@pytest.fixture
def users(db, password_hash) -> dict[str, User]:
    return {role: accounts.create_user(name, "", role, "test", password_hash=password_hash)
            for role, name in USERNAMES.items()}


@pytest.fixture
def client_for(app, users):
    """client_for("manager") -> a test client signed in as the manager; None -> anonymous."""
    def make(role: str | None):
        client = app.test_client()
        return sign_in(client, users[role]) if role else client
    return make


@pytest.fixture
def staff(client_for):
    return client_for("staff")


@pytest.fixture
def manager(client_for):
    return client_for("manager")


@pytest.fixture
def admin(client_for):
    return client_for("admin")


@pytest.fixture
def make_product(db):
    def make(sku: str, price_cents: int = 250, stock: int = 10, barcode: str | None = None,
             name: str | None = None, **fields):
        """A product (any other field of inventory.create_product by name) with `stock` received."""
        inventory.create_product({"sku": sku, "name": name or f"Product {sku}", "price_cents": price_cents,
                                  "barcode": barcode, **fields}, "test")
        if stock:
            inventory.receive(sku, stock, "test")
        return inventory.product_by_sku(sku)
    return make


# -- live server and browser ------------------------------------------------------------------

@pytest.fixture
def behind_a_proxy(settings):
    """Settings of a box behind a reverse proxy on this machine; ask for it before `live_server`."""
    settings.server.trusted_proxies = ["127.0.0.1"]
    settings.server.https_only = True
    return settings


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    playwright_api = module("playwright.sync_api", "the browser tests drive Chromium with it: pip install -e '.[test]'")
    if not os.access(CHROMIUM, os.X_OK):
        need("chromium", f"{CHROMIUM} is missing: apt-get install chromium (./dev test does)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) at tablet width, pointed at the live server."""
    context = browser.new_context(base_url=live_server, viewport={"width": 800, "height": 1100})
    context.set_default_timeout(5000)
    tab = context.new_page()
    yield tab
    context.close()


class CountingHasher:
    """The real argon2 hasher, counting its password checks."""

    def __init__(self, real):
        self.real, self.checks, self._lock = real, 0, threading.Lock()

    def verify(self, password_hash, password):
        with self._lock:
            self.checks += 1
        return self.real.verify(password_hash, password)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def hasher(monkeypatch) -> CountingHasher:
    """accounts' argon2 hasher, counting how many passwords it really checks."""
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


class StoppableServer:
    """The app on one port that can be stopped (listening socket and open connections: the box is
    gone) and started again on the same port, as a box restarting behind the shop's address."""

    def __init__(self, app):
        self.app, self.port, self._server, self._thread, self._connections = app, 0, None, None, []

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        accept = self._server.get_request

        def get_request():
            conn, address = accept()
            self._connections.append(conn)
            return conn, address
        self._server.get_request = get_request
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        for conn in self._connections:  # kept-alive connections would still answer
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._connections.clear()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def till_box(app):
    """The app on a port of its own that a test can stop and start again (the box going away)."""
    server = StoppableServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def till(browser, till_box):
    """A browser context for the till, on `till_box`'s address."""
    context = browser.new_context(base_url=till_box.url, viewport={"width": 800, "height": 1100})
    context.set_default_timeout(5000)
    yield context
    context.close()
