"""Pages show stored (UTC) times on the shop's clock (shop.timezone) and read typed times the same
way: the orders list, its date filter, and the maintenance form. Kolkata is UTC+5:30."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from appliance import clock, config, orders
from appliance.models import Order
from monitors.models import MaintenanceWindow

from .web_helpers import post_form

pytestmark = pytest.mark.calendar

KOLKATA = "Asia/Kolkata"


@pytest.fixture
def settings(home, database_url):
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url, "APPLIANCE_SHOP_TIMEZONE": KOLKATA})


def test_the_orders_list_shows_and_filters_by_the_shops_clock(staff, make_product, settings):
    make_product("TEA", 350, stock=5)
    order, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 1)], actor="sam")
    Order.update(created_at=datetime(2026, 3, 1, 20, 0)).where(Order.id == order.id).execute()  # 01:30 on 2 March there

    listed = staff.get("/orders").get_data(as_text=True)
    same_day = staff.get("/orders?from=2026-03-02&to=2026-03-02").get_data(as_text=True)
    utc_day = staff.get("/orders?from=2026-03-01&to=2026-03-01").get_data(as_text=True)

    assert "2026-03-02 01:30" in listed and "2026-03-01 20:00" not in listed
    assert order.number in same_day
    assert order.number not in utc_day
    assert f"Times are the shop's ({KOLKATA})" in staff.get(f"/orders/{order.number}").get_data(as_text=True)


def test_a_maintenance_start_is_read_on_the_shops_clock(admin, settings):
    local_start = (clock.now().astimezone(ZoneInfo(KOLKATA)) + timedelta(days=2)).replace(second=0, microsecond=0, tzinfo=None)

    response = post_form(admin, "/ops/health/maintenance", {"start": local_start.strftime("%Y-%m-%dT%H:%M"),
                                                            "minutes": "30", "checks": "*", "reason": "new UPS"})

    assert response.status_code == 302
    window = MaintenanceWindow.get()
    expected = local_start.replace(tzinfo=ZoneInfo(KOLKATA)).astimezone(timezone.utc).replace(tzinfo=None)
    assert window.starts_at == expected == local_start - timedelta(hours=5, minutes=30)
