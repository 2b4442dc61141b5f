"""The change-password page and the admin's user pages refuse a common password or one containing the user
name with one sentence next to the field, and keep the old password."""
from __future__ import annotations

import re

from appliance import accounts

from .web_helpers import PASSWORD, post_form


def _field_error(body: str, field: str) -> str:
    match = re.search(rf'id="{field}"[^>]*>\s*<span class="field-error" id="{field}-error">([^<]+)</span>', body)
    assert match, f"no error next to {field}"
    return match.group(1)


def test_changing_ones_password_to_a_common_one_is_refused(staff, users):
    response = post_form(staff, "/account/password", {"current_password": PASSWORD, "new_password": "Password123!",
                                                      "repeat_password": "Password123!"})
    assert response.status_code == 422
    assert "most common passwords" in _field_error(response.get_data(as_text=True), "new_password")
    assert accounts.authenticate("sam", PASSWORD, address="10.0.0.7").username == "sam"


def test_changing_ones_password_to_one_with_the_user_name_is_refused(staff, users):
    response = post_form(staff, "/account/password", {"current_password": PASSWORD, "new_password": "sam-at-the-till",
                                                      "repeat_password": "sam-at-the-till"})
    assert response.status_code == 422
    assert _field_error(response.get_data(as_text=True), "new_password") == "Password must not contain the user name."


def test_an_admin_cannot_add_a_user_with_a_common_password(admin, users):
    response = post_form(admin, "/admin/users", {"username": "lena", "role": "staff", "password": "qwertyuiop",
                                                 "repeat_password": "qwertyuiop"})
    assert response.status_code == 422
    assert "most common passwords" in response.get_data(as_text=True)
    assert "lena" not in [u.username for u in accounts.User.select()]
