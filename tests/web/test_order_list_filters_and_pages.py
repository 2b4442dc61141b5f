"""The order list filters by status, channel, date, customer and overdue, and pages with a cursor."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from appliance import orders
from appliance.models import Customer, Order, utcnow

pytestmark = pytest.mark.calendar


def numbers(client, query: str) -> list[str]:
    body = client.get(f"/orders?{query}").get_data(as_text=True)
    return re.findall(r'<td class="nowrap"><a href="/orders/(SO-\d+)">', body)


def test_filters_combine_and_paging_follows_the_cursor(staff, make_product, settings):
    make_product("TEA", 350, stock=100)
    ana = Customer.create(name="Ana Lima", phone="5550101")
    for i in range(30):
        orders.create_order(settings, channel="web" if i % 3 == 0 else "store",
                            lines=[orders.LineRequest("TEA", 1)], actor="sam", customer=ana.id if i == 4 else None)
    orders.transition("SO-000002", "cancel", "sam")
    Order.update(confirmed_at=utcnow() - timedelta(hours=72), created_at=utcnow() - timedelta(days=5)) \
        .where(Order.number == "SO-000003").execute()

    first = numbers(staff, "")
    assert len(first) == 25 and first[0] == "SO-000030"
    cursor = re.search(r'href="/orders\?cursor=([^"]+)"', staff.get("/orders").get_data(as_text=True)).group(1)
    assert numbers(staff, f"cursor={cursor}") == [f"SO-{n:06d}" for n in range(5, 0, -1)]
    assert numbers(staff, "status=cancelled") == ["SO-000002"]
    assert numbers(staff, "overdue=1") == ["SO-000003"]
    assert numbers(staff, f"customer={ana.id}") == ["SO-000005"]
    assert numbers(staff, "q=Ana") == ["SO-000005"]
    assert len(numbers(staff, "channel=web")) == 10
    day = (utcnow() - timedelta(days=5)).date().isoformat()
    assert numbers(staff, f"from={day}&to={day}") == ["SO-000003"]


def test_a_bad_filter_is_explained_not_a_crash(staff):
    body = staff.get("/orders?status=lost&from=yesterday&cursor=zzz").get_data(as_text=True)
    assert "Unknown status lost; that filter is ignored." in body and "must look like 2026-01-31" in body and "The cursor is not valid." in body
