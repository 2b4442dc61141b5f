"""The manager dashboard: today's and this week's sales by channel, approvals waiting, overdue orders,
and charts drawn on the server as inline SVG."""
from __future__ import annotations

from datetime import timedelta

import pytest
from appliance import orders
from appliance.models import Order, utcnow

pytestmark = pytest.mark.calendar


def test_dashboard_counts_sales_waiting_and_overdue(manager, make_product, settings):
    make_product("TEA", 350, stock=20)
    make_product("SAFE", 150_000, stock=2)
    orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 2)], actor="sam")
    orders.create_order(settings, channel="phone", lines=[orders.LineRequest("TEA", 1)], actor="sam")
    pending, _ = orders.create_order(settings, channel="web", lines=[orders.LineRequest("SAFE", 1)], actor="sam")
    late, _ = orders.create_order(settings, channel="web", lines=[orders.LineRequest("TEA", 1)], actor="sam")
    Order.update(confirmed_at=utcnow() - timedelta(hours=72)).where(Order.id == late.id).execute()

    body = " ".join(manager.get("/reports").get_data(as_text=True).split())
    assert 'id="sales-today">14.00<' in body  # 7.00 + 3.50 + 3.50; the pending order is not a sale yet
    assert 'id="pending-count">1<' in body and pending.number in body
    assert 'id="overdue-count">1<' in body and late.number in body
    assert "<td>phone</td><td class=\"num\">1</td><td class=\"num\">3.50</td>" in body
    assert body.count('<svg class="chart"') == 2
    assert "<script" not in body.split("<main>")[1].split("</main>")[0]
