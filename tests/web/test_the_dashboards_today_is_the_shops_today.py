"""The dashboard's "today" begins at the shop's midnight (shop.timezone), and the page names the zone."""
from __future__ import annotations

from datetime import timedelta

import pytest

from appliance import config, orders, reports
from appliance.models import Order

pytestmark = pytest.mark.calendar

KIRITIMATI = "Pacific/Kiritimati"  # UTC+14: its midnight is 10:00 UTC of the day before


@pytest.fixture
def settings(home, database_url):
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url, "APPLIANCE_SHOP_TIMEZONE": KIRITIMATI})


def test_sales_today_start_at_the_shops_midnight(manager, make_product, settings):
    make_product("TEA", 350, stock=20)
    zone = reports.shop_zone(settings)
    midnight = reports.midnight_utc(zone, reports.shop_today(zone))
    today, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 2)], actor="sam")
    yesterday, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 1)], actor="sam")
    Order.update(created_at=midnight + timedelta(seconds=1)).where(Order.id == today.id).execute()
    Order.update(created_at=midnight - timedelta(minutes=1)).where(Order.id == yesterday.id).execute()

    body = " ".join(manager.get("/reports").get_data(as_text=True).split())

    assert 'id="sales-today">7.00<' in body  # two minutes apart in UTC, on two days in the shop
    assert f"Days and times are the shop's ({KIRITIMATI})" in body
