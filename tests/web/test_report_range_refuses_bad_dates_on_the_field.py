"""The report range is read on its fields: a date that is not one, a last day before the first, or
a range too long is said in one sentence next to the field, with what was typed kept; staff cannot
open the reports or download them."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest


def test_bad_dates_are_said_on_their_field(manager):
    for query, field, words in (({"from": "2026-02-30"}, "from", "is not a date: use YYYY-MM-DD."),
                                ({"from": "2026-03-10", "to": "2026-03-09"}, "to", "The last day comes before the first day."),
                                ({"from": "2020-01-01", "to": "2026-01-01"}, "to", "A report covers at most 1098 days."),
                                ({"from": "0001-01-01", "to": "0001-01-02"}, "from", "Choose a day from 2000-01-01 on.")):
        response = manager.get("/reports/sales", query_string={**query, "format": "xlsx"})
        body = response.get_data(as_text=True)
        assert response.status_code == 422, query
        assert f'id="{field}-error"' in body and words in body, query
        assert f'value="{query["from"]}"' in body  # kept as typed
        assert 'id="download-xlsx"' not in body


@pytest.mark.calendar
def test_a_range_without_dates_is_the_shops_last_seven_days(settings, manager, calendar_now):
    settings.shop.timezone = "Europe/Berlin"
    today = calendar_now.astimezone(ZoneInfo("Europe/Berlin")).date()
    body = manager.get("/reports/sales").get_data(as_text=True)
    assert f'name="from" type="date" value="{today - timedelta(days=6)}"' in body
    assert f'name="to" type="date" value="{today}"' in body and 'id="download-csv"' in body


def test_staff_cannot_open_or_download_reports(staff):
    for path in ("/reports/sales", "/reports/sales?format=csv", "/reports/inventory-value?format=xlsx"):
        assert staff.get(path).status_code == 403
