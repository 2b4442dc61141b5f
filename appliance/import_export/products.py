"""Products file: one row per product, upserted by SKU.

A column left out of the file leaves that field as it is; a column that is there is authoritative, an
empty cell meaning no barcode, 0, or active. A row identical to the product changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import audit
from ..inventory import PRODUCT_FIELDS, product_dict
from ..models import Product, utcnow
from .files import Money, Table
from .values import Columns, Problems, Row, yes_no

KIND = "products"
COLUMNS = Columns(required=("sku", "name", "price"),
                  optional=("barcode", "cost", "reorder_point", "reorder_qty", "active"),
                  layout=("sku", "barcode", "name", "price", "cost", "reorder_point", "reorder_qty", "active"))
# file column -> (model field, value for a new product or an empty cell)
FIELDS = {"sku": ("sku", None), "barcode": ("barcode", None), "name": ("name", None),
          "price": ("price_cents", 0), "cost": ("cost_cents", 0), "reorder_point": ("reorder_point", 0),
          "reorder_qty": ("reorder_qty", 0), "active": ("active", True)}
CHUNK = 500


@dataclass
class ProductRow:
    row: int
    values: dict                 # model field -> value, only for columns present in the file
    existing: Product | None = None
    changes: dict = field(default_factory=dict)  # model field -> (before, after)


@dataclass
class Plan:
    rows: list[ProductRow]

    @property
    def created(self) -> list[ProductRow]:
        return [r for r in self.rows if r.existing is None]

    @property
    def updated(self) -> list[ProductRow]:
        return [r for r in self.rows if r.existing is not None and r.changes]

    @property
    def changes_anything(self) -> bool:
        return bool(self.created or self.updated)

    def counts(self) -> dict[str, int]:
        created, updated = len(self.created), len(self.updated)
        return {"created": created, "updated": updated, "unchanged": len(self.rows) - created - updated}

    def write(self, actor: str, filename: str) -> None:
        now = utcnow()
        _free_moving_barcodes(self.updated)
        for item in self.created:
            Product.create(**_new_product(item.values), created_at=now, updated_at=now)
        for item in self.updated:
            Product.update(**{f: after for f, (_, after) in item.changes.items()}, updated_at=now).where(
                Product.id == item.existing.id).execute()
        audit.record(actor, "import.products", "import", KIND, after={
            "file": filename, **self.counts(),
            "created": [r.values["sku"] for r in self.created],
            "updated": {r.values["sku"]: {f: list(change) for f, change in r.changes.items()} for r in self.updated},
        })


def plan(table: Table, problems: Problems, settings=None) -> Plan:
    header = set(table.header)
    rows, first_row_of_sku = [], {}
    for number, values in table.rows:
        row = Row(number, values, problems)
        parsed = _parse(row, header)
        sku = parsed.get("sku")
        if sku in first_row_of_sku:
            row.error("sku", f"SKU {sku} is also on row {first_row_of_sku[sku]}")
        elif sku:
            first_row_of_sku[sku] = number
        if row.ok:
            rows.append(ProductRow(number, parsed))
    _attach_existing(rows)
    _check_barcodes(rows, problems)
    return Plan(rows)


def _parse(row: Row, header: set[str]) -> dict:
    readers = {
        "sku": lambda c: row.text(c, required=True, max_length=64),
        "barcode": lambda c: row.text(c, max_length=64),
        "name": lambda c: row.text(c, required=True, max_length=200),
        "price": lambda c: row.money(c, required=True),
        "cost": row.money,
        "reorder_point": lambda c: row.whole(c, minimum=0),
        "reorder_qty": lambda c: row.whole(c, minimum=0),
        "active": row.flag,
    }
    parsed = {}
    for column, read in readers.items():
        if column in header:
            model_field, empty = FIELDS[column]
            value = read(column)
            parsed[model_field] = empty if value is None else value
    return parsed


def _attach_existing(rows: list[ProductRow]) -> None:
    skus = [r.values["sku"] for r in rows]
    existing = {}
    for start in range(0, len(skus), CHUNK):
        existing.update({p.sku: p for p in Product.select().where(Product.sku.in_(skus[start:start + CHUNK]))})
    for item in rows:
        item.existing = existing.get(item.values["sku"])
        if item.existing is not None:
            before = product_dict(item.existing)
            item.changes = {f: (before[f], v) for f, v in item.values.items() if f != "sku" and before[f] != v}


def _check_barcodes(rows: list[ProductRow], problems: Problems) -> None:
    """Barcodes are unique: checked against the products as they will be after the import."""
    in_file = {r.values["sku"]: r for r in rows}
    owner_of = {}
    for sku, barcode in Product.select(Product.sku, Product.barcode).where(Product.barcode.is_null(False)).tuples():
        if sku not in in_file or "barcode" not in in_file[sku].values:
            owner_of[barcode] = (sku, None)
    for item in rows:
        barcode = item.values.get("barcode")
        if not barcode:
            continue
        owner = owner_of.get(barcode)
        if owner is not None:
            other_sku, other_row = owner
            where = f"row {other_row}" if other_row else "the products already here"
            problems.add(item.row, "barcode", f"barcode {barcode} also belongs to {other_sku} ({where})")
        else:
            owner_of[barcode] = (item.values["sku"], item.row)


def _free_moving_barcodes(updated: list[ProductRow]) -> None:
    """Clears barcodes that change first, so two products may swap barcodes within one import."""
    moving = [r.existing.id for r in updated if "barcode" in r.changes and r.changes["barcode"][0]]
    if moving:
        Product.update(barcode=None).where(Product.id.in_(moving)).execute()


def _new_product(values: dict) -> dict:
    defaults = {model_field: empty for model_field, empty in FIELDS.values() if model_field != "sku"}
    return {f: v for f, v in (defaults | values).items() if f in PRODUCT_FIELDS}


# -- export -----------------------------------------------------------------------------------

def export_rows(settings=None) -> tuple[list[str], list[list]]:
    rows = [[p.sku, p.barcode, p.name, Money(p.price_cents), Money(p.cost_cents), p.reorder_point,
             p.reorder_qty, yes_no(p.active)]
            for p in Product.select().order_by(Product.sku)]
    return COLUMNS.export_order, rows
