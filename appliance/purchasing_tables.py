"""The tables of suppliers and purchase orders (schema v11); the rules that write them are in
appliance/suppliers.py and appliance/purchasing.py. Kept apart so the schema can name them without
importing those rules (they import the audit trail, which imports the schema)."""
from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .models import BaseModel, Product, utcnow


class Supplier(BaseModel):
    name = CharField(max_length=200, unique=True)
    email = CharField(max_length=200, null=True)
    lead_time_days = IntegerField(default=7)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)


class SupplierProduct(BaseModel):
    """A product a supplier carries: its cost there (integer cents) and the pack it is sold in."""
    supplier = ForeignKeyField(Supplier, backref="products", on_delete="CASCADE")
    product = ForeignKeyField(Product, backref="supplied_by", on_delete="RESTRICT")
    cost_cents = IntegerField(default=0)
    pack_qty = IntegerField(default=1)  # orders are whole packs of this many units

    class Meta:
        indexes = ((("supplier", "product"), True),)


class PurchaseOrder(BaseModel):
    number = CharField(max_length=32, unique=True)
    supplier = ForeignKeyField(Supplier, backref="purchase_orders", on_delete="RESTRICT")
    status = CharField(max_length=16, default="draft", index=True)
    note = TextField(null=True)
    created_by = CharField(max_length=100)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)
    sent_to = CharField(max_length=200, null=True)  # the address it was e-mailed to; None: sent another way
    received_at = DateTimeField(null=True)
    cancelled_at = DateTimeField(null=True)


class PurchaseOrderLine(BaseModel):
    purchase_order = ForeignKeyField(PurchaseOrder, backref="lines", on_delete="CASCADE")
    product = ForeignKeyField(Product, on_delete="RESTRICT")
    qty_ordered = IntegerField()
    qty_received = IntegerField(default=0)
    unit_cost_cents = IntegerField(default=0)

    class Meta:
        indexes = ((("purchase_order", "product"), True),)

    @property
    def outstanding(self) -> int:
        return max(self.qty_ordered - self.qty_received, 0)


MODELS = [Supplier, SupplierProduct, PurchaseOrder, PurchaseOrderLine]
