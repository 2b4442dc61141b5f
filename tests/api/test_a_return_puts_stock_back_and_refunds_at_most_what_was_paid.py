"""A return at the counter takes back some lines (at most what was sold less what came back
already), puts the stock back where it left from through the ledger, and refunds at most what was
paid less what was refunded; a refused return changes nothing. The reason is in the timeline and
the audit trail; once everything is back the order is `returned`."""
from appliance import audit, inventory, orders
from appliance.models import AuditEvent, Payment

from .conftest import order_body, stock


def _sale(api) -> str:
    # MUG: 3 on the floor, 5 in the warehouse; 5 sold takes the floor's 3 and 2 from the warehouse
    response = api.post("staff", "/orders", json=order_body(
        ("MUG", 5), ("TEA", 2), payments=[{"method": "card", "amount_cents": 4950}]))
    assert response.get_json()["status"] == "delivered", response.get_json()
    return response.get_json()["number"]


def _on_hand(api, sku) -> dict:
    return {loc["location"]: loc["on_hand"] for loc in stock(api, sku)["locations"]}


def test_a_partial_return_restocks_and_refunds(api, shop):
    number = _sale(api)
    assert _on_hand(api, "MUG") == {"floor": 0, "warehouse": 3}
    response = api.post("manager", f"/orders/{number}/return", json={
        "lines": [{"sku": "MUG", "qty": 4}], "refund_cents": 3400, "reason": "chipped"})
    assert response.status_code == 200, response.get_json()
    order = response.get_json()
    assert (order["status"], order["paid_cents"], order["refunded_cents"]) == ("delivered", 4950, 3400)
    assert _on_hand(api, "MUG") == {"floor": 3, "warehouse": 4}
    assert inventory.ledger_mismatches() == []
    assert "chipped" in order["events"][-1]["note"] and "4 × MUG" in order["events"][-1]["note"]
    refund = Payment.get(Payment.kind == "refund")
    assert (refund.method, refund.amount_cents, refund.reason) == ("card", 3400, "chipped")
    event = AuditEvent.select().where(AuditEvent.action == "order.return").get()
    assert '"chipped"' in event.after and audit.verify().ok

    # the rest comes back: the order is returned, every unit is home
    rest = api.post("manager", f"/orders/{number}/return", json={
        "lines": [{"sku": "MUG", "qty": 1}, {"sku": "TEA", "qty": 2}], "refund_cents": 1550, "reason": "changed mind"})
    assert rest.get_json()["status"] == "returned", rest.get_json()
    assert _on_hand(api, "MUG") == {"floor": 3, "warehouse": 5} and _on_hand(api, "TEA")["floor"] == 10
    assert inventory.ledger_mismatches() == []


def test_returning_more_than_was_sold_or_refunding_more_than_was_paid_is_refused(api, shop):
    number = _sale(api)
    assert api.post("manager", f"/orders/{number}/return", json={"lines": [{"sku": "TEA", "qty": 1}],
                                                                 "refund_cents": 350}).status_code == 200
    too_many = api.post("manager", f"/orders/{number}/return", json={"lines": [{"sku": "TEA", "qty": 2}]})
    assert too_many.status_code == 422
    assert [d["field"] for d in too_many.get_json()["details"]] == ["lines[0].qty"]
    not_sold = api.post("manager", f"/orders/{number}/return", json={"lines": [{"sku": "HONEY", "qty": 1}]})
    assert [d["field"] for d in not_sold.get_json()["details"]] == ["lines[0].sku"]
    too_much = api.post("manager", f"/orders/{number}/return", json={"lines": [{"sku": "MUG", "qty": 1}],
                                                                     "refund_cents": 4601})
    assert too_much.status_code == 422
    assert [d["field"] for d in too_much.get_json()["details"]] == ["refund_cents"]
    # nothing of the refused returns happened
    assert _on_hand(api, "MUG") == {"floor": 0, "warehouse": 3} and _on_hand(api, "TEA")["floor"] == 9
    assert [p.amount_cents for p in Payment.select().where(Payment.kind == "refund")] == [350]
    assert inventory.ledger_mismatches() == []


def test_an_unpaid_order_refunds_nothing(api, shop):
    number = api.post("staff", "/orders", json=order_body(("TEA", 1), channel="web")).get_json()["number"]
    api.post("staff", f"/orders/{number}/ship", json={})
    response = api.post("manager", f"/orders/{number}/return", json={"refund_cents": 1})
    assert response.status_code == 422 and response.get_json()["details"][0]["field"] == "refund_cents"
    assert api.get("staff", f"/orders/{number}").get_json()["status"] == "shipped"


def test_taking_back_the_rest_after_a_partial_return_restocks_only_the_rest(api, shop, settings):
    number = _sale(api)
    api.post("manager", f"/orders/{number}/return", json={"lines": [{"sku": "MUG", "qty": 2}]})
    orders.transition(number, "return", "maria")  # the order page's "Take back (return)"
    assert _on_hand(api, "MUG") == {"floor": 3, "warehouse": 5} and _on_hand(api, "TEA")["floor"] == 10
    assert inventory.ledger_mismatches() == []
    again = api.post("manager", f"/orders/{number}/return", json={"lines": [{"sku": "MUG", "qty": 1}]})
    assert again.status_code == 409
