"""GET /orders: newest first, filters, and a cursor that visits every order exactly once."""
from datetime import timedelta

import pytest

from appliance.models import Order, utcnow

from .conftest import order_body

pytestmark = pytest.mark.calendar


def _make(api, n, **extra):
    return [api.post("staff", "/orders", json=order_body(("TEA", 1), **extra)).get_json()["number"] for _ in range(n)]


def test_the_cursor_walks_every_order_once_newest_first(api, shop):
    api.post("staff", "/stock/receive", json={"sku": "TEA", "qty": 50})
    made = _make(api, 7)
    seen, cursor = [], None
    while True:
        page = api.get("staff", "/orders?limit=3" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [o["number"] for o in page["orders"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


def test_filters_by_status_channel_and_customer(api, shop):
    phone = _make(api, 2, channel="phone", customer={"name": "Bo", "phone": "123"})
    store = _make(api, 1)
    api.post("staff", f"/orders/{store[0]}/cancel", json={})
    customer_id = api.get("staff", f"/orders/{phone[0]}").get_json()["customer"]["id"]

    def numbers(query):
        return {o["number"] for o in api.get("staff", "/orders?" + query).get_json()["orders"]}

    assert numbers("channel=phone") == set(phone)
    assert numbers("status=cancelled") == set(store)
    assert numbers(f"customer={customer_id}") == set(phone)
    assert numbers("q=Bo") == set(phone)
    assert numbers(f"q={store[0]}") == set(store)


def test_filters_by_date_range(api, shop):
    old, new = _make(api, 2)
    Order.update(created_at=utcnow() - timedelta(days=10)).where(Order.number == old).execute()
    since = (utcnow() - timedelta(days=1)).date().isoformat()
    assert [o["number"] for o in api.get("staff", f"/orders?from={since}").get_json()["orders"]] == [new]
    assert [o["number"] for o in api.get("staff", f"/orders?to={since}").get_json()["orders"]] == [old]


def test_overdue_orders_are_flagged_and_filterable(api, shop, settings):
    late, fresh = _make(api, 2)
    hours = settings.orders.overdue_after_hours
    Order.update(confirmed_at=utcnow() - timedelta(hours=hours + 1)).where(Order.number == late).execute()
    found = api.get("staff", "/orders?overdue=1").get_json()["orders"]
    assert [o["number"] for o in found] == [late]
    assert found[0]["overdue"] is True
    assert api.get("staff", f"/orders/{fresh}").get_json()["overdue"] is False
