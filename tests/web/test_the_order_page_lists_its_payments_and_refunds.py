"""The order page lists what was paid (method, amount, tendered, change) and refunded, and what is due."""
from appliance import orders, payments


def test_the_order_page_shows_payments_change_and_refunds(staff, make_product, settings):
    make_product("TEA", 350, stock=10)
    order, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 2)], actor="sam",
                                   paid_with=payments.parse([{"method": "cash", "amount_cents": 700, "tendered_cents": 1000}]))
    orders.return_lines(settings, order.number, "maria", lines=[orders.LineRequest("TEA", 1)], refund_cents=350,
                        reason="dented tin")
    body = staff.get(f"/orders/{order.number}").get_data(as_text=True)
    assert 'id="payments"' in body
    assert "7.00" in body and "10.00" in body and "3.00" in body  # amount, tendered, change
    assert "refund (dented tin)" in body and 'id="order-refunded">3.50<' in body
    assert 'id="order-due">0.00<' in body


def test_an_unpaid_order_shows_no_payments(staff, make_product, settings):
    make_product("TEA", 350, stock=10)
    order, _ = orders.create_order(settings, channel="web", lines=[orders.LineRequest("TEA", 1)], actor="sam")
    assert 'id="payments"' not in staff.get(f"/orders/{order.number}").get_data(as_text=True)
