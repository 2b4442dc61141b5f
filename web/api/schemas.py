"""Request bodies of the JSON API, validated strictly (a "2" is not a quantity).

The same models feed /api/v1/openapi.json."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from appliance.models import CHANNELS, PAYMENT_METHODS

Sku = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProductIn(Body):
    sku: str = Sku
    name: str = Field(min_length=1, max_length=200)
    price_cents: StrictInt = Field(ge=0)
    cost_cents: StrictInt = Field(0, ge=0)
    barcode: str | None = Field(None, min_length=1, max_length=64)
    reorder_point: StrictInt = Field(0, ge=0)
    reorder_qty: StrictInt = Field(0, ge=0)
    active: StrictBool = True


class ProductPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    price_cents: StrictInt | None = Field(None, ge=0)
    cost_cents: StrictInt | None = Field(None, ge=0)
    barcode: str | None = Field(None, max_length=64)
    reorder_point: StrictInt | None = Field(None, ge=0)
    reorder_qty: StrictInt | None = Field(None, ge=0)
    active: StrictBool | None = None


class ReceiveIn(Body):
    sku: str = Field(min_length=1, max_length=64)
    qty: StrictInt = Field(gt=0, le=1_000_000)
    location: str | None = Field(None, max_length=32)
    reference: str | None = Field(None, max_length=200)


class AdjustIn(Body):
    sku: str = Field(min_length=1, max_length=64)
    qty: StrictInt = Field(description="Change of on-hand quantity: negative takes stock away.", ge=-1_000_000, le=1_000_000)
    reason: str = Field(min_length=1, max_length=200)
    location: str | None = Field(None, max_length=32)


class CustomerIn(Body):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=1000)


class CustomerPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=1000)


class CustomerRef(Body):
    id: StrictInt | None = None
    name: str | None = Field(None, min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=1000)


class OrderLineIn(Body):
    sku: str = Field(min_length=1, max_length=64)
    qty: StrictInt = Field(gt=0, le=100_000)


class PaymentIn(Body):
    method: Literal[PAYMENT_METHODS]  # type: ignore[valid-type]
    amount_cents: StrictInt = Field(gt=0, le=100_000_000)
    tendered_cents: StrictInt | None = Field(None, ge=0, le=100_000_000,
                                             description="Cash handed over (change = tendered - amount); other methods take exactly their amount.")


class OrderIn(Body):
    channel: Literal[CHANNELS] = "api"  # type: ignore[valid-type]
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    customer: StrictInt | CustomerRef | None = None
    note: str | None = Field(None, max_length=2000)
    payments: list[PaymentIn] | None = Field(
        None, min_length=1, max_length=20,
        description="Paid with the order: the parts add up to its total; a paid counter (store) sale is handed over at once.")


class PayIn(Body):
    payments: list[PaymentIn] = Field(min_length=1, max_length=20, description="The parts add up to what is due.")


class ReturnLineIn(Body):
    sku: str = Field(min_length=1, max_length=64)
    qty: StrictInt = Field(gt=0, le=100_000)


class ReturnIn(Body):
    lines: list[ReturnLineIn] | None = Field(
        None, min_length=1, max_length=500, description="What comes back; without it, everything still out.")
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


class LocationIn(Body):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=100)
    pick_order: StrictInt = Field(100, ge=0, le=10_000)


class StocktakeIn(Body):
    location: str = Field(min_length=1, max_length=32)


class CountIn(Body):
    sku: str = Field(min_length=1, max_length=64)
    counted: StrictInt = Field(ge=0, le=10_000_000)


class ShiftCloseIn(Body):
    counted_cash_cents: StrictInt = Field(ge=0, le=100_000_000, description="Cash counted in the drawer.")
    float_cents: StrictInt = Field(0, ge=0, le=100_000_000, description="Cash the drawer started the shift with.")
    note: str | None = Field(None, max_length=2000)
