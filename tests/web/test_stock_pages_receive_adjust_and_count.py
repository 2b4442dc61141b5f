"""Stock: levels per location with low stock marked, receiving (staff), adjusting (manager),
replenishment (manager) and a stocktake from first count to posted variances."""
from __future__ import annotations

import re

from appliance import inventory

from .web_helpers import post_form


def on_hand(sku: str) -> int:
    return inventory.stock_summary(inventory.product_by_sku(sku))["on_hand"]


def test_levels_show_per_location_and_low_stock_is_marked(staff, make_product):
    make_product("TEA", stock=10, reorder_point=2)
    make_product("MUG", stock=1, reorder_point=3)
    inventory.create_location("warehouse", "Warehouse", 30, "test")
    inventory.receive("TEA", 4, "test", "warehouse")
    body = staff.get("/stock").get_data(as_text=True)
    assert re.search(r'<tr class="product low" data-sku="MUG">', body)
    assert re.search(r'<tr class="product " data-sku="TEA">', body)
    assert '<td>warehouse</td><td class="num">4</td>' in body
    assert "Replenishment suggestions" not in body  # a manager's decision


def test_a_manager_sees_replenishment_suggestions(manager, make_product):
    make_product("MUG", stock=1, reorder_point=3)
    body = manager.get("/stock").get_data(as_text=True)
    assert "1 product(s) at or below their reorder point" in body
    assert re.search(r"<td>MUG</td>.*?<strong>2</strong>", body, re.S)  # back up to the reorder point


def test_staff_receive_goods_by_barcode(staff, make_product):
    make_product("TEA", stock=10, barcode="4006381333931")
    response = post_form(staff, "/stock/receive", {"code": "4006381333931", "qty": "6", "location": "floor"})
    assert response.status_code == 302
    assert on_hand("TEA") == 16


def test_a_manager_adjusts_with_a_reason(manager, make_product):
    make_product("TEA", stock=10)
    refused = post_form(manager, "/stock/adjust", {"code": "TEA", "delta": "-2", "reason": ""})
    assert refused.status_code == 422 and "Say why" in refused.get_data(as_text=True)
    assert post_form(manager, "/stock/adjust", {"code": "TEA", "delta": "-2", "reason": "broken"}).status_code == 302
    assert on_hand("TEA") == 8


def test_a_stocktake_from_counts_to_posted_variances(staff, manager, make_product):
    make_product("TEA", stock=10)
    opened = post_form(staff, "/stocktake", {"location": "floor"})
    path = opened.headers["Location"]
    assert post_form(staff, f"{path}/count", {"code": "TEA", "counted": "7"}).status_code == 302
    body = staff.get(path).get_data(as_text=True)
    assert re.search(r'<td class="num">7</td>\s*<td class="num">-3', body)
    assert "Post variances" not in body  # staff count, a manager posts
    assert post_form(staff, f"{path}/post").status_code == 403
    assert post_form(manager, f"{path}/post", {"reason": "monthly count"}).status_code == 302
    assert on_hand("TEA") == 7


def test_a_count_for_an_unknown_code_is_marked_on_the_code(staff, make_product):
    path = post_form(staff, "/stocktake", {"location": "floor"}).headers["Location"]
    response = post_form(staff, f"{path}/count", {"code": "NOPE", "counted": "3"})
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'id="code-error">No product with SKU or barcode NOPE.' in body
    assert 'value="3"' in body
