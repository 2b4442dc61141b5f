"""A password an admin reset works once, to choose a new one: until then every page leads to the
password page and the API answers 403 in the one error shape; the user's own choice clears it."""
from __future__ import annotations

from appliance.models import User

from .web_helpers import post_form

GIVEN = "temporary-pass-4821"
CHOSEN = "my-own-pass-9137"


def test_a_password_reset_by_an_admin_must_be_replaced_before_anything_else(app, admin, users):
    assert post_form(admin, "/admin/users/sam/password", {"password": GIVEN}).status_code == 302
    assert User.get(User.username == "sam").must_change_password

    till = app.test_client()
    till.get("/login")
    assert post_form(till, "/login", {"username": "sam", "password": GIVEN}).status_code == 302
    for path in ("/orders", "/customers", "/stocktake"):
        response = till.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account/password", path
    api = till.get("/api/v1/orders")
    assert api.status_code == 403 and api.get_json() == {
        "error": "An admin set your password: choose your own to go on.",
        "details": [{"field": "password", "message": "must be changed"}]}
    assert "choose your own to go on" in till.get("/account/password").get_data(as_text=True)

    assert post_form(till, "/account/password", {"current_password": GIVEN, "new_password": CHOSEN,
                                                 "repeat_password": CHOSEN}).status_code == 302
    assert not User.get(User.username == "sam").must_change_password
    assert till.get("/orders").status_code == 200

    # An admin resetting their own password is choosing it: nothing is forced on them.
    post_form(admin, "/admin/users/ada/password", {"password": GIVEN})
    assert not User.get(User.username == "ada").must_change_password
