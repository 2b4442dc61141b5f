"""An order placed with payments by a web worker reaches the order writer as plain data (it crosses
a socket, pickled) and is written there paid and handed over, exactly as when the worker writes it."""
from appliance import orders, payments
from appliance.models import Payment


def test_a_paid_counter_sale_sent_to_the_writer_is_written_paid(settings, shop, pickled_writer):
    sent = pickled_writer
    placed = orders.place_order(settings, channel="store", lines=[orders.LineRequest("TEA", 2)], actor="till",
                                paid_with=payments.parse([{"method": "cash", "amount_cents": 700, "tendered_cents": 1000}]))
    assert sent and sent[0]["payments"] == [["cash", 700, 1000]]
    assert (placed.data["status"], placed.data["paid_cents"], placed.data["change_cents"]) == ("delivered", 700, 300)
    assert [(p.method, p.amount_cents, p.change_cents) for p in Payment.select()] == [("cash", 700, 300)]
