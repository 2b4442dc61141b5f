"""The session cookie is HttpOnly and SameSite=Lax always, and Secure when the request came over TLS."""
from __future__ import annotations

import re

from .web_helpers import PASSWORD, post_form


def session_cookie_header(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_cookie_flags_over_plain_http(client_for, users):
    client = client_for(None)
    header = session_cookie_header(client.get("/login"))
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header


def test_cookie_is_secure_when_served_over_tls(client_for, users):
    client = client_for(None)
    form = client.get("/login", base_url="https://shop.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post("/login", base_url="https://shop.example",
                           data={"username": "sam", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    header = session_cookie_header(response)
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


def test_a_disabled_user_is_signed_out_at_the_next_click(staff, users):
    from appliance import accounts
    assert staff.get("/orders").status_code == 200
    accounts.set_active("sam", False, "ada")
    assert staff.get("/orders").status_code == 302


def test_changing_the_password_signs_out_the_other_sessions(client_for):
    here, elsewhere = client_for("staff"), client_for("staff")
    response = post_form(here, "/account/password", {"current_password": PASSWORD, "new_password": "a-new-pass-456",
                                                     "repeat_password": "a-new-pass-456"})
    assert response.status_code == 302
    assert here.get("/orders").status_code == 200
    assert elsewhere.get("/orders").status_code == 302
