"""Payments are checked before anything is written: amount above zero, cash tendered at least the
amount, a split adding up to what is due, a known method, no card above what is due. Each refusal
is one 422 in the one error shape, naming the field; the order stays unpaid (or is not created)."""
from appliance.models import Order, Payment

from .conftest import order_body

# TEA 350 + MUG 850 = 1200 due
BAD = {
    "zero amount": ([{"method": "cash", "amount_cents": 0}], "payments.0.amount_cents"),
    "negative amount": ([{"method": "card", "amount_cents": -5}], "payments.0.amount_cents"),
    "unknown method": ([{"method": "cheque", "amount_cents": 1200}], "payments.0.method"),
    "cash tendered below the amount": ([{"method": "cash", "amount_cents": 1200, "tendered_cents": 1000}],
                                       "payments[0].tendered_cents"),
    "split short of the total": ([{"method": "cash", "amount_cents": 500}, {"method": "card", "amount_cents": 600}],
                                 "payments"),
    "split above the total": ([{"method": "cash", "amount_cents": 700}, {"method": "other", "amount_cents": 600}],
                              "payments"),
    "overpaid card": ([{"method": "card", "amount_cents": 1500}], "payments[0].amount_cents"),
    "card with change": ([{"method": "card", "amount_cents": 1200, "tendered_cents": 2000}],
                         "payments[0].tendered_cents"),
}


def _fields(response) -> list[str]:
    body = response.get_json()
    assert set(body) == {"error", "details"} and body["error"].endswith(".")
    return [d["field"] for d in body["details"]]


def test_a_bad_payment_on_pay_is_a_422_naming_its_field_and_pays_nothing(api, shop):
    number = api.post("staff", "/orders", json=order_body(("TEA", 1), ("MUG", 1))).get_json()["number"]
    for case, (parts, field) in BAD.items():
        response = api.post("staff", f"/orders/{number}/pay", json={"payments": parts})
        assert response.status_code == 422, (case, response.get_json())
        assert field in _fields(response), case
    order = api.get("staff", f"/orders/{number}").get_json()
    assert (order["status"], order["paid_cents"], order["payments"]) == ("confirmed", 0, [])
    assert Payment.select().count() == 0


def test_a_bad_payment_in_the_order_body_creates_no_order(api, shop):
    before = Order.select().count()
    response = api.post("staff", "/orders", json=order_body(
        ("TEA", 1), ("MUG", 1), payments=[{"method": "card", "amount_cents": 1500}]))
    assert response.status_code == 422
    assert _fields(response) == ["payments[0].amount_cents"]
    assert Order.select().count() == before and Payment.select().count() == 0


def test_a_paid_order_cannot_be_paid_again(api, shop):
    number = api.post("staff", "/orders", json=order_body(("TEA", 1), channel="web")).get_json()["number"]
    assert api.post("staff", f"/orders/{number}/pay", json={"payments": [{"method": "card", "amount_cents": 350}]}).status_code == 200
    again = api.post("staff", f"/orders/{number}/pay", json={"payments": [{"method": "card", "amount_cents": 350}]})
    assert again.status_code == 409 and Payment.select().count() == 1
