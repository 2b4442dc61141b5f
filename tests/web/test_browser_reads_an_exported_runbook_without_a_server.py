"""The exported runbooks open in a browser straight from the disk, with no server running (the box is
dead): the index links to each page, and a page shows its steps and the box's facts."""
from __future__ import annotations

import pytest

from runbooks.export import export
from runbooks.loader import load_library

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_the_box_lost_page_opens_from_disk_and_shows_its_steps(browser, settings, tmp_path):
    folder = tmp_path / "usb-stick"
    export(settings, folder)
    context = browser.new_context(viewport={"width": 800, "height": 1100})
    try:
        page = context.new_page()
        page.goto((folder / "index.html").as_uri())
        page.click("a[href='box-lost.html']")
        page.wait_for_selector("ol.steps")

        steps = page.locator("ol.steps > li")
        assert steps.count() == len(load_library()["box-lost"].steps)
        assert "keys/backup.key" in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "box-lost.png"))
    finally:
        context.close()
