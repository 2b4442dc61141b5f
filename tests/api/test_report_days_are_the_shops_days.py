"""Report days are the shop's days (shop.timezone), not UTC days: an order at 23:30 in New York is
that day's sale although it is already the next day in UTC, and the day clocks go forward is 23
hours long. A new box takes the machine's zone; an unknown zone is a config error naming it."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance import config, reports
from appliance.home import machine_timezone
from appliance.models import Order

from .conftest import order_body

pytestmark = pytest.mark.calendar

NEW_YORK = "America/New_York"


@pytest.fixture
def settings(home, database_url):
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url, "APPLIANCE_SHOP_TIMEZONE": NEW_YORK})


def _order_at(api, utc: datetime) -> str:
    number = api.post("staff", "/orders", json=order_body(("TEA", 1))).get_json()["number"]
    Order.update(created_at=utc).where(Order.number == number).execute()
    return number


def test_sales_fall_on_the_shops_day_across_a_daylight_saving_change(api, shop):
    _order_at(api, datetime(2026, 3, 7, 4, 30))  # 23:30 EST on the 6th
    _order_at(api, datetime(2026, 3, 7, 5, 30))  # 00:30 EST on the 7th
    _order_at(api, datetime(2026, 3, 9, 3, 30))  # 23:30 EDT on the 8th (clocks went forward that night)
    _order_at(api, datetime(2026, 3, 9, 4, 30))  # 00:30 EDT on the 9th

    report = api.get("manager", "/reports/sales?from=2026-03-06&to=2026-03-10").get_json()

    assert report["timezone"] == NEW_YORK
    assert [(d["day"], d["orders"]) for d in report["by_day"]] == [
        ("2026-03-06", 1), ("2026-03-07", 1), ("2026-03-08", 1), ("2026-03-09", 1)]
    two_days = api.get("manager", "/reports/sales?from=2026-03-07&to=2026-03-09").get_json()
    assert two_days["by_channel"] == [{"channel": "store", "orders": 2, "total_cents": 700}]


def test_the_day_clocks_go_back_holds_25_hours_of_sales(api, shop):
    _order_at(api, datetime(2026, 11, 1, 3, 30))  # 23:30 EDT on 31 October
    _order_at(api, datetime(2026, 11, 1, 4, 30))  # 00:30 EDT on 1 November
    _order_at(api, datetime(2026, 11, 2, 4, 30))  # 23:30 EST on 1 November (clocks went back at 02:00)
    _order_at(api, datetime(2026, 11, 2, 5, 30))  # 00:30 EST on 2 November

    report = api.get("manager", "/reports/sales?from=2026-10-25&to=2026-11-08").get_json()

    by_day = {d["day"]: d["orders"] for d in report["by_day"]}
    assert (by_day["2026-10-31"], by_day["2026-11-01"], by_day["2026-11-02"]) == (1, 2, 1)
    assert sum(by_day.values()) == 4 and len(by_day) == 14


def test_the_day_clocks_go_forward_is_23_hours_long():
    day = reports.Period(date(2026, 3, 8), date(2026, 3, 9), ZoneInfo(NEW_YORK))

    assert (day.start, day.stop) == (datetime(2026, 3, 8, 5), datetime(2026, 3, 9, 4))
    assert day.stop - day.start == timedelta(hours=23)
    assert reports.shop_today(ZoneInfo(NEW_YORK), datetime(2026, 3, 9, 3, 30)) == date(2026, 3, 8)


def test_a_new_box_takes_the_machines_zone(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "localtime").symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    assert machine_timezone({}, etc) == "Europe/Berlin"
    (etc / "timezone").write_text("Asia/Kolkata\n")
    assert machine_timezone({}, etc) == "Asia/Kolkata"
    assert machine_timezone({"TZ": ":Pacific/Auckland"}, etc) == "Pacific/Auckland"
    assert machine_timezone({"TZ": "nowhere"}, tmp_path / "empty") == "UTC"


def test_an_unknown_zone_is_a_config_error_naming_the_setting(home):
    with pytest.raises(config.ConfigError, match="shop.timezone"):
        config.load(home, environ={"APPLIANCE_SHOP_TIMEZONE": "Mars/Olympus_Mons"})
