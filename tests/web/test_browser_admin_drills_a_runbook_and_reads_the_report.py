"""In headless Chromium: an admin opens the box-lost runbook, drills it from the shop's backup target,
follows the drill on its run page to the end, and reads the result in the drill report."""
from __future__ import annotations

import pytest

from appliance import config, operations
from tests.backup.helpers import local_target, write_targets

from .web_helpers import browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def settings(home, tmp_path, database_url):
    write_targets(home, [local_target("disk", tmp_path / "disk")])
    return config.load(home, environ={"APPLIANCE_DATABASE_URL": database_url})


def test_an_admin_drills_box_lost_and_sees_it_in_the_report(page, users, settings, make_product):
    make_product("TEA")
    operations.execute(settings, "backup.run", actor=operations.SCHEDULER, source="schedule", show_progress=False)

    browser_sign_in(page, "admin")
    page.goto("/ops/runbooks")
    page.click("tr[data-runbook=box-lost] a")
    page.select_option("#drill-runbook select[name=target]", "disk")
    page.click("#drill-runbook button")
    page.wait_for_url("**/ops/runbooks/runs/rb-*")
    page.wait_for_selector("#run-status[data-status=completed], #run-status[data-status=failed]", timeout=60_000)
    assert page.get_attribute("#run-status", "data-status") == "completed"
    assert page.locator("tr[data-step=restore][data-state=ok]").count() == 1
    assert page.locator("tr[data-step=config-accepted][data-state=skipped]").count() == 1  # shell: not in a drill
    screenshot(page, "drill-run")

    page.goto("/reports")
    page.click("#drills-link")
    row = page.locator("#drill-summary tr[data-runbook=box-lost][data-target=disk]")
    page.wait_for_selector("#drill-summary")
    assert row.count() == 1 and "met" in row.inner_text()
    assert page.locator("svg.drill-chart rect.bar").count() == 1
    screenshot(page, "drill-report")
