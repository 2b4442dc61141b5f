"""In headless Chromium: a manager creates a product, changes its price and sees the change in its
history, then runs the sales report for chosen days and downloads it as XLSX; the file opens with
openpyxl and holds the sale of those days only, its money a number."""
from __future__ import annotations

from datetime import datetime

import pytest
from openpyxl import load_workbook

from appliance import clock, inventory, orders

from .web_helpers import browser_sign_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_manager_prices_a_product_and_downloads_its_sales(page, users, settings, tmp_path):
    settings.shop.timezone = "Europe/Berlin"
    browser_sign_in(page, "manager")
    page.goto("/products")
    page.click("#new-product")
    page.fill("#sku", "LAMP")
    page.fill("#name", "Desk lamp")
    page.fill("#price", "20.00")
    page.fill("#cost", "9.00")
    page.fill("#category", "Lighting")
    page.click("#save-product")
    page.wait_for_url("**/products/LAMP")
    page.fill("#price", "24,50")
    page.click("#save-product")
    page.wait_for_url("**/products/LAMP")
    history = page.locator("#price-history tbody tr")
    assert history.count() == 2
    assert history.nth(0).inner_text().split("\t")[1:4] == ["maria", "24.50", "20.00"]
    screenshot(page, "product-price-history")
    page.click("text=All products")
    assert page.locator("#products tbody tr").first.inner_text().split("\t")[:4] == ["LAMP", "Desk lamp", "", "Lighting"]
    screenshot(page, "products")

    inventory.receive("LAMP", 10, "test")
    for at, qty in ((datetime(2026, 11, 14, 10, 0), 2), (datetime(2026, 11, 20, 10, 0), 1)):
        with clock.shifted_to(at):
            orders.create_order(settings, channel="store", actor="sam", lines=[orders.LineRequest("LAMP", qty)])

    page.goto("/reports")
    page.click("#sales-report-link")
    page.select_option("#by", "product")
    page.fill("#from", "2026-11-10")
    page.fill("#to", "2026-11-16")
    page.click("#run-report")
    page.wait_for_url("**/reports/sales?**")
    assert "49.00" in page.inner_text("#report")
    screenshot(page, "sales-report")
    with page.expect_download() as caught:
        page.click("#download-xlsx")
    download = caught.value
    assert download.suggested_filename == "sales-by-product-2026-11-10-to-2026-11-16.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows == [("SKU", "Product", "Quantity", "Sales"), ("LAMP", "Desk lamp", 2, 49)]
