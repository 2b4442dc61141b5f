"""A manager adds a supplier and the products it carries (cost typed as money, pack size); a bad
e-mail address, a duplicate name or an unknown SKU is refused on its field and keeps what was typed;
every change is in the audit trail."""
from __future__ import annotations

from appliance import suppliers
from appliance.models import AuditEvent

from tests.web.web_helpers import post_form


def test_a_manager_adds_a_supplier_and_its_products(manager, stock_product):
    stock_product("TEA")
    added = post_form(manager, "/suppliers", {"name": "Leaf & Co", "email": "orders@leaf.example",
                                              "lead_time_days": "5", "active": "1"})
    assert added.status_code == 302
    leaf = suppliers.Supplier.get(suppliers.Supplier.name == "Leaf & Co")
    assert (leaf.email, leaf.lead_time_days, leaf.active) == ("orders@leaf.example", 5, True)
    assert post_form(manager, f"/suppliers/{leaf.id}/products", {"sku": "TEA", "cost": "1,25", "pack_qty": "12"}).status_code == 302
    (row,) = suppliers.range_of(leaf)
    assert (row.product.sku, row.cost_cents, row.pack_qty) == ("TEA", 125, 12)
    assert [e.action for e in AuditEvent.select().where(AuditEvent.entity == "supplier")] == ["supplier.create", "supplier.product"]


def test_bad_input_is_refused_on_its_field_and_kept(manager, stock_product, supplier):
    supplier("Leaf & Co")
    typo = post_form(manager, "/suppliers", {"name": "Mug World", "email": "orders(at)mugs", "lead_time_days": "3"})
    body = typo.get_data(as_text=True)
    assert typo.status_code == 422 and 'id="email-error">not an e-mail address<' in body and 'value="Mug World"' in body
    twice = post_form(manager, "/suppliers", {"name": "Leaf & Co", "email": "", "lead_time_days": "3"})
    assert twice.status_code == 409 and "A supplier named Leaf &amp; Co already exists." in twice.get_data(as_text=True)
    lead = post_form(manager, "/suppliers", {"name": "Slow", "lead_time_days": "400"})
    assert lead.status_code == 422 and "Must be at most 365." in lead.get_data(as_text=True)
    leaf = suppliers.Supplier.get(suppliers.Supplier.name == "Leaf & Co")
    unknown = post_form(manager, f"/suppliers/{leaf.id}/products", {"sku": "NOPE", "cost": "1.00", "pack_qty": "1"})
    assert unknown.status_code == 404 and "No product with SKU NOPE." in unknown.get_data(as_text=True)
    assert suppliers.Supplier.select().count() == 1
