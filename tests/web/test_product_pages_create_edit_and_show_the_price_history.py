"""Managers create and edit products from the pages; each change lands in the audit trail and the
product page shows the price history from it. Bad input is said on its field and nothing is saved."""
from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from appliance import audit, categories, import_export, inventory
from appliance.models import AuditEvent, Product

from .web_helpers import post_form

FULL = {"sku": "TEA-GREEN", "name": "Green tea", "barcode": "4006381333931", "price": "4.50", "cost": "1,75",
        "category": "Tea", "reorder_point": "5", "reorder_qty": "24", "active": "1"}


def test_a_manager_creates_a_product_with_every_field(manager):
    response = post_form(manager, "/products/new", FULL)
    assert response.status_code == 302 and response.headers["Location"].endswith("/products/TEA-GREEN")
    product = Product.get(Product.sku == "TEA-GREEN")
    assert (product.name, product.barcode, product.price_cents, product.cost_cents) == ("Green tea", "4006381333931", 450, 175)
    assert (product.reorder_point, product.reorder_qty, product.active) == (5, 24, True)
    assert categories.category_of(product) == "Tea"
    event = AuditEvent.get(AuditEvent.action == "product.create")
    assert (event.actor, event.entity_id) == ("maria", "TEA-GREEN")
    assert AuditEvent.get(AuditEvent.action == "product.category").entity_id == "TEA-GREEN"


def test_a_category_is_shared_whatever_its_case_and_filters_the_list(manager, make_product):
    post_form(manager, "/products/new", FULL)
    make_product("MUG", name="Mug")
    post_form(manager, "/products/MUG", {"name": "Mug", "price": "2.50", "category": "  tea ", "active": "1"})
    assert categories.names() == ["Tea"]
    assert 'value="Tea"' in manager.get("/products/MUG").get_data(as_text=True)
    make_product("CUP", name="Cup")
    listed = manager.get("/products?category=Tea").get_data(as_text=True)
    assert ">MUG<" in listed and ">TEA-GREEN<" in listed and ">CUP<" not in listed
    post_form(manager, "/products/MUG", {"name": "Mug", "price": "2.50", "category": "", "active": "1"})
    assert categories.category_of(Product.get(Product.sku == "MUG")) is None
    assert AuditEvent.select().where(AuditEvent.action == "product.category").count() == 3  # Tea, tea, out


def test_the_list_as_filtered_downloads_as_csv_and_xlsx(manager, make_product):
    post_form(manager, "/products/new", FULL)
    make_product("MUG", name="Mug", price_cents=1_234_505)
    make_product("CUP", name="Cup")
    csv_lines = manager.get("/products?q=u&format=csv").get_data().decode("utf-8-sig").splitlines()
    assert csv_lines == ["SKU,Name,Barcode,Category,Price,Cost,Reorder point,Reorder quantity,Active",
                         "CUP,Cup,,,2.50,0.00,0,0,yes", "MUG,Mug,,,12345.05,0.00,0,0,yes"]
    book = load_workbook(io.BytesIO(manager.get("/products?category=Tea&format=xlsx").get_data()))
    assert list(book.active.iter_rows(values_only=True))[1] == (
        "TEA-GREEN", "Green tea", "4006381333931", "Tea", 4.5, 1.75, 5, 24, "yes")


def test_changing_the_price_is_audited_and_shown_in_the_history(manager):
    post_form(manager, "/products/new", FULL)
    response = post_form(manager, "/products/TEA-GREEN", {**FULL, "price": "5.25"})
    assert response.status_code == 302
    assert Product.get(Product.sku == "TEA-GREEN").price_cents == 525
    post_form(manager, "/products/TEA-GREEN", {**FULL, "price": "5.25", "name": "Green tea, loose"})  # no price change
    page = manager.get("/products/TEA-GREEN").get_data(as_text=True)
    history = page.split('id="price-history"')[1]
    assert history.index("5.25") < history.index("4.50")  # newest first
    assert history.count("<tr><td>") == 2  # creation and one price change; the rename is no price change
    assert audit.verify().ok


def test_a_price_changed_by_an_import_is_in_the_history_too(manager, settings):
    post_form(manager, "/products/new", FULL)
    import_export.apply("products", b"sku,name,price\nTEA-GREEN,Green tea,6.10\nOTHER-1,Other,1.00\n", "prices.csv",
                        actor="maria", settings=settings)
    import_export.apply("products", b"sku,name,price\nOTHER-1,Other,2.00\n", "other.csv", actor="maria", settings=settings)
    post_form(manager, "/products/TEA-GREEN", {**FULL, "price": "6.10", "cost": "2.00"})
    history = _history(manager, "TEA-GREEN")
    assert [row[1:6] for row in history] == [["maria", "6.10", "6.10", "2.00", "1.75"],           # the cost, on the page
                                             ["maria (import)", "6.10", "4.50", "1.75", "1.75"],  # the price, by the import
                                             ["maria", "4.50", "", "1.75", ""]]                  # created


def _history(client, sku: str) -> list[list[str]]:
    """The price history table's rows, each a list of its cells' text."""
    table = client.get(f"/products/{sku}").get_data(as_text=True).split('id="price-history"')[1].split("</table>")[0]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in row.split("</td>")[:-1]]
            for row in table.split("<tbody>")[1].split("</tr>")[:-1]]


def test_deactivating_keeps_the_product_and_the_filter_finds_it(manager, make_product):
    make_product("MUG", name="Mug")
    make_product("CUP", name="Cup")
    post_form(manager, "/products/MUG", {"name": "Mug", "price": "2.50", "cost": "0"})  # no 'active' ticked
    assert Product.get(Product.sku == "MUG").active is False
    active = manager.get("/products").get_data(as_text=True)
    inactive = manager.get("/products?active=inactive").get_data(as_text=True)
    assert ">CUP<" in active and ">MUG<" not in active
    assert ">MUG<" in inactive and ">CUP<" not in inactive
    found = manager.get("/products?active=all&q=mu").get_data(as_text=True)
    assert ">MUG<" in found and ">CUP<" not in found
    assert manager.get("/products?page=99999999999999999999&q=%00&category=%00").status_code == 200
    assert manager.get("/products/MU%00G").status_code == 404


def test_bad_input_is_said_on_its_field_and_nothing_is_saved(manager, make_product):
    make_product("MUG", barcode="111")
    for changes, field, words in ((({"price": "4.5.0"}), "price", "Enter an amount like 12.50."),
                                  ({"name": " "}, "name", "Required."),
                                  ({"reorder_point": "-1"}, "reorder_point", "Must be at least 0."),
                                  ({"name": "x" * 201}, "name", "At most 200 characters."),
                                  ({"barcode": "12\x0034"}, "barcode", "Remove the NUL character"),
                                  ({"sku": "a/b"}, "sku", "not a valid SKU"),
                                  ({"barcode": "111"}, "barcode", "Barcode 111 already belongs to MUG.")):
        response = post_form(manager, "/products/new", {**FULL, **changes})
        body = response.get_data(as_text=True)
        assert response.status_code in (409, 422), changes
        assert f'id="{field}-error"' in body and words in body, changes
        assert f'value="{FULL["name"]}"' in body or field == "name"  # what was typed stays
        assert f'value="{FULL["price"]}"' in body or field == "price"
    assert not Product.select().where(Product.sku.in_(["TEA-GREEN", "a/b"])).exists()
    response = post_form(manager, "/products/MUG", {"name": "Renamed", "price": "2.50", "category": "x" * 101})
    assert response.status_code == 422 and 'id="category-error"' in response.get_data(as_text=True)
    assert Product.get(Product.sku == "MUG").name == "Product MUG"  # nothing saved
    response = post_form(manager, "/products/MUG", {"name": "Mug", "price": "99999999999"})
    assert response.status_code == 422 and 'id="price-error"' in response.get_data(as_text=True)
    assert Product.get(Product.sku == "MUG").price_cents == 250


def test_staff_cannot_create_or_edit_products(staff, make_product):
    make_product("MUG")
    assert staff.get("/products").status_code == 403
    assert post_form(staff, "/products/new", FULL).status_code == 403
    assert post_form(staff, "/products/MUG", {"name": "x", "price": "0"}).status_code == 403
    assert Product.get(Product.sku == "MUG").price_cents == 250


def test_an_unknown_product_is_a_404(manager):
    assert manager.get("/products/NOPE").status_code == 404


def test_a_save_over_someone_elses_change_is_refused(manager, make_product):
    make_product("MUG", name="Mug")
    version = re.search(r'name="version" value="([^"]+)"', manager.get("/products/MUG").get_data(as_text=True))[1]
    inventory.update_product("MUG", {"price_cents": 300}, "ada")  # meanwhile, elsewhere
    response = post_form(manager, "/products/MUG", {"name": "Mug", "price": "2.75", "version": version, "active": "1"})
    assert response.status_code == 409
    assert "Someone changed this product after you opened it" in response.get_data(as_text=True)
    assert Product.get(Product.sku == "MUG").price_cents == 300
    fresh = re.search(r'name="version" value="([^"]+)"', response.get_data(as_text=True))[1]
    again = post_form(manager, "/products/MUG", {"name": "Mug", "price": "2.75", "version": fresh, "active": "1"})
    assert again.status_code == 302
    assert Product.get(Product.sku == "MUG").price_cents == 275
