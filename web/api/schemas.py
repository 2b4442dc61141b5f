"""Request bodies of the JSON API, validated strictly (a "2" is not a quantity).

The same models feed /api/v1/openapi.json."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from appliance.limits import (MAX_ID, MAX_LINE_QTY, MAX_MOVE_QTY, MAX_ON_HAND, MAX_ORDER_LINES,
                              MAX_PRICE_CENTS)
from appliance.models import CHANNELS, PAYMENT_METHODS

# One URL path segment: no "/" (a SKU is part of /products/<sku>); appliance.inventory.SKU_PATTERN.
Sku = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
Money = dict(ge=0, le=MAX_PRICE_CENTS)
# Text that must say something: surrounding spaces are stripped, so it needs one character that is not
# a space (and, like all text, no NUL: web.api.raw_json).
NONBLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"
EMAIL = r"^([^\x00]*@[^\x00]*|\s*)$"  # appliance.customers checks no more than an "@"; blank: none
Id = dict(ge=1, le=MAX_ID)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProductIn(Body):
    sku: str = Sku
    name: str = Field(min_length=1, max_length=200, pattern=NONBLANK)
    price_cents: StrictInt = Field(**Money)
    cost_cents: StrictInt = Field(0, **Money)
    barcode: str | None = Field(None, min_length=1, max_length=64, pattern=NONBLANK)
    reorder_point: StrictInt = Field(0, ge=0, le=MAX_ON_HAND)
    reorder_qty: StrictInt = Field(0, ge=0, le=MAX_ON_HAND)
    active: StrictBool = True


class ProductPatch(Body):
    """Only the fields sent change. null is accepted for barcode only (removes it): the others always
    have a value, so an explicit null is a 422 naming the field (the defaults below are never stored)."""
    name: str = Field(None, min_length=1, max_length=200, pattern=NONBLANK)  # type: ignore[assignment]
    price_cents: StrictInt = Field(None, **Money)  # type: ignore[assignment]
    cost_cents: StrictInt = Field(None, **Money)  # type: ignore[assignment]
    barcode: str | None = Field(None, max_length=64)
    reorder_point: StrictInt = Field(None, ge=0, le=MAX_ON_HAND)  # type: ignore[assignment]
    reorder_qty: StrictInt = Field(None, ge=0, le=MAX_ON_HAND)  # type: ignore[assignment]
    active: StrictBool = Field(None)  # type: ignore[assignment]


class ReceiveIn(Body):
    sku: str = Field(min_length=1, max_length=64, pattern=NONBLANK)
    qty: StrictInt = Field(gt=0, le=MAX_MOVE_QTY)
    location: str | None = Field(None, max_length=32)
    reference: str | None = Field(None, max_length=200)


class AdjustIn(Body):
    sku: str = Field(min_length=1, max_length=64, pattern=NONBLANK)
    qty: Annotated[StrictInt, Field(ge=-MAX_MOVE_QTY, le=-1)] | Annotated[StrictInt, Field(ge=1, le=MAX_MOVE_QTY)] = Field(
        description="Change of on-hand quantity, not 0: negative takes stock away.")
    reason: str = Field(min_length=1, max_length=200, pattern=NONBLANK)
    location: str | None = Field(None, max_length=32)


class CustomerIn(Body):
    name: str = Field(min_length=1, max_length=200, pattern=NONBLANK)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200, pattern=EMAIL)
    address: str | None = Field(None, max_length=1000)


class CustomerPatch(Body):
    name: str = Field(None, min_length=1, max_length=200, pattern=NONBLANK)  # type: ignore[assignment]  # null: 422
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200, pattern=EMAIL)
    address: str | None = Field(None, max_length=1000)


class CustomerRef(Body):
    id: StrictInt | None = Field(None, **Id)
    name: str | None = Field(None, min_length=1, max_length=200, pattern=NONBLANK)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200, pattern=EMAIL)
    address: str | None = Field(None, max_length=1000)


class OrderLineIn(Body):
    sku: str = Field(min_length=1, max_length=64, pattern=NONBLANK)
    qty: StrictInt = Field(gt=0, le=MAX_LINE_QTY)


class PaymentIn(Body):
    method: Literal[PAYMENT_METHODS]  # type: ignore[valid-type]
    amount_cents: StrictInt = Field(gt=0, le=100_000_000)
    tendered_cents: StrictInt | None = Field(None, ge=0, le=100_000_000,
                                             description="Cash handed over (change = tendered - amount); other methods take exactly their amount.")


class OrderIn(Body):
    channel: Literal[CHANNELS] = "api"  # type: ignore[valid-type]
    lines: list[OrderLineIn] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    customer: Annotated[StrictInt, Field(**Id)] | CustomerRef | None = None
    note: str | None = Field(None, max_length=2000)
    payments: list[PaymentIn] | None = Field(
        None, min_length=1, max_length=20,
        description="Paid with the order: the parts add up to its total; a paid counter (store) sale is handed over at once.")


class PayIn(Body):
    payments: list[PaymentIn] = Field(min_length=1, max_length=20, description="The parts add up to what is due.")


class ReturnLineIn(Body):
    sku: str = Field(min_length=1, max_length=64, pattern=NONBLANK)
    qty: StrictInt = Field(gt=0, le=MAX_LINE_QTY)


class ReturnIn(Body):
    lines: list[ReturnLineIn] | None = Field(
        None, min_length=1, max_length=MAX_ORDER_LINES, description="What comes back; without it, everything still out.")
    refund_cents: StrictInt = Field(0, ge=0, le=100_000_000, description="At most what was paid and not yet refunded.")
    refund_method: Literal[PAYMENT_METHODS] | None = None  # type: ignore[valid-type]
    reason: str | None = Field(None, max_length=500)
    note: str | None = Field(None, max_length=2000)


class ShipIn(Body):
    carrier: str | None = Field(None, max_length=64)
    tracking_number: str | None = Field(None, max_length=128)
    note: str | None = Field(None, max_length=2000)


class NoteIn(Body):
    note: str | None = Field(None, max_length=2000)


class CancelIn(NoteIn):
    reason: str | None = Field(None, max_length=1000, description=(
        "Why the order is cancelled or rejected: kept in its timeline and the audit trail (the web page "
        "requires one; without it, `note` is kept as before)."))


class LocationIn(Body):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=100, pattern=NONBLANK)
    pick_order: StrictInt = Field(100, ge=0, le=10_000)


class StocktakeIn(Body):
    location: str = Field(min_length=1, max_length=32, pattern=NONBLANK)


class CountIn(Body):
    sku: str = Field(min_length=1, max_length=64, pattern=NONBLANK)
    counted: StrictInt = Field(ge=0, le=MAX_ON_HAND)


class ShiftCloseIn(Body):
    counted_cash_cents: StrictInt = Field(ge=0, le=100_000_000, description="Cash counted in the drawer.")
    float_cents: StrictInt = Field(0, ge=0, le=100_000_000, description="Cash the drawer started the shift with.")
    note: str | None = Field(None, max_length=2000)
