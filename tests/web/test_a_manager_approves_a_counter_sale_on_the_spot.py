"""A counter sale over the approval limit waits for a manager; a manager approves it on the spot on the
staff user's screen (name and password in the order page's dialog, checked as a sign-in is), the
staff user stays signed in, the sale is then paid there, and the audit trail names the manager."""
from __future__ import annotations

import json

import pytest

from appliance.models import AuditEvent, Order

from .web_helpers import PASSWORD, post_form


@pytest.fixture
def pending_sale(settings, staff, make_product) -> str:
    settings.approval.max_amount_cents = 1000
    make_product("SAFE", 2500, stock=3)
    answer = post_form(staff, "/orders/new", {"form_key": "k1", "channel": "store", "line_sku": "SAFE",
                                              "line_qty": "1", "pay_method": "cash", "pay_amount": "25.00",
                                              "pay_tendered": "30.00"})
    assert answer.status_code == 302
    order = Order.get()
    assert order.status == "pending"
    return order.number


def test_a_manager_approves_on_the_staff_screen_and_the_sale_is_paid_there(staff, manager, pending_sale):
    page = staff.get(f"/orders/{pending_sale}").get_data(as_text=True)
    assert 'id="approve-here"' in page and "sam stays signed in" in page
    assert 'id="approve-here"' not in manager.get(f"/orders/{pending_sale}").get_data(as_text=True)  # a button
    not_a_manager = post_form(staff, f"/orders/{pending_sale}/approve-at-counter",
                              {"manager_username": "sam", "manager_password": PASSWORD})
    assert not_a_manager.status_code == 403 and "sam is not a manager" in not_a_manager.get_data(as_text=True)
    assert Order.get().status == "pending"
    answer = post_form(staff, f"/orders/{pending_sale}/approve-at-counter",
                       {"manager_username": "maria", "manager_password": PASSWORD})
    assert answer.status_code == 302
    assert Order.get().status == "confirmed"
    approval = AuditEvent.get(AuditEvent.action == "order.approve")
    assert approval.actor == "maria" and "sam's screen" in json.loads(approval.after)["note"]
    paid = post_form(staff, f"/orders/{pending_sale}/pay", {"form_key": "p1", "pay_method": "cash",
                                                            "pay_amount": "25.00", "pay_tendered": "30.00"})
    assert paid.status_code == 302                           # still sam's session: the sale ends there
    assert Order.get().status == "delivered" and Order.get().created_by == "sam"


def test_a_wrong_password_is_refused_audited_and_throttled_like_a_sign_in(settings, staff, pending_sale):
    settings.security.login_user_max_failures = 1            # the sign-in throttle's own settings
    settings.security.login_first_wait_seconds = 60
    wrong = post_form(staff, f"/orders/{pending_sale}/approve-at-counter",
                      {"manager_username": "maria", "manager_password": "not-it"})
    assert wrong.status_code == 401 and "data-open" in wrong.get_data(as_text=True)
    right_too_soon = post_form(staff, f"/orders/{pending_sale}/approve-at-counter",
                               {"manager_username": "maria", "manager_password": PASSWORD})
    assert right_too_soon.status_code == 401                 # within the wait: refused without a check
    assert Order.get().status == "pending"
    assert [e.actor for e in AuditEvent.select().where(AuditEvent.action == "order.counter_approval_failed")] == [
        "sign-in:127.0.0.1", "sign-in:127.0.0.1"]
