"""Takings per payment method per shop day (shop.timezone) add up to the payments recorded: every
payment counted once, on the shop's day it was taken (23:30 in New York is that day, though UTC has
moved on), refunds taken off the net of their day and method."""
from datetime import datetime

import pytest

from appliance import config
from appliance.models import Payment

from .conftest import order_body

NEW_YORK = "America/New_York"


@pytest.fixture
def settings(home, database_url):
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url, "APPLIANCE_SHOP_TIMEZONE": NEW_YORK})


def _sale(api, payments, at: datetime) -> str:
    response = api.post("staff", "/orders", json=order_body(("TEA", 2), payments=payments))
    assert response.status_code == 201, response.get_json()
    number = response.get_json()["number"]
    order_id = Payment.select(Payment.order).where(Payment.kind == "payment").order_by(Payment.id.desc()).first().order_id
    Payment.update(at=at).where(Payment.order == order_id).execute()
    return number


def test_takings_per_method_per_day_add_up_to_the_payments(api, shop):
    _sale(api, [{"method": "cash", "amount_cents": 700, "tendered_cents": 1000}], datetime(2026, 3, 7, 4, 30))  # 23:30 on the 6th
    _sale(api, [{"method": "card", "amount_cents": 300}, {"method": "cash", "amount_cents": 400}],
          datetime(2026, 3, 7, 5, 30))                                                                      # 00:30 on the 7th
    returned = _sale(api, [{"method": "card", "amount_cents": 700}], datetime(2026, 3, 7, 15, 0))          # 10:00 on the 7th
    assert api.post("manager", f"/orders/{returned}/return", json={"lines": [{"sku": "TEA", "qty": 1}],
                                                                   "refund_cents": 350}).status_code == 200
    Payment.update(at=datetime(2026, 3, 7, 16, 0)).where(Payment.kind == "refund").execute()
    _sale(api, [{"method": "other", "amount_cents": 700}], datetime(2026, 3, 9, 12, 0))                     # outside

    report = api.get("manager", "/reports/takings?from=2026-03-06&to=2026-03-08").get_json()

    assert report["timezone"] == NEW_YORK
    assert [(r["day"], r["method"], r["payments"], r["taken_cents"], r["refunded_cents"], r["net_cents"])
            for r in report["by_day"]] == [
        ("2026-03-06", "cash", 1, 700, 0, 700),
        ("2026-03-07", "cash", 1, 400, 0, 400),
        ("2026-03-07", "card", 2, 1000, 350, 650),
    ]
    assert {m["method"]: m["net_cents"] for m in report["by_method"]} == {"cash": 1100, "card": 650}
    in_period = Payment.select().where((Payment.at >= datetime(2026, 3, 6, 5)) & (Payment.at < datetime(2026, 3, 8, 5)))
    taken = sum(p.amount_cents for p in in_period if p.kind == "payment")
    refunded = sum(p.amount_cents for p in in_period if p.kind == "refund")
    assert report["total"] == {"taken_cents": taken, "refunded_cents": refunded, "net_cents": taken - refunded} == {
        "taken_cents": 2100, "refunded_cents": 350, "net_cents": 1750}


def test_takings_are_for_managers(api, shop):
    assert api.get("staff", "/reports/takings").status_code == 403
    assert api.get("manager", "/reports/takings").get_json()["by_day"] == []
