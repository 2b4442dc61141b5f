"""16 wrong passwords sent at once (threads against the app) cost at most the configured number of real
argon2 checks: each attempt claims its slot with one conditional UPDATE, so parallel attempts cannot all
read "4 failures so far" and all go on (before: 59 checks out of 200 against a limit of 5)."""
from __future__ import annotations

import threading

import pytest

from appliance import config
from tests.conftest import on_both_engines

from .web_helpers import post_form

database_url = on_both_engines()
PARALLEL = 16


@pytest.fixture
def settings(home, database_url) -> config.Settings:
    # A first wait far longer than the test: a slow machine must not let a 6th attempt through legitimately.
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url,
                                      "APPLIANCE_SECURITY_LOGIN_FIRST_WAIT_SECONDS": "600"})


def attempt_all_at_once(app, addresses: list[str]) -> list[int]:
    clients = []
    for address in addresses:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        client.get("/login")
        clients.append(client)
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def attempt(client):
        start.wait()
        statuses.append(post_form(client, "/login", {"username": "sam", "password": "wrong-password"}).status_code)

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def test_sixteen_at_once_from_one_address_get_at_most_login_max_failures_checks(app, users, settings, hasher):
    statuses = attempt_all_at_once(app, ["203.0.113.7"] * PARALLEL)
    assert statuses == [401] * PARALLEL
    assert hasher.checks == settings.security.login_max_failures == 5


def test_sixteen_at_once_for_one_user_name_at_one_address_get_at_most_login_user_max_failures_checks(app, users, settings, hasher):
    settings.security.login_max_failures = 100  # the address's own throttle out of the way: the pair's is tested
    statuses = attempt_all_at_once(app, ["203.0.113.8"] * PARALLEL)
    assert statuses == [401] * PARALLEL
    assert hasher.checks == settings.security.login_user_max_failures == 10
