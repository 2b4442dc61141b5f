"""A month whose checks ran for 3 minutes is not "100.000%" without more: the report (the page and the file
to keep) shows how much of the period was monitored and says plainly that availability covers only that part."""
from __future__ import annotations

import re
from datetime import datetime

from monitors.models import StateChange

from .test_uptime_report_matches_a_recorded_history import service_row


def test_three_monitored_minutes_are_shown_as_such_beside_their_availability(manager, settings, db):
    StateChange.create(check="readyz", at=datetime(2026, 3, 31, 23, 57), from_state="unknown", to_state="ok",
                       reason="ready")
    body = manager.get("/reports/uptime?month=2026-03").get_data(as_text=True)

    web = service_row(body, "web")
    assert web["availability"] == "100.000%"  # over what was monitored …
    assert web["monitored"] == "3 min (under 0.1%)"  # … which is 3 minutes of 31 days
    assert web["unmonitored"] == "31.0 days"
    notice = " ".join(re.sub(r"<[^>]+>", " ", re.search(r'<p class="notice partly-monitored" data-service="web"[^>]*>(.*?)</p>',
                                                      body, re.S)[1]).split())
    assert notice == ("web : 100.000% is the availability over the 3 min monitored, only under 0.1% of the period; "
                      "the other 31.0 days were not monitored, so nothing is known of them.")
    assert "100.000% available over 3 min monitored (under 0.1% of the period)" in " ".join(body.split())


def test_the_file_to_keep_says_the_same(manager, settings, db):
    StateChange.create(check="readyz", at=datetime(2026, 3, 31, 23, 57), from_state="unknown", to_state="ok",
                       reason="ready")
    kept = manager.get("/reports/uptime/download?month=2026-03").get_data(as_text=True)

    row = re.search(r"<tr><td>web</td>(.*?)</tr>", kept)[1]
    assert re.findall(r"<td>([^<]*)</td>", row)[:5] == ["100.000%", "0 min", "0 min", "31.0 days", "3 min (under 0.1%)"]
    assert "Monitored for less than 99% of the period: " in kept and "web" in kept.split("Monitored for less than")[1]
