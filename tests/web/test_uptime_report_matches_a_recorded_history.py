"""/reports/uptime (managers): for a month of recorded state changes, the page shows the availability
per service with planned maintenance apart, the incidents, MTTR and MTBF worked out by hand below,
the inline SVG chart and a month picker; the download is the same report as a file to keep."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from monitors import engine, uptime
from monitors.models import StateChange

pytestmark = pytest.mark.calendar

MARCH = 31 * 86400   # 2026-03 has 31 days; the whole month is in the past


@pytest.fixture
def history(settings, db):
    settings.monitors.box_name = "shop 1"
    changes = [
        ("readyz", "2026-03-01 00:00", "unknown", "ok", "ready"),
        ("readyz", "2026-03-10 10:00", "ok", "crit", "connection refused"),   # 30 min down
        ("readyz", "2026-03-10 10:30", "crit", "ok", "ready"),
        ("readyz", "2026-03-12 14:10", "ok", "crit", "upgrade"),              # inside 14:00-15:00 maintenance: planned
        ("readyz", "2026-03-12 14:40", "crit", "ok", "ready"),
        ("readyz", "2026-03-20 20:00", "ok", "crit", "timeout"),              # 1 h down
        ("readyz", "2026-03-20 21:00", "crit", "ok", "ready"),
        ("db_probe", "2026-03-01 00:00", "unknown", "ok", "ready"),           # never down
    ]
    for check, at, old, new, reason in changes:
        StateChange.create(check=check, at=datetime.fromisoformat(at), from_state=old, to_state=new, reason=reason)
    engine.plan_maintenance(datetime(2026, 3, 12, 14), datetime(2026, 3, 12, 15), by="ada",
                            reason="upgrade to 1.4", checks="readyz")
    return settings


def service_row(body: str, name: str) -> dict[str, str]:
    row = re.search(rf'<tr data-service="{name}"[^>]*>(.*?)</tr>', body, re.S)
    assert row, f"no row for {name}"
    return {cls: " ".join(text.split()) for cls, text in re.findall(r'<td class="num (\w+)">(.*?)</td>', row[1], re.S)}


def test_the_month_matches_figures_worked_out_by_hand(manager, history):
    body = manager.get("/reports/uptime?month=2026-03").get_data(as_text=True)

    # web: planned 1 h; down 30 min + 1 h; up = 31 days - 1 h - 1.5 h = 2 669 400 s
    # availability = 2 669 400 / (2 669 400 + 5 400) = 99.798 %; MTTR = 5 400 / 2 = 45 min;
    # MTBF = 2 669 400 / 2 = 1 334 700 s = 15.4 days
    assert 2669400 / (2669400 + 5400) == pytest.approx(0.99798, abs=1e-5) and MARCH - 9000 == 2669400
    assert service_row(body, "web") == {"availability": "99.798%", "down": "1 h 30 min", "incidents": "2",
                                        "mttr": "45 min", "mtbf": "15.4 days", "planned": "1 h 0 min",
                                        "unmonitored": "0 min", "monitored": "31.0 days (100.0%)"}
    assert service_row(body, "database") == {"availability": "100.000%", "down": "0 min", "incidents": "0",
                                             "mttr": "n/a", "mtbf": "n/a", "planned": "0 min", "unmonitored": "0 min",
                                             "monitored": "31.0 days (100.0%)"}
    assert service_row(body, "scheduler")["availability"] == "n/a"          # never monitored: not 100 %
    assert service_row(body, "scheduler")["unmonitored"] == "31.0 days"
    assert service_row(body, "scheduler")["monitored"] == "0 min (0.0%)"
    assert "partly-monitored" not in body  # n/a says enough; fully monitored services need no warning

    web = body[body.index('id="service-web"'):body.index('id="service-database"')]
    incidents = [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in re.findall(r"<tr class=\"\">(.*?)</tr>", web, re.S)]
    assert incidents == ["2026-03-10 10:00 2026-03-10 10:30 30 min readyz: connection refused",
                         "2026-03-20 20:00 2026-03-20 21:00 1 h 0 min readyz: timeout"]
    assert web.count("<svg") == 1 and "aria-label='Minutes down and planned per day for web'" in web
    planned = body[body.index('id="maintenance"'):]
    assert "2026-03-12 14:00" in planned and "upgrade to 1.4" in planned and "ada" in planned


def test_the_page_agrees_with_the_monitors_report_for_every_service(manager, history):
    body = manager.get("/reports/uptime?month=2026-03").get_data(as_text=True)
    report = uptime.month_report(history, 2026, 3)

    for service in report.services:
        row = service_row(body, service.name)
        assert row["availability"] == uptime.percent(service.total.availability)
        assert row["incidents"] == str(len(service.incidents))
        assert row["mttr"] == uptime.duration_text(service.mttr_seconds)


def test_the_download_is_the_same_report_as_a_file_to_keep(manager, history):
    response = manager.get("/reports/uptime/download?month=2026-03")

    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Content-Disposition"] == 'attachment; filename="uptime-shop-1-2026-03.html"'
    page = response.get_data(as_text=True)
    assert page.startswith("<!doctype html>") and "<svg" in page and "<script" not in page
    assert "Uptime March 2026 — shop 1" in page
    assert "99.798%" in page and "readyz: timeout" in page
    kept = uptime.render_html(uptime.month_report(history, 2026, 3))
    assert re.sub(r"Generated .* UTC", "", page) == re.sub(r"Generated .* UTC", "", kept)


def test_the_month_picker_moves_between_months_and_refuses_what_is_not_a_past_month(manager, history):
    page = manager.get("/reports/uptime?month=2026-03").get_data(as_text=True)
    assert 'type="month" value="2026-03"' in page
    assert 'href="/reports/uptime?month=2026-02"' in page and 'href="/reports/uptime?month=2026-04"' in page
    assert 'href="/reports/uptime/download?month=2026-03"' in page

    current = manager.get("/reports/uptime")
    assert current.status_code == 200 and "to date" in current.get_data(as_text=True)

    for bad in ("2999-01", "March", "2026-13"):
        response = manager.get(f"/reports/uptime?month={bad}")
        assert response.status_code == 422
        assert 'id="month-error"' in response.get_data(as_text=True)
    assert manager.get("/reports/uptime/download?month=2999-01").status_code == 422


def test_the_dashboard_links_to_the_uptime_report(manager, db):
    assert 'href="/reports/uptime"' in manager.get("/reports").get_data(as_text=True)
