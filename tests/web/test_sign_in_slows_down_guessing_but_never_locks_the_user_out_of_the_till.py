"""Sign-in: every failure gets one answer; after security.login_max_failures from an address each further
attempt from there waits (doubling), unchecked; a user name waits only at the address it failed from, so
an attacker elsewhere cannot keep the user out of the till. No account is ever locked."""
from __future__ import annotations

import json
import re
from contextlib import ExitStack
from datetime import timedelta


from appliance import accounts, clock
from appliance.models import AuditEvent, SignInThrottle

from .web_helpers import PASSWORD, post_form

TILL = "10.0.0.5"
ATTACKER = "203.0.113.66"
ANSWER = accounts.SIGN_IN_FAILED


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.get("/login")
    return client


def sign_in(client, password: str, username: str = "sam"):
    return post_form(client, "/login", {"username": username, "password": password})


def later(seconds: float):
    return clock.shifted_to(clock.utcnow() + timedelta(seconds=seconds))


def test_after_five_failures_even_the_right_password_waits_with_the_same_answer_then_works(app, users, settings, hasher):
    assert settings.security.login_max_failures == 5
    client = client_at(app, TILL)
    with later(0):
        for _ in range(5):
            response = sign_in(client, "wrong-password")
            assert response.status_code == 401
            assert ANSWER in response.get_data(as_text=True)
        waiting = sign_in(client, PASSWORD)
        assert waiting.status_code == 401 and ANSWER in waiting.get_data(as_text=True)
        assert "locked" not in waiting.get_data(as_text=True).lower()
        assert hasher.checks == 5  # the attempt that had to wait was not checked
        assert client.get("/orders").status_code == 302
        with later(settings.security.login_first_wait_seconds + 0.5):
            assert sign_in(client, PASSWORD).headers["Location"] == "/orders"
            assert client.get("/orders").status_code == 200


def test_an_attackers_failures_from_another_address_do_not_keep_the_user_out_of_the_till(app, users, settings, hasher):
    attacker = client_at(app, ATTACKER)
    with later(0):
        for _ in range(40):
            assert sign_in(attacker, "guess").status_code == 401
        assert hasher.checks <= 6  # 5 free, perhaps one more if a second passed
        assert sign_in(attacker, PASSWORD).status_code == 401  # the attacker's address waits, even for the right one
        till = client_at(app, TILL)
        assert sign_in(till, PASSWORD).headers["Location"] == "/orders"
        assert till.get("/orders").status_code == 200


def test_an_attacker_who_keeps_at_it_for_half_an_hour_never_keeps_the_till_waiting_more_than_seconds(app, users, settings, hasher):
    security = settings.security
    attacker = client_at(app, ATTACKER)
    with ExitStack() as moved:
        simulated = 0.0
        while simulated < 30 * 60:  # the attacker tries again the moment its address may
            assert sign_in(attacker, "guess").status_code == 401
            row = SignInThrottle.get((SignInThrottle.kind == "address") & (SignInThrottle.key == ATTACKER))
            step = max(0.0, row.next_allowed_at - clock.now().timestamp()) + 0.01
            assert step <= security.lockout_minutes * 60 + 1
            moved.enter_context(later(step))
            simulated += step
        # 5 free, the waits 1, 2, 4 … 256 s, then one every 5 minutes: ~20 checks, not thousands
        assert hasher.checks <= 5 + 9 + 30 * 60 // (security.lockout_minutes * 60) + 1
        till = client_at(app, TILL)
        first = sign_in(till, PASSWORD)
        if first.status_code == 401:  # the user name may be waiting: seconds, never a lock
            with later(security.login_user_max_wait_seconds + 0.5):
                assert sign_in(till, PASSWORD).headers["Location"] == "/orders"
        else:
            assert first.headers["Location"] == "/orders"


def test_unknown_and_known_user_names_get_the_same_answer_for_the_same_work(app, users, hasher):
    known = sign_in(client_at(app, "10.0.0.21"), "wrong-password", "sam")
    assert hasher.checks == 1
    unknown = sign_in(client_at(app, "10.0.0.22"), "wrong-password", "sma")
    assert hasher.checks == 2  # an unknown name costs one argon2 check too: the timing tells nothing
    assert known.status_code == unknown.status_code == 401
    def page(response, name: str) -> str:  # without the typed name and the session's own CSRF token
        body = response.get_data(as_text=True).replace(f'value="{name}"', "")
        return re.sub(r'name="csrf_token" value="[^"]+"', "", body)
    assert page(known, "sam") == page(unknown, "sma")


def test_a_failed_sign_in_is_audited_with_the_address(app, users):
    sign_in(client_at(app, TILL), "wrong-password")
    sign_in(client_at(app, TILL), "wrong-password", "nobody")
    events = AuditEvent.select().where(AuditEvent.action == "user.sign_in_failed").order_by(AuditEvent.id)
    assert [(e.entity_id, e.actor, json.loads(e.after)) for e in events] == [
        ("sam", f"sign-in:{TILL}", {"address": TILL, "reason": "wrong password"}),
        ("nobody", f"sign-in:{TILL}", {"address": TILL, "reason": "unknown user"}),
    ]


def test_a_failed_sign_in_keeps_the_username_but_never_the_password(client_for, users):
    client = client_for(None)
    client.get("/login")
    body = sign_in(client, "wrong-password").get_data(as_text=True)
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
