"""Stock counts file: one row per product and location with the counted quantity on hand.

A count sets on_hand; the difference is posted to the ledger as a `stocktake` movement, like a
stocktake session would. A count below the stock reserved for orders is refused: stock promised to a
customer cannot silently vanish (same rule as appliance.stocktake.post).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import audit
from ..inventory import DEFAULT_LOCATION, Movement, apply_movements
from ..models import Location, Product, StockLevel
from .files import Table
from .values import Columns, Problems, Row

KIND = "stock"
COLUMNS = Columns(required=("sku", "on_hand"), optional=("location",), informational=("name", "reserved"),
                  layout=("sku", "name", "location", "on_hand", "reserved"))


@dataclass
class Count:
    row: int
    sku: str
    location: str
    product_id: int
    location_id: int
    before: int
    counted: int


@dataclass
class Plan:
    items: list[Count]

    @property
    def changed(self) -> list[Count]:
        return [c for c in self.items if c.counted != c.before]

    @property
    def changes_anything(self) -> bool:
        return bool(self.changed)

    def counts(self) -> dict[str, int]:
        return {"changed": len(self.changed), "unchanged": len(self.items) - len(self.changed)}

    def write(self, actor: str, filename: str) -> None:
        apply_movements([Movement(c.product_id, c.location_id, "stocktake", on_hand_delta=c.counted - c.before,
                                  reference=f"import {filename}"[:200]) for c in self.changed], actor)
        audit.record(actor, "import.stock", "import", KIND, after={
            "file": filename, **self.counts(),
            "on_hand": {f"{c.sku}@{c.location}": [c.before, c.counted] for c in self.changed},
        })


def plan(table: Table, problems: Problems, settings=None) -> Plan:
    products = {p.sku: p.id for p in Product.select(Product.sku, Product.id)}
    locations = {loc.code: loc.id for loc in Location.select(Location.code, Location.id)}
    levels = {(lv.product_id, lv.location_id): lv for lv in StockLevel.select()}
    items, first_row = [], {}
    for number, values in table.rows:
        row = Row(number, values, problems)
        sku = row.text("sku", required=True)
        location = row.text("location") or DEFAULT_LOCATION
        counted = row.whole("on_hand", minimum=0, required=True)
        if sku and sku not in products:
            row.error("sku", f"unknown SKU {sku}")
        if location not in locations:
            row.error("location", f"unknown location {location}")
        if (sku, location) in first_row:
            row.error("sku", f"{sku} at {location} is also counted on row {first_row[(sku, location)]}")
        if not row.ok:
            continue
        first_row[(sku, location)] = number
        level = levels.get((products[sku], locations[location]))
        on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
        if counted < reserved:
            row.error("on_hand", f"the count {counted} is below the {reserved} reserved for orders; "
                                 "ship or cancel those orders first")
            continue
        items.append(Count(number, sku, location, products[sku], locations[location], on_hand, counted))
    return Plan(items)


# -- export -----------------------------------------------------------------------------------

def export_rows(settings=None) -> tuple[list[str], list[list]]:
    """Every stock level, plus each product without one at the shop floor with 0, so the file can
    serve as a count sheet for the whole range."""
    query = (StockLevel.select(StockLevel, Product, Location).join(Product).switch(StockLevel).join(Location)
             .order_by(Product.sku, Location.pick_order, Location.code))
    rows, counted_products = [], set()
    for level in query:
        counted_products.add(level.product_id)
        rows.append([level.product.sku, level.product.name, level.location.code, level.on_hand, level.reserved])
    for product in Product.select().order_by(Product.sku):
        if product.id not in counted_products:
            rows.append([product.sku, product.name, DEFAULT_LOCATION, 0, 0])
    rows.sort(key=lambda r: r[0])  # stable: keeps each product's locations in pick order
    return COLUMNS.export_order, rows
