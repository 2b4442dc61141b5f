"""Purchase orders: what the shop ordered from a supplier, and what of it has arrived.

States: draft → sent → partly received → received, or cancelled (from draft, sent or partly
received: what has arrived stays received, the rest is no longer expected). Lines are edited only
while the order is a draft. Receiving books each line through `inventory.receive`, the same path as
receiving at the stock page (one ledger row of kind "receive" per line, the purchase order's number as
its reference), so the ledger and the levels cannot tell the two apart.

Quantities still expected (ordered − received on drafts, sent and partly received orders) are
"on order": replenishment counts them as stock on its way (`on_order_by_product`).
"""
from __future__ import annotations

from datetime import datetime

from peewee import fn

from . import audit, inventory
from .db import write_transaction
from .errors import Conflict, Invalid, NotFound
from .limits import MAX_MOVE_QTY, MAX_ORDER_LINES, MAX_PRICE_CENTS
from .models import Product, utcnow
from .purchasing_tables import PurchaseOrder, PurchaseOrderLine, Supplier, SupplierProduct
from .suppliers import supplier_by_id

STATUSES = ("draft", "sent", "partly_received", "received", "cancelled")
OPEN_STATUSES = ("draft", "sent", "partly_received")  # their outstanding quantities are on order
RECEIVABLE = ("sent", "partly_received")


def purchase_order(po_id: int) -> PurchaseOrder:
    po = PurchaseOrder.get_or_none(PurchaseOrder.id == po_id)
    if po is None:
        raise NotFound(f"No purchase order {po_id}.", [{"purchase_order": po_id}])
    return po


def by_number(number: str) -> PurchaseOrder:
    po = PurchaseOrder.get_or_none(PurchaseOrder.number == number)
    if po is None:
        raise NotFound(f"No purchase order {number}.", [{"number": number}])
    return po


def lines_of(po: PurchaseOrder) -> list[PurchaseOrderLine]:
    return list(PurchaseOrderLine.select(PurchaseOrderLine, Product).join(Product)
                .where(PurchaseOrderLine.purchase_order == po).order_by(Product.sku))


def po_dict(po: PurchaseOrder) -> dict:
    return {"number": po.number, "supplier": po.supplier.name, "status": po.status,
            "lines": [{"sku": line.product.sku, "qty_ordered": line.qty_ordered, "qty_received": line.qty_received,
                       "unit_cost_cents": line.unit_cost_cents} for line in lines_of(po)]}


def total_cents(lines: list[PurchaseOrderLine]) -> int:
    return sum(line.qty_ordered * line.unit_cost_cents for line in lines)


def on_order_by_product(product_ids: list[int]) -> dict[int, int]:
    """Units ordered and not yet received, per product, on open purchase orders."""
    if not product_ids:
        return {}
    rows = (PurchaseOrderLine.select(PurchaseOrderLine.product,
                                     fn.SUM(PurchaseOrderLine.qty_ordered - PurchaseOrderLine.qty_received))
            .join(PurchaseOrder).where(PurchaseOrderLine.product.in_(product_ids)
                                       & PurchaseOrder.status.in_(OPEN_STATUSES))
            .group_by(PurchaseOrderLine.product).tuples())
    return {product_id: max(int(total or 0), 0) for product_id, total in rows}


def _next_number() -> str:
    # Inside the write transaction: the box's write lock makes the highest id ours to follow.
    last = PurchaseOrder.select(fn.MAX(PurchaseOrder.id)).scalar() or 0
    return f"PO-{last + 1:06d}"


def _checked_qty(qty, field: str, low: int = 1) -> int:
    if not isinstance(qty, int) or isinstance(qty, bool) or not low <= qty <= MAX_MOVE_QTY:
        raise Invalid(f"Quantity must be a whole number from {low} to {MAX_MOVE_QTY}.",
                      [{"field": field, "message": f"must be {low}-{MAX_MOVE_QTY}"}])
    return qty


def _transition(po: PurchaseOrder, allowed: tuple[str, ...], action: str) -> None:
    if po.status not in allowed:
        raise Conflict(f"Purchase order {po.number} is {po.status.replace('_', ' ')}; it cannot be {action}.",
                       [{"number": po.number, "status": po.status, "action": action}])


def create_from_suggestions(suggestions: list[dict], actor: str) -> list[PurchaseOrder]:
    """One draft purchase order per supplier from replenishment suggestions (`replenishment.suggestions`);
    products no supplier carries are left out (the suggestion list says so). Call it in the same write
    transaction that computed the suggestions, so two managers clicking at once cannot order twice."""
    by_supplier: dict[int, list[dict]] = {}
    for s in suggestions:
        if s.get("supplier_id") is not None:
            by_supplier.setdefault(s["supplier_id"], []).append(s)
    made = []
    with write_transaction():
        for supplier_id, wanted in sorted(by_supplier.items()):
            po = PurchaseOrder.create(number=_next_number(), supplier=supplier_by_id(supplier_id), created_by=actor)
            for s in wanted[:MAX_ORDER_LINES]:
                PurchaseOrderLine.create(purchase_order=po, product=s["product_id"], qty_ordered=s["suggested_qty"],
                                         unit_cost_cents=s["unit_cost_cents"])
            audit.record(actor, "purchase_order.create", "purchase_order", po.number, after=po_dict(po))
            made.append(po)
    return made


def update_lines(po_id: int, quantities: dict[int, int], actor: str, add: tuple[str, int] | None = None,
                 note: str | None = None) -> PurchaseOrder:
    """Edits a draft: `quantities` {line id: new quantity} (0 removes the line); `add` (sku, qty) adds a
    product at the supplier's cost for it (or the product's cost when the supplier has none)."""
    with write_transaction():
        po = purchase_order(po_id)
        _transition(po, ("draft",), "edited")
        before = po_dict(po)
        lines = {line.id: line for line in lines_of(po)}
        for line_id, qty in quantities.items():
            line = lines.get(line_id)
            if line is None:
                raise NotFound(f"Purchase order {po.number} has no line {line_id}.", [{"line": line_id}])
            if _checked_qty(qty, f"qty_{line_id}", low=0) == 0:
                line.delete_instance()
            else:
                line.qty_ordered = qty
                line.save()
        if add is not None:
            sku, qty = add
            product = inventory.product_by_sku(sku)
            qty = _checked_qty(qty, "add_qty")
            if any(line.product_id == product.id for line in lines.values()):
                raise Conflict(f"{product.sku} is on this purchase order already: change its quantity instead.",
                               [{"field": "add_sku", "message": "already on the order"}])
            offer = SupplierProduct.get_or_none((SupplierProduct.supplier == po.supplier_id)
                                                & (SupplierProduct.product == product))
            cost = offer.cost_cents if offer else product.cost_cents
            PurchaseOrderLine.create(purchase_order=po, product=product, qty_ordered=qty,
                                     unit_cost_cents=min(cost, MAX_PRICE_CENTS))
        if note is not None:
            po.note = note.strip()[:2000] or None
        po.updated_at = utcnow()
        po.save()
        audit.record(actor, "purchase_order.update", "purchase_order", po.number, before=before, after=po_dict(po))
    return po


def mark_sent(po_id: int, actor: str, now: datetime, sent_to: str | None = None) -> PurchaseOrder:
    """The order went to the supplier (e-mailed to `sent_to`, or printed, phoned…)."""
    with write_transaction():
        po = purchase_order(po_id)
        _transition(po, ("draft",), "sent")
        if not lines_of(po):
            raise Conflict(f"Purchase order {po.number} has no lines to send.", [{"number": po.number}])
        po.status, po.sent_at, po.sent_to, po.updated_at = "sent", now, sent_to, now
        po.save()
        audit.record(actor, "purchase_order.send", "purchase_order", po.number,
                     before={"status": "draft"}, after={"status": "sent", "sent_to": sent_to})
    return po


def receive(po_id: int, quantities: dict[int, int], actor: str, now: datetime, location: str | None = None) -> PurchaseOrder:
    """Books what arrived: {line id: units}, each at most what the line still expects. Every line goes
    through inventory.receive (the one receiving path), all lines in one transaction or none."""
    wanted = {line_id: qty for line_id, qty in quantities.items() if qty}
    if not wanted:
        raise Invalid("Enter the quantity that arrived on at least one line.", [{"field": "qty", "message": "nothing received"}])
    with write_transaction():
        po = purchase_order(po_id)
        _transition(po, RECEIVABLE, "received")
        lines = {line.id: line for line in lines_of(po)}
        for line_id, qty in sorted(wanted.items()):
            line = lines.get(line_id)
            if line is None:
                raise NotFound(f"Purchase order {po.number} has no line {line_id}.", [{"line": line_id}])
            _checked_qty(qty, f"receive_{line_id}")
            if qty > line.outstanding:
                raise Invalid(f"{line.product.sku}: {qty} is more than the {line.outstanding} still expected.",
                              [{"field": f"receive_{line_id}", "message": f"at most {line.outstanding}"}])
            inventory.receive(line.product.sku, qty, actor, location, reference=po.number)
            line.qty_received += qty
            line.save()
        complete = all(line.outstanding == 0 for line in lines.values())
        before = po.status
        po.status = "received" if complete else "partly_received"
        po.received_at = now if complete else None
        po.updated_at = now
        po.save()
        audit.record(actor, "purchase_order.receive", "purchase_order", po.number, before={"status": before},
                     after={"status": po.status, "received": {lines[i].product.sku: q for i, q in wanted.items()}})
    return po


def cancel(po_id: int, actor: str, now: datetime) -> PurchaseOrder:
    with write_transaction():
        po = purchase_order(po_id)
        _transition(po, OPEN_STATUSES, "cancelled")
        before = po.status
        po.status, po.cancelled_at, po.updated_at = "cancelled", now, now
        po.save()
        audit.record(actor, "purchase_order.cancel", "purchase_order", po.number,
                     before={"status": before}, after={"status": "cancelled"})
    return po


def recent(status: str | None = None, limit: int = 200) -> list[PurchaseOrder]:
    query = (PurchaseOrder.select(PurchaseOrder, Supplier).join(Supplier)
             .order_by(PurchaseOrder.id.desc()).limit(limit))
    if status in STATUSES:
        query = query.where(PurchaseOrder.status == status)
    return list(query)
