"""The receipt page: the shop's name, address and tax number from config, the lines, each payment
(cash tendered and change), refunds; 80 mm roll by default, an A4 page with ?format=a4."""
from __future__ import annotations

import re

import pytest

from appliance import orders, payments


@pytest.fixture
def shop(settings):
    settings.shop.name = "Corner Tea House"
    settings.shop.address = "Hauptstraße 5\\n10115 Berlin"
    settings.shop.tax_number = "DE123456789"
    return settings


@pytest.fixture
def split_sale(shop, make_product):
    make_product("TEA", 350, stock=10, name="Green tea")
    make_product("MUG", 1200, stock=5, name="Mug")
    order, _ = orders.create_order(shop, channel="store", actor="sam",
                                   lines=[orders.LineRequest("TEA", 2), orders.LineRequest("MUG", 1)],
                                   paid_with=payments.parse([{"method": "card", "amount_cents": 1000},
                                                             {"method": "cash", "amount_cents": 900, "tendered_cents": 2000}]))
    return order.number


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_receipt_carries_the_shop_lines_and_payments(staff, split_sale):
    response = staff.get(f"/orders/{split_sale}/receipt")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    shown = text(html)
    assert '<h1 id="shop-name">Corner Tea House</h1>' in html
    assert "<p>Hauptstraße 5</p><p>10115 Berlin</p>" in html
    assert "Tax number: DE123456789" in shown
    assert f"Receipt {split_sale}" in shown
    assert "Green tea TEA 2 3.50 7.00" in shown and "Mug MUG 1 12.00 12.00" in shown
    assert "Total 19.00" in shown
    assert "Paid card 10.00" in shown and "Paid cash 9.00 Tendered 20.00 Change 11.00" in shown
    assert "size: 80mm auto" in html and 'class="paper-80mm"' in html


def test_the_a4_switch_prints_on_a_page(staff, split_sale):
    html = staff.get(f"/orders/{split_sale}/receipt?format=a4").get_data(as_text=True)
    assert "size: A4" in html and 'class="paper-a4"' in html


def test_a_refund_shows_on_the_receipt(staff, split_sale, shop):
    orders.return_lines(shop, split_sale, "maria", lines=[orders.LineRequest("TEA", 1)], refund_cents=350,
                        refund_method="cash", reason="dented tin")
    assert "Refunded cash (dented tin) -3.50" in text(staff.get(f"/orders/{split_sale}/receipt").get_data(as_text=True))


def test_a_receipt_of_an_unknown_order_is_a_404(staff, db):
    assert staff.get("/orders/SO-424242/receipt").status_code == 404
