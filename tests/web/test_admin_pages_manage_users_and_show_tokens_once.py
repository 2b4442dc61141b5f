"""Admin: users and roles, and API tokens whose plaintext appears in exactly one response."""
from __future__ import annotations

import re

from appliance.models import User

from .web_helpers import post_form


def test_a_new_token_is_shown_once_and_works(admin, client_for):
    created = post_form(admin, "/admin/tokens", {"name": "webshop", "role": "staff"})
    body = created.get_data(as_text=True)
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="token-value">(sat_[^<]+)<', body).group(1)
    assert token not in admin.get("/admin/tokens").get_data(as_text=True)
    api = client_for(None).get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert post_form(admin, "/admin/tokens/webshop/revoke").status_code == 302
    assert client_for(None).get("/api/v1/products", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_duplicate_token_name_is_marked_on_the_name(admin):
    post_form(admin, "/admin/tokens", {"name": "webshop", "role": "staff"})
    again = post_form(admin, "/admin/tokens", {"name": "webshop", "role": "staff"})
    assert again.status_code == 409 and 'id="name-error">A token named webshop already exists.' in again.get_data(as_text=True)


def test_users_are_added_promoted_and_disabled(admin):
    added = post_form(admin, "/admin/users", {"username": "lena", "role": "staff", "password": "long-enough-1",
                                              "repeat_password": "long-enough-1"})
    assert added.status_code == 302
    assert post_form(admin, "/admin/users/lena/role", {"role": "manager"}).status_code == 302
    assert post_form(admin, "/admin/users/lena/active", {"active": "0"}).status_code == 302
    lena = User.get(User.username == "lena")
    assert (lena.role, lena.active) == ("manager", False)


def test_an_admin_cannot_lock_themselves_out(admin):
    assert post_form(admin, "/admin/users/ada/role", {"role": "staff"}).status_code == 409
    assert post_form(admin, "/admin/users/ada/active", {"active": "0"}).status_code == 409
    assert User.get(User.username == "ada").role == "admin"
