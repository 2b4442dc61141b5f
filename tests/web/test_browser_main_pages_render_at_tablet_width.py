"""In headless Chromium at tablet width (800px), with the demo shop loaded: every main page renders
without horizontal scrolling of the page itself, and is saved under test-artifacts/screenshots/."""
from __future__ import annotations

import pytest

from appliance import accounts, stocktake
from appliance.demo import load_demo
from appliance.models import Customer, Order

from .web_helpers import browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PAGES = {
    "orders": "/orders",
    "stock": "/stock",
    "stocktake": "/stocktake",
    "customers": "/customers",
    "reports": "/reports",
    "uptime-demo": "/reports/uptime",
    "users": "/admin/users",
    "tokens": "/admin/tokens",
    "ops": "/ops",
    "import": "/import",
    "password": "/account/password",
    "not-found": "/no/such/page",
}


def test_main_pages_fit_a_tablet(page, users, settings):
    load_demo(settings, days=14)
    accounts.create_token("webshop-sync", "staff", "ada")
    session = stocktake.open_session("floor", "sam")
    stocktake.record_count(session.id, "TEA-EARL", 3, "sam")
    customer = Customer.select().first()
    order = Order.select().where(Order.customer == customer).first()

    page.goto("/login")
    screenshot(page, "login")
    browser_sign_in(page, "admin")
    pages = dict(PAGES, **{"customer": f"/customers/{customer.id}", "order": f"/orders/{order.number}",
                            "stocktake-count": f"/stocktake/{session.id}"})
    for name, path in pages.items():
        response = page.goto(path)
        assert response.status == (404 if name == "not-found" else 200), path
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 800px"
        screenshot(page, name)

    page.goto("/import")   # the row-by-row check of a file with two bad rows
    page.set_input_files("#file", files=[{"name": "products.csv", "mimeType": "text/csv",
                                          "buffer": b"sku,name,price\nTEA,Tea,3.50\nMUG,,12\nJAM,Jam,cheap\n"}])
    page.click("button:has-text('Check the file')")
    page.wait_for_selector("#import-report")
    screenshot(page, "import-report")
