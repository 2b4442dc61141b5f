"""The change-password page checks the current password like a sign-in: after security.login_max_failures
wrong ones from an address, further attempts wait, unchecked (a stolen session cannot guess faster than the
sign-in page), every failure is audited, and after the wait the right password works."""
from __future__ import annotations

from datetime import timedelta

from appliance import accounts, clock
from appliance.models import AuditEvent

from .web_helpers import PASSWORD, post_form, sign_in

NEW = "blue tram oven 77"


def _change(client, current: str):
    return post_form(client, "/account/password", {"current_password": current, "new_password": NEW,
                                                   "repeat_password": NEW})


def later(seconds: float):
    return clock.shifted_to(clock.utcnow() + timedelta(seconds=seconds))


def test_wrong_current_passwords_are_throttled_and_audited(app, users, settings, hasher):
    client = sign_in(app.test_client(), users["staff"])
    client.environ_base["REMOTE_ADDR"] = "10.0.0.8"
    free = settings.security.login_max_failures
    with later(0):
        for _ in range(free + 10):
            response = _change(client, "a-wrong-guess-1")
            assert response.status_code == 422
            assert "wrong" in response.get_data(as_text=True)
        assert hasher.checks == free  # the attempts that had to wait were not checked
        refused = _change(client, PASSWORD)  # even the right one waits
        assert refused.status_code == 422 and hasher.checks == free
        assert accounts.authenticate("sam", PASSWORD, address="10.0.0.99").username == "sam"  # password unchanged
        failures = AuditEvent.select().where(AuditEvent.action == "user.password_change_failed").count()
        assert failures == free + 11
    with later(settings.security.lockout_minutes * 60 + 1):
        assert _change(client, PASSWORD).status_code == 302
        assert accounts.authenticate("sam", NEW, address="10.0.0.99").username == "sam"


def test_a_refused_new_password_costs_no_guess(app, users, hasher):
    client = sign_in(app.test_client(), users["staff"])
    response = post_form(client, "/account/password", {"current_password": "a-wrong-guess-1",
                                                       "new_password": "password1234", "repeat_password": "password1234"})
    assert response.status_code == 422
    assert hasher.checks == 0
