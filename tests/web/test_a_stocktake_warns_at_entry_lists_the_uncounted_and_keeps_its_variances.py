"""A stocktake page warns as soon as a count is below what orders reserve (linking them), lists the
products nobody counted, needs a reason to post, and still shows expected, counted and variance after."""
from __future__ import annotations

import json
import re

from appliance import inventory, orders
from appliance.models import AuditEvent, StocktakeSession

from .web_helpers import post_form


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_a_stocktake_warns_at_entry_lists_the_uncounted_and_keeps_its_variances(staff, manager, make_product, settings):
    make_product("TEA", stock=10)
    make_product("MUG", stock=3)
    make_product("JAM", stock=5)
    order, _ = orders.create_order(settings, channel="phone", lines=[orders.LineRequest("MUG", 2)], actor="sam")
    assert post_form(staff, "/stocktake", {"location": "floor"}).status_code == 302
    take = StocktakeSession.get().id

    post_form(staff, f"/stocktake/{take}/count", {"code": "TEA", "counted": "8"})
    warned = post_form(staff, f"/stocktake/{take}/count", {"code": "MUG", "counted": "1"}, follow_redirects=True)
    page = warned.get_data(as_text=True)
    assert f"but 2 are reserved for orders {order.number}" in _text(warned)
    assert f'href="/orders/{order.number}"' in page
    uncounted = page[page.index('id="uncounted"'):]
    assert "JAM" in uncounted and "TEA" not in uncounted
    for_manager = manager.get(f"/stocktake/{take}").get_data(as_text=True)
    assert 'data-confirm="post-dialog"' not in for_manager and "Posting waits until" in for_manager

    assert post_form(staff, f"/stocktake/{take}/post", {"reason": "monthly"}).status_code == 403
    refused = post_form(manager, f"/stocktake/{take}/post", {"reason": "monthly"})
    assert refused.status_code == 409 and "reserved" in _text(refused)
    post_form(staff, f"/stocktake/{take}/count", {"code": "MUG", "counted": "2"})
    no_reason = post_form(manager, f"/stocktake/{take}/post", {"reason": "  "})
    assert no_reason.status_code == 422 and "Say why" in _text(no_reason)
    assert StocktakeSession.get_by_id(take).status == "open"

    assert post_form(manager, f"/stocktake/{take}/post", {"reason": "monthly count"}).status_code == 302
    inventory.receive("TEA", 5, "test")  # stock moving on after posting changes nothing on the stocktake
    posted = _text(manager.get(f"/stocktake/{take}"))
    assert "MUG Product MUG 3 2 -1 sam" in posted
    assert "TEA Product TEA 10 8 -2 sam" in posted
    assert "by maria: monthly count" in posted
    event = AuditEvent.select().where(AuditEvent.action == "stocktake.post").get()
    assert json.loads(event.after)["reason"] == "monthly count"
