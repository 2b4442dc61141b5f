"""Closing the till's shift compares the cash counted with what the payments since the previous
close say the drawer holds (float + cash taken - cash refunded); the difference is recorded and
audited, cards and other methods are listed apart, and the next shift starts from this close."""
from appliance import audit
from appliance.models import AuditEvent

from .conftest import order_body


def _sale(api, *payments, sku="TEA", qty=2):
    response = api.post("staff", "/orders", json=order_body((sku, qty), payments=list(payments)))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def test_the_shift_close_adds_up_to_the_payments_and_records_the_difference(api, shop):
    _sale(api, {"method": "cash", "amount_cents": 700, "tendered_cents": 2000})
    _sale(api, {"method": "card", "amount_cents": 300}, {"method": "cash", "amount_cents": 400})
    mugs = _sale(api, {"method": "cash", "amount_cents": 1700}, sku="MUG")
    api.post("manager", f"/orders/{mugs}/return", json={"lines": [{"sku": "MUG", "qty": 1}], "refund_cents": 850,
                                                        "refund_method": "cash", "reason": "wrong colour"})
    response = api.post("staff", "/shifts/close", json={"counted_cash_cents": 6940, "float_cents": 5000})
    assert response.status_code == 201, response.get_json()
    shift = response.get_json()
    # cash: 700 + 400 + 1700 - 850 = 1950; expected 5000 + 1950 = 6950; counted 6940: 10 short
    assert shift["takings"] == {"cash": 1950, "card": 300, "other": 0}
    assert (shift["expected_cash_cents"], shift["counted_cash_cents"], shift["difference_cents"]) == (6950, 6940, -10)
    assert shift["opened_at"] is None and shift["closed_by"] == "token:test-staff"
    assert AuditEvent.select().where(AuditEvent.action == "shift.close").count() == 1 and audit.verify().ok

    # the next shift holds only what was paid after this close
    _sale(api, {"method": "other", "amount_cents": 700})
    second = api.post("staff", "/shifts/close", json={"counted_cash_cents": 0}).get_json()
    assert second["opened_at"] == shift["closed_at"]
    assert second["takings"] == {"cash": 0, "card": 0, "other": 700} and second["difference_cents"] == 0
    listed = api.get("manager", "/shifts").get_json()["shifts"]
    assert [s["id"] for s in listed] == [second["id"], shift["id"]]


def test_a_negative_count_is_refused_naming_the_field(api, shop):
    response = api.post("staff", "/shifts/close", json={"counted_cash_cents": -1})
    assert response.status_code == 422
    assert [d["field"] for d in response.get_json()["details"]] == ["counted_cash_cents"]
    assert api.get("manager", "/shifts").get_json()["shifts"] == []
