"""Signing out ends the session on the server: a copy of the cookie replayed afterwards gets the sign-in
page (before: it worked for up to 12 h). "Sign out everywhere" on the account page ends every session
of that user, on every tablet, and nobody else's. Both tell the browser to drop its cached pages (the
till's stay cached for a shift to sell while the box is away), but not its storage (the sales the
till took offline and has not handed over yet)."""
from __future__ import annotations

from .web_helpers import PASSWORD, post_form


def signed_in(app, username: str = "sam"):
    client = app.test_client()
    client.get("/login")
    response = post_form(client, "/login", {"username": username, "password": PASSWORD})
    assert response.headers["Location"] == "/orders"
    return client


def replay(app, cookie: str):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def test_a_cookie_replayed_after_sign_out_gets_the_sign_in_page(app, users):
    client = signed_in(app)
    cookie = client.get_cookie("session").value
    assert replay(app, cookie).get("/orders").status_code == 200  # a copy works while signed in

    signed_out = post_form(client, "/logout")
    assert signed_out.headers["Location"] == "/login"
    assert signed_out.headers["Clear-Site-Data"] == '"cache"'

    replayed = replay(app, cookie).get("/orders")
    assert replayed.status_code == 302
    assert replayed.headers["Location"].startswith("/login")
    assert replay(app, cookie).get("/api/v1/orders").status_code == 401


def test_sign_out_everywhere_ends_the_users_other_sessions_and_no_one_elses(app, users):
    counter, office = signed_in(app), signed_in(app)
    manager = signed_in(app, "maria")
    account_page = counter.get("/account/password").get_data(as_text=True)
    assert 'action="/account/sign-out-everywhere"' in account_page

    response = post_form(counter, "/account/sign-out-everywhere")
    assert response.headers["Location"] == "/login" and response.headers["Clear-Site-Data"] == '"cache"'

    for client in (counter, office):
        page = client.get("/orders")
        assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert manager.get("/orders").status_code == 200
    assert signed_in(app).get("/orders").status_code == 200  # signing in again works


def test_sign_out_everywhere_needs_a_post_with_the_forms_token(app, users):
    client = signed_in(app)
    assert client.get("/account/sign-out-everywhere").status_code == 405
    assert client.post("/account/sign-out-everywhere").status_code == 403  # no CSRF token
    assert client.get("/orders").status_code == 200
