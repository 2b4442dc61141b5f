"""Sign-in: wrong passwords are counted; after security.login_max_failures the account is locked and
the page says so plainly, even for the right password."""
from __future__ import annotations

from .web_helpers import PASSWORD, post_form


def sign_in(client, password: str):
    client.get("/login")
    return post_form(client, "/login", {"username": "sam", "password": password})


def test_the_account_locks_after_five_failures_and_says_for_how_long(client_for, users, settings):
    client = client_for(None)
    assert settings.security.login_max_failures == 5
    for _ in range(4):
        response = sign_in(client, "wrong-password")
        assert response.status_code == 401
        assert "Wrong username or password." in response.get_data(as_text=True)
    locked = sign_in(client, "wrong-password")
    assert "Account locked after too many failed sign-ins; try again in 15 minutes." in locked.get_data(as_text=True)
    right_password = sign_in(client, PASSWORD)
    assert right_password.status_code == 401
    assert "Account locked" in right_password.get_data(as_text=True)
    assert client.get("/orders").status_code == 302  # still not signed in


def test_a_failed_sign_in_keeps_the_username_but_never_the_password(client_for, users):
    body = sign_in(client_for(None), "wrong-password").get_data(as_text=True)
    assert 'value="sam"' in body
    assert "wrong-password" not in body


def test_sign_in_goes_back_to_the_page_asked_for_but_only_on_this_site(client_for, users):
    client = client_for(None)
    client.get("/login")
    back = post_form(client, "/login", {"username": "sam", "password": PASSWORD, "next": "/stock?q=TEA"})
    assert back.headers["Location"] == "/stock?q=TEA"
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        client = client_for(None)
        client.get("/login")
        away = post_form(client, "/login", {"username": "sam", "password": PASSWORD, "next": hostile})
        assert away.headers["Location"] == "/orders"


def test_signing_out_needs_a_post_and_ends_the_session(staff):
    assert staff.get("/logout").status_code == 200  # a page that asks, not a sign-out
    assert staff.get("/orders").status_code == 200
    assert post_form(staff, "/logout").status_code == 302
    assert staff.get("/orders").status_code == 302
