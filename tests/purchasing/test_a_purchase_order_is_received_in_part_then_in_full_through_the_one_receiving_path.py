"""A purchase order goes draft → sent → partly received → received; each receipt is a "receive" row in
the stock ledger with the order's number as reference (the same path as the stock page's form), levels
equal the ledger, and what was not asked for is refused: more than a line still expects, receiving a
draft, editing a sent order. Staff may receive; editing, sending and cancelling are a manager's."""
from __future__ import annotations

import re

import pytest

from appliance import audit, inventory, purchasing, replenishment
from appliance.errors import Conflict, Invalid
from appliance.models import StockMovement

from tests.web.web_helpers import post_form


@pytest.fixture
def draft(settings, stock_product, supplier):
    stock_product("TEA", stock=2, reorder_point=10)
    stock_product("MUG", stock=0, reorder_point=4)
    supplier(carries={"TEA": (120, 1), "MUG": (300, 1)})
    (po,) = purchasing.create_from_suggestions(replenishment.suggestions(settings), "maria")
    return po


def lines(po) -> dict:
    return {line.product.sku: line for line in purchasing.lines_of(po)}


def test_receipts_move_the_order_through_its_states_and_write_the_ledger(draft, calendar_now, staff):
    now = calendar_now.replace(tzinfo=None)
    assert {sku: line.qty_ordered for sku, line in lines(draft).items()} == {"MUG": 4, "TEA": 8}
    with pytest.raises(Conflict, match="is draft; it cannot be received"):
        purchasing.receive(draft.id, {lines(draft)["TEA"].id: 1}, "sam", now)
    purchasing.mark_sent(draft.id, "maria", now)
    tea, mug = lines(draft)["TEA"], lines(draft)["MUG"]
    answer = post_form(staff, f"/purchasing/{draft.id}/receive", {f"receive_{tea.id}": "4", f"receive_{mug.id}": ""})
    assert answer.status_code == 302
    assert purchasing.purchase_order(draft.id).status == "partly_received"
    assert inventory.stock_summary(inventory.product_by_sku("TEA"))["on_hand"] == 6
    refused = post_form(staff, f"/purchasing/{draft.id}/receive", {f"receive_{tea.id}": "5"})
    assert refused.status_code == 422 and "5 is more than the 4 still expected" in refused.get_data(as_text=True)
    purchasing.receive(draft.id, {tea.id: 4, mug.id: 4}, "sam", now, location="floor")
    done = purchasing.purchase_order(draft.id)
    assert (done.status, done.received_at) == ("received", now)
    receipts = sorted((m.product.sku, m.on_hand_delta, m.reference, m.actor) for m in
                      StockMovement.select().where(StockMovement.reference == draft.number))
    assert receipts == [("MUG", 4, draft.number, "sam"), ("TEA", 4, draft.number, "sam"), ("TEA", 4, draft.number, "sam")]
    assert all(m.kind == "receive" for m in StockMovement.select().where(StockMovement.reference == draft.number))
    assert inventory.ledger_mismatches() == []
    assert audit.verify().ok
    with pytest.raises(Conflict, match="is received; it cannot be cancelled"):
        purchasing.cancel(draft.id, "maria", now)


def test_a_draft_is_edited_and_a_sent_order_is_not(draft, stock_product, calendar_now, manager):
    stock_product("POT", stock=0)
    tea = lines(draft)["TEA"]
    saved = post_form(manager, f"/purchasing/{draft.id}", {f"qty_{tea.id}": "0", "add_sku": "POT", "add_qty": "3"})
    assert saved.status_code == 302
    assert {sku: line.qty_ordered for sku, line in lines(draft).items()} == {"MUG": 4, "POT": 3}
    bad = post_form(manager, f"/purchasing/{draft.id}", {"add_sku": "POT", "add_qty": "two"})
    assert bad.status_code == 422 and "Enter a whole number." in bad.get_data(as_text=True)
    purchasing.mark_sent(draft.id, "maria", calendar_now.replace(tzinfo=None))
    with pytest.raises(Conflict, match="is sent; it cannot be edited"):
        purchasing.update_lines(draft.id, {}, "maria", add=("TEA", 1))
    with pytest.raises(Invalid, match="at least one line"):
        purchasing.receive(draft.id, {}, "sam", calendar_now.replace(tzinfo=None))


def test_staff_receive_but_do_not_edit_send_or_cancel(draft, staff):
    page = staff.get(f"/purchasing/{draft.id}").get_data(as_text=True)
    assert draft.number in page and 'id="send-po"' not in page and not re.search(r'name="qty_\d+"', page)
    assert "Unit cost" not in page and "1.20" not in page  # purchase costs are for managers
    for download in (f"/purchasing/{draft.id}?format=csv", "/purchasing?format=xlsx"):
        assert staff.get(download).mimetype == "text/html"  # the page, not the costs
    for action in ("", "/send", "/mark-sent", "/cancel"):
        assert post_form(staff, f"/purchasing/{draft.id}{action}").status_code == 403
    assert "Replenishment suggestions" not in staff.get("/purchasing").get_data(as_text=True)
    assert purchasing.purchase_order(draft.id).status == "draft"
