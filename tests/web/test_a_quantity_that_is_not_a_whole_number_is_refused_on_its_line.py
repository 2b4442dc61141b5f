"""Order entry on the server side: a quantity that is not a whole number (1.5, "2,5", "one", 0) is refused,
the message names the line it was typed on, and the page gives that line back with what was typed;
no order is made and nothing is reserved."""
from __future__ import annotations

import json
import re

from appliance import inventory
from appliance.models import Order

from .web_helpers import post_form


def _state(body: str) -> dict:
    found = re.search(r'<script type="application/json" id="order-state">(.*?)</script>', body, re.S)
    return json.loads(found.group(1))


def test_a_fractional_quantity_is_refused_naming_its_line(staff, make_product):
    make_product("TEA", 350, stock=10)
    make_product("MUG", 1200, stock=5)
    key = re.search(r'name="form_key" value="([^"]+)"', staff.get("/orders/new").get_data(as_text=True)).group(1)
    for typed in ("1.5", "2,5", "one", "0", "-2"):
        response = post_form(staff, "/orders/new", {"form_key": key, "channel": "store", "line_sku": ["TEA", "MUG"],
                                                    "line_qty": ["2", typed]})
        assert response.status_code == 422, typed
        body = response.get_data(as_text=True)
        assert "Fix the quantity on line 2 (MUG)" in body
        state = _state(body)
        assert state["errors"] == {"MUG": state["errors"]["MUG"]} and state["typed"] == {"MUG": typed}
        expected = "Enter a whole number above zero." if typed in ("0", "-2") else "is not a whole number"
        assert expected in state["errors"]["MUG"], typed
        assert [(line["sku"], line["qty"]) for line in state["lines"]] == [("TEA", 2), ("MUG", 0)]
    assert Order.select().count() == 0
    assert inventory.stock_summary(inventory.product_by_sku("MUG"))["reserved"] == 0

    done = post_form(staff, "/orders/new", {"form_key": key, "channel": "store", "line_sku": ["TEA", "MUG"],
                                            "line_qty": ["2", " 3 "]})
    assert done.status_code == 302
    assert [(line.product.sku, line.qty) for line in Order.get().lines] == [("TEA", 2), ("MUG", 3)]
