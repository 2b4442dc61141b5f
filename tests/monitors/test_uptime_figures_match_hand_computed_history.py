"""Availability, planned time, incidents, MTTR and MTBF computed from a recorded history of state
changes match figures worked out by hand (the arithmetic is in the comments)."""
from __future__ import annotations

from datetime import datetime

import pytest

from monitors import engine, uptime
from monitors.models import StateChange

pytestmark = pytest.mark.calendar

H = 3600
DAY = 86400


def _history():
    changes = [
        ("2026-01-09 00:00", "unknown", "ok", "ready"),
        ("2026-01-10 10:00", "ok", "crit", "refused"),       # 30 min down
        ("2026-01-10 10:30", "crit", "ok", "ready"),
        ("2026-01-10 14:10", "ok", "crit", "upgrade"),       # inside maintenance 14:00-15:00: planned
        ("2026-01-10 14:40", "crit", "ok", "ready"),
        ("2026-01-10 20:00", "ok", "crit", "timeout"),       # 1 h down
        ("2026-01-10 21:00", "crit", "ok", "ready"),
        ("2026-01-12 09:30", "ok", "crit", "slow"),          # 30 min down, then maintenance 10:00-11:00
        ("2026-01-12 10:30", "crit", "ok", "ready"),
        ("2026-01-20 12:00", "ok", "unknown", "monitor stopped"),  # 1 h unmonitored
        ("2026-01-20 13:00", "unknown", "ok", "ready"),
    ]
    for at, old, new, reason in changes:
        StateChange.create(check="readyz", at=datetime.fromisoformat(at), from_state=old, to_state=new, reason=reason)
    engine.plan_maintenance(datetime(2026, 1, 10, 14), datetime(2026, 1, 10, 15), by="ana", checks="readyz")
    engine.plan_maintenance(datetime(2026, 1, 12, 10), datetime(2026, 1, 12, 11), by="ana")
    # A window for another check only does not count for the web service.
    engine.plan_maintenance(datetime(2026, 1, 15, 10), datetime(2026, 1, 15, 11), by="ana", checks="db_probe")


def test_day_figures_match_hand_computed(db):
    _history()
    day = uptime.figures(["readyz"], datetime(2026, 1, 10), datetime(2026, 1, 11))
    assert day.planned_seconds == H
    assert day.down_seconds == 0.5 * H + 1 * H
    assert day.unknown_seconds == 0
    assert day.up_seconds == DAY - H - 1.5 * H                       # 77 400 s
    assert day.availability == pytest.approx(77400 / (77400 + 5400))  # 93.478 %


def test_month_figures_incidents_mttr_mtbf_match_hand_computed(db, settings):
    _history()
    report = uptime.month_report(settings, 2026, 1, now=datetime(2026, 2, 1))
    web = next(s for s in report.services if s.name == "web")
    t = web.total

    assert t.unknown_seconds == 8 * DAY + H          # before monitoring began on the 9th, plus the stop on the 20th
    assert t.planned_seconds == 2 * H
    assert t.down_seconds == 0.5 * H + 1 * H + 0.5 * H
    assert t.up_seconds == 31 * DAY - (8 * DAY + H) - 2 * H - 2 * H   # 1 969 200 s
    assert t.availability == pytest.approx(1969200 / (1969200 + 7200))  # 99.636 %

    assert [(i.start, i.duration_seconds, i.cause) for i in web.incidents] == [
        (datetime(2026, 1, 10, 10), 1800, "readyz: refused"),
        (datetime(2026, 1, 10, 20), 3600, "readyz: timeout"),
        (datetime(2026, 1, 12, 9, 30), 1800, "readyz: slow"),  # ends where the maintenance began
    ]
    assert web.mttr_seconds == 2400
    assert web.mtbf_seconds == 1969200 / 3
    assert len(web.days) == 31 and web.days[9].down_seconds == 5400


def test_monthly_report_file_has_a_chart_and_the_incidents(db, settings):
    _history()
    report = uptime.month_report(settings, 2026, 1, now=datetime(2026, 2, 1))
    path = uptime.write_month_report(settings, report)

    assert path == settings.home / "reports" / "uptime-2026-01.html"
    page = path.read_text()
    assert "<svg" in page and "<script" not in page
    assert "99.636%" in page
    assert "readyz: timeout" in page


def test_ongoing_incident_is_marked_ongoing(db, settings):
    StateChange.create(check="readyz", at=datetime(2026, 1, 5), from_state="unknown", to_state="ok")
    StateChange.create(check="readyz", at=datetime(2026, 1, 5, 12), from_state="ok", to_state="crit", reason="refused")
    report = uptime.month_report(settings, 2026, 1, now=datetime(2026, 1, 5, 13))
    (incident,) = next(s for s in report.services if s.name == "web").incidents
    assert incident.ongoing and incident.duration_seconds == H
