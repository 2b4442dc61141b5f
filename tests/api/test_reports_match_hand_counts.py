"""Sales, processing time and overdue rate computed from known orders."""
from datetime import timedelta

import pytest

from appliance.models import Order, utcnow

from .conftest import order_body

pytestmark = pytest.mark.calendar


def _order(api, *lines, channel="store"):
    return api.post("staff", "/orders", json=order_body(*lines, channel=channel)).get_json()["number"]


def test_sales_by_channel_product_and_day(api, shop):
    _order(api, ("TEA", 2), ("MUG", 1))                 # 700 + 850
    _order(api, ("TEA", 1), channel="phone")            # 350
    cancelled = _order(api, ("HONEY", 1))
    api.post("staff", f"/orders/{cancelled}/cancel", json={})
    report = api.get("manager", "/reports/sales").get_json()
    assert report["by_channel"] == [{"channel": "phone", "orders": 1, "total_cents": 350},
                                    {"channel": "store", "orders": 1, "total_cents": 1550}]
    assert report["by_product"][:2] == [{"sku": "TEA", "name": "Tea", "qty": 3, "total_cents": 1050},
                                        {"sku": "MUG", "name": "Mug", "qty": 1, "total_cents": 850}]
    today = utcnow().date().isoformat()
    assert [d for d in report["by_day"] if d["day"] == today] == [{"day": today, "orders": 2, "total_cents": 1900}]
    assert len(report["by_day"]) == 30
    assert api.get("staff", "/reports/sales").status_code == 403


def test_processing_time_and_overdue_rate(api, shop, settings):
    now = utcnow()
    limit = settings.orders.overdue_after_hours
    quick, slow, open_late, open_fresh = (_order(api, ("TEA", 1)) for _ in range(4))
    for number in (quick, slow):
        api.post("staff", f"/orders/{number}/ship", json={})
    Order.update(confirmed_at=now - timedelta(hours=2), shipped_at=now).where(Order.number == quick).execute()
    Order.update(confirmed_at=now - timedelta(hours=limit + 10), shipped_at=now).where(Order.number == slow).execute()
    Order.update(confirmed_at=now - timedelta(hours=limit + 1)).where(Order.number == open_late).execute()
    body = api.get("manager", "/reports/processing").get_json()
    assert body["processing_time"]["orders"] == 2
    assert body["processing_time"]["mean_hours"] == round((2 + limit + 10) / 2, 2)
    # quick: on time; slow: shipped late; open_late: past its deadline; open_fresh: still within it
    assert body["overdue"] == {"orders": 3, "overdue": 2, "rate": round(2 / 3, 4)}


def test_a_reversed_period_is_a_422(api, shop):
    assert api.get("manager", "/reports/sales?from=2026-02-01&to=2026-01-01").status_code == 422
