"""Suppliers: who sells the shop its stock, how long a delivery takes, and what each product costs there.

A supplier has a name, a contact e-mail (purchase orders are sent there), a lead time in days (from
sending an order to the goods on the shelf: replenishment covers it) and the products it supplies, each
with its cost and its pack size (orders are rounded up to whole packs). When several suppliers carry a
product, replenishment buys from the cheapest, then the quickest (`supplier_for`).
"""
from __future__ import annotations

import re

from . import audit
from .db import write_transaction
from .errors import Conflict, Invalid, NotFound
from .inventory import product_by_sku
from .limits import MAX_ON_HAND, MAX_PRICE_CENTS
from .models import Product
from .purchasing_tables import Supplier, SupplierProduct

MAX_LEAD_TIME_DAYS = 365
# One address, as a supplier's order desk has: enough to refuse a typo, not a full RFC 5322 parser.
EMAIL_PATTERN = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


def supplier_by_id(supplier_id: int) -> Supplier:
    supplier = Supplier.get_or_none(Supplier.id == supplier_id)
    if supplier is None:
        raise NotFound(f"No supplier {supplier_id}.", [{"supplier": supplier_id}])
    return supplier


def supplier_dict(supplier: Supplier) -> dict:
    return {"name": supplier.name, "email": supplier.email, "lead_time_days": supplier.lead_time_days,
            "active": supplier.active}


def _checked(data: dict) -> dict:
    """The supplier's fields, judged; every refusal names its field."""
    name = (data.get("name") or "").strip()
    if not name or len(name) > 200:
        raise Invalid("A supplier needs a name (at most 200 characters).", [{"field": "name", "message": "required"}])
    email = (data.get("email") or "").strip() or None
    if email and (len(email) > 200 or not EMAIL_PATTERN.fullmatch(email)):
        raise Invalid(f"{email!r} is not an e-mail address.", [{"field": "email", "message": "not an e-mail address"}])
    lead = data.get("lead_time_days", 7)
    if not isinstance(lead, int) or isinstance(lead, bool) or not 0 <= lead <= MAX_LEAD_TIME_DAYS:
        raise Invalid(f"The lead time is a whole number of days from 0 to {MAX_LEAD_TIME_DAYS}.",
                      [{"field": "lead_time_days", "message": f"must be 0-{MAX_LEAD_TIME_DAYS}"}])
    return {"name": name, "email": email, "lead_time_days": lead, "active": bool(data.get("active", True))}


def _name_free(name: str, own_id: int | None) -> None:
    other = Supplier.get_or_none(Supplier.name == name)
    if other is not None and other.id != own_id:
        raise Conflict(f"A supplier named {name} already exists.", [{"field": "name", "message": "already exists"}])


def create_supplier(data: dict, actor: str) -> Supplier:
    fields = _checked(data)
    with write_transaction():
        _name_free(fields["name"], None)
        supplier = Supplier.create(**fields)
        audit.record(actor, "supplier.create", "supplier", supplier.id, after=supplier_dict(supplier))
    return supplier


def update_supplier(supplier_id: int, data: dict, actor: str) -> Supplier:
    fields = _checked(data)
    with write_transaction():
        supplier = supplier_by_id(supplier_id)
        before = supplier_dict(supplier)
        _name_free(fields["name"], supplier.id)
        for field, value in fields.items():
            setattr(supplier, field, value)
        supplier.save()
        audit.record(actor, "supplier.update", "supplier", supplier.id, before=before, after=supplier_dict(supplier))
    return supplier


def set_product(supplier_id: int, sku: str, cost_cents: int, pack_qty: int, actor: str) -> SupplierProduct:
    """Adds a product to the supplier's range, or changes its cost and pack there."""
    if not isinstance(cost_cents, int) or isinstance(cost_cents, bool) or not 0 <= cost_cents <= MAX_PRICE_CENTS:
        raise Invalid(f"cost_cents must be a whole number from 0 to {MAX_PRICE_CENTS}.",
                      [{"field": "cost", "message": f"must be 0-{MAX_PRICE_CENTS} cents"}])
    if not isinstance(pack_qty, int) or isinstance(pack_qty, bool) or not 1 <= pack_qty <= MAX_ON_HAND:
        raise Invalid(f"A pack holds from 1 to {MAX_ON_HAND} units.", [{"field": "pack_qty", "message": "must be 1 or more"}])
    with write_transaction():
        supplier = supplier_by_id(supplier_id)
        product = product_by_sku(sku)
        row = SupplierProduct.get_or_none((SupplierProduct.supplier == supplier) & (SupplierProduct.product == product))
        before = None if row is None else {"cost_cents": row.cost_cents, "pack_qty": row.pack_qty}
        if row is None:
            row = SupplierProduct.create(supplier=supplier, product=product, cost_cents=cost_cents, pack_qty=pack_qty)
        else:
            row.cost_cents, row.pack_qty = cost_cents, pack_qty
            row.save()
        audit.record(actor, "supplier.product", "supplier", supplier.id, before=before,
                     after={"sku": product.sku, "cost_cents": cost_cents, "pack_qty": pack_qty})
    return row


def remove_product(supplier_id: int, sku: str, actor: str) -> None:
    with write_transaction():
        supplier = supplier_by_id(supplier_id)
        product = product_by_sku(sku)
        deleted = (SupplierProduct.delete()
                   .where((SupplierProduct.supplier == supplier) & (SupplierProduct.product == product)).execute())
        if deleted:
            audit.record(actor, "supplier.product.remove", "supplier", supplier.id, before={"sku": product.sku})


def range_of(supplier: Supplier) -> list[SupplierProduct]:
    return list(SupplierProduct.select(SupplierProduct, Product).join(Product)
                .where(SupplierProduct.supplier == supplier).order_by(Product.sku))


def supplier_for(product_ids: list[int]) -> dict[int, SupplierProduct]:
    """Each product's supplier to buy from: the cheapest active one carrying it, then the quickest."""
    chosen: dict[int, SupplierProduct] = {}
    if not product_ids:
        return chosen
    rows = (SupplierProduct.select(SupplierProduct, Supplier).join(Supplier)
            .where(SupplierProduct.product.in_(product_ids) & Supplier.active)
            .order_by(SupplierProduct.cost_cents, Supplier.lead_time_days, Supplier.id))
    for row in rows:
        chosen.setdefault(row.product_id, row)
    return chosen


def active_suppliers() -> list[Supplier]:
    return list(Supplier.select().where(Supplier.active).order_by(Supplier.name))
