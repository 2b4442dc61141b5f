"""The server refuses a cancel or reject form without a reason (the dialog's `required` is only the
browser's); with one, the reason is in the order's timeline and its audit event."""
from __future__ import annotations

import json

from appliance import orders
from appliance.models import AuditEvent

from .web_helpers import post_form


def test_a_cancel_or_reject_without_a_reason_is_refused_and_a_given_reason_is_kept(staff, manager, make_product, settings):
    make_product("TEA", stock=10)
    make_product("SAFE", 150_000, stock=3)
    confirmed, _ = orders.create_order(settings, channel="web", lines=[orders.LineRequest("TEA", 2)], actor="sam")
    pending, _ = orders.create_order(settings, channel="phone", lines=[orders.LineRequest("SAFE", 1)], actor="sam")

    for client, number in ((staff, confirmed.number), (manager, pending.number)):
        refused = post_form(client, f"/orders/{number}/cancel", {"reason": "   "})
        assert refused.status_code == 422 and "needs a reason" in refused.get_data(as_text=True)
    assert (orders.get_order(confirmed.number).status, orders.get_order(pending.number).status) == ("confirmed", "pending")

    assert post_form(staff, f"/orders/{confirmed.number}/cancel", {"reason": "paid elsewhere"}).status_code == 302
    assert post_form(manager, f"/orders/{pending.number}/cancel", {"reason": "address looks fake"}).status_code == 302
    assert "paid elsewhere" in staff.get(f"/orders/{confirmed.number}").get_data(as_text=True)
    assert "address looks fake" in manager.get(f"/orders/{pending.number}").get_data(as_text=True)
    notes = {e.entity_id: json.loads(e.after)["note"] for e in AuditEvent.select().where(AuditEvent.action == "order.cancel")}
    assert notes == {confirmed.number: "paid elsewhere", pending.number: "address looks fake"}
