"""In headless Chromium: staff sees no admin links and gets a 403 page at every admin address."""
from __future__ import annotations

import pytest

from .web_helpers import browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_staff_gets_a_403_page_at_admin_addresses(page, users):
    browser_sign_in(page, "staff")
    nav = page.inner_text("header nav")
    assert "Users" not in nav and "Ops" not in nav and "Reports" not in nav
    for path in ("/admin/users", "/admin/tokens", "/ops", "/reports", "/import"):
        response = page.goto(path)
        assert response.status == 403, path
        assert page.inner_text("h1") == "Not allowed"
    screenshot(page, "forbidden")
