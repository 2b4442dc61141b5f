"""The shift close page shows the takings since the last close, compares the cash counted with the
float plus the cash taken, records the difference (the same close as the API), and refuses an amount
it cannot read without closing anything."""
from __future__ import annotations

import re

from appliance import orders, payments
from appliance.models import ShiftClose

from .web_helpers import post_form


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_shift_close_page_counts_the_drawer_against_the_payments(staff, manager, make_product, settings):
    make_product("TEA", 350, stock=10)
    orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 2)], actor="sam",
                        paid_with=payments.parse([{"method": "cash", "amount_cents": 700, "tendered_cents": 1000}]))
    orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 1)], actor="sam",
                        paid_with=payments.parse([{"method": "card", "amount_cents": 350}]))
    page = _text(staff.get("/shift-close"))
    assert "cash 7.00" in page and "card 3.50" in page and "other 0.00" in page
    assert "the first shift" in page

    refused = post_form(staff, "/shift-close", {"float": "100", "counted_cash": "lots"})
    assert refused.status_code == 422 and "as an amount like 150.00" in _text(refused)
    assert ShiftClose.select().count() == 0

    closed = post_form(staff, "/shift-close", {"float": "100.00", "counted_cash": "106.50", "note": "coin jar"},
                       follow_redirects=True)
    page = _text(closed)
    assert "Shift closed: the drawer is 0.50 short." in page
    assert "Cash expected 107.00 (100.00 float + 7.00 cash) Cash counted 106.50 Difference -0.50 short" in page
    close = ShiftClose.get()
    assert (close.expected_cash_cents, close.counted_cash_cents, close.difference_cents, close.closed_by) == (
        10700, 10650, -50, "sam")
    assert "cash 0.00" in page and "card 0.00" in page  # the next shift starts empty
    assert 'id="shift-closes"' not in closed.get_data(as_text=True)  # the history is for managers
    history = manager.get("/shift-close").get_data(as_text=True)
    assert 'id="shift-closes"' in history and "coin jar" in history
