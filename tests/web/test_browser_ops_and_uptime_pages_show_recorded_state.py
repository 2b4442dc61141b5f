"""In headless Chromium at tablet width, with recorded check states, real backups on local targets and
a month of uptime history: /ops shows the health and backup panels (acknowledging from the page works),
/reports/uptime shows the month with its chart and downloads the report file; screenshots are saved
under test-artifacts/screenshots/ to look at."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from appliance import clock, config
from appliance.models import utcnow
from backup.run import run_backup
from backup.verify import verify
from monitors import engine
from monitors.checks import Result, catalog, config_for
from monitors.models import StateChange
from tests.backup.helpers import local_target, write_targets

from .web_helpers import browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

READINGS = [("readyz", "crit", 5.2, "GET /readyz took 5.2 s (limit 5 s)"),
            ("stuck_pending", "warn", 2, "2 orders waiting for approval over 4 h"),
            ("cpu", "ok", 12.5, "12% busy"), ("memory", "ok", 41, "41% used"),
            ("disk", "ok", 63.2, "/ 63% full (3.6 GiB free of 9.8 GiB)"), ("db_probe", "ok", 0.004, "write+read in 4 ms"),
            ("stock_ledger", "ok", 0, "stock matches the ledger")]


@pytest.fixture(autouse=True)
def mid_month():
    """The month's history below needs days 3 and 6 behind it: the box's clock reads the 20th."""
    with clock.shifted_to(datetime(2026, 11, 20, 14, 0)) as instant:
        yield instant


@pytest.fixture
def settings(home, tmp_path, database_url):
    write_targets(home, [local_target("disk", tmp_path / "disk"), local_target("usb", tmp_path / "usb", medium="usb"),
                         local_target("broken", "/proc/cannot-write-here")])
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})


def _record_states(settings) -> None:
    start = utcnow() - timedelta(minutes=40)
    for check, state, value, reason in READINGS:
        cfg = config_for(catalog()[check], settings)
        for n in range(cfg.confirm_count):
            engine.record(check, Result(state, value, reason), settings, cfg, start + timedelta(minutes=n))
    engine.silence("stuck_pending", utcnow() + timedelta(hours=4), "ada", "approvals are being reviewed")
    tomorrow = datetime.combine(utcnow().date() + timedelta(days=1), datetime.min.time()) + timedelta(hours=22)
    engine.plan_maintenance(tomorrow, tomorrow + timedelta(minutes=90), "ada", "replace the UPS battery")


def _this_months_history() -> None:
    """Down twice and one planned window this month, so the chart has something to draw."""
    first = datetime(utcnow().year, utcnow().month, 1)
    changes = [(0, "unknown", "ok", "ready"), (2 * 24 + 10, "ok", "crit", "connection refused"),
               (2 * 24 + 12, "crit", "ok", "ready"), (5 * 24 + 22, "ok", "crit", "upgrade"),
               (5 * 24 + 23, "crit", "ok", "ready")]
    for hours, old, new, reason in changes:
        StateChange.create(check="readyz", at=first + timedelta(hours=hours), from_state=old, to_state=new, reason=reason)
    StateChange.create(check="db_probe", at=first, from_state="unknown", to_state="ok", reason="ready")
    engine.plan_maintenance(first + timedelta(hours=5 * 24 + 21), first + timedelta(hours=5 * 24 + 24), "ada",
                            "database upgrade", checks="readyz")


def _fits(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at 800px"


def test_ops_and_uptime_pages_show_recorded_state(page, users, settings, make_product):
    make_product("TEA")
    run_backup(settings, show_progress=False)
    run_backup(settings, show_progress=False)
    verify(settings, target="disk", show_progress=False)
    _this_months_history()
    _record_states(settings)

    browser_sign_in(page, "admin")
    page.goto("/ops")
    _fits(page)
    assert page.locator("tr.state-crit[data-check=readyz]").is_visible()
    assert page.locator("#backups-table tbody tr").count() == 2
    screenshot(page, "ops-health")

    page.click("button[aria-label='Acknowledge readyz']")
    page.wait_for_selector(".flash-success")
    assert "readyz (crit) acknowledged" in page.inner_text(".flash-success")
    assert "ack ada" in page.inner_text("tr[data-check=readyz]")
    screenshot(page, "ops-after-acknowledge")

    page.goto("/reports")
    page.click("#uptime-link")
    page.wait_for_selector("#uptime-summary")
    _fits(page)
    # the stretch on the 6th was planned; readyz has been crit for 40 minutes: an ongoing incident
    assert page.inner_text("tr[data-service=web] td.incidents") == "2"
    assert page.locator("#service-web tr.ongoing").count() == 1
    assert page.locator("#service-web svg rect").count() > 0
    screenshot(page, "uptime")
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename.endswith(f"-{utcnow():%Y-%m}.html")
