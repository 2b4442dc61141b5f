"""Tables of the order & inventory service. Money is integer cents, quantities integers, times UTC."""
from __future__ import annotations

from datetime import datetime

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    Check,
    DateTimeField,
    DoubleField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from . import clock
from .db import database


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL (read from the box's clock)."""
    return clock.utcnow()


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Location(BaseModel):
    code = CharField(max_length=32, unique=True)
    name = CharField(max_length=100)
    # Reservations take stock from the lowest pick_order first (shop floor before the warehouse).
    pick_order = IntegerField(default=100)
    active = BooleanField(default=True)


class Product(BaseModel):
    sku = CharField(max_length=64, unique=True)
    barcode = CharField(max_length=64, unique=True, null=True)
    name = CharField(max_length=200)
    price_cents = IntegerField(constraints=[Check("price_cents >= 0")])
    cost_cents = IntegerField(default=0, constraints=[Check("cost_cents >= 0")])
    reorder_point = IntegerField(default=0, constraints=[Check("reorder_point >= 0")])
    reorder_qty = IntegerField(default=0, constraints=[Check("reorder_qty >= 0")])
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    # Quantity usually ordered per line (recent history), refreshed by the scheduler for the
    # approval rule: averaging the history on every order would grow slower with every order.
    usual_qty = FloatField(null=True)


class StockLevel(BaseModel):
    product = ForeignKeyField(Product, backref="stock_levels", on_delete="RESTRICT")
    location = ForeignKeyField(Location, backref="stock_levels", on_delete="RESTRICT")
    on_hand = IntegerField(default=0)
    reserved = IntegerField(default=0)

    class Meta:
        indexes = ((("product", "location"), True),)
        # The engine itself refuses an oversell, whatever the code above it does.
        constraints = [Check("reserved >= 0"), Check("on_hand >= reserved")]


class Customer(BaseModel):
    name = CharField(max_length=200)
    phone = CharField(max_length=40, null=True, index=True)
    email = CharField(max_length=200, null=True, index=True)
    address = TextField(null=True)
    created_at = DateTimeField(default=utcnow)


ORDER_STATUSES = ("pending", "confirmed", "shipped", "delivered", "cancelled", "returned")
CHANNELS = ("store", "phone", "web", "api")


class Order(BaseModel):
    number = CharField(max_length=32, unique=True)
    channel = CharField(max_length=16, index=True)
    status = CharField(max_length=16, index=True)
    customer = ForeignKeyField(Customer, backref="orders", null=True, on_delete="RESTRICT")
    note = TextField(null=True)
    total_cents = BigIntegerField()  # up to appliance.limits.MAX_ORDER_TOTAL_CENTS (schema v6)
    # JSON list of why the order waits for approval (empty when it did not).
    pending_reasons = TextField(default="[]")
    carrier = CharField(max_length=64, null=True)
    tracking_number = CharField(max_length=128, null=True)
    created_by = CharField(max_length=100)
    # The pair's epoch the box held when it took the order (failover/; schema v9): which primary
    # acknowledged it. Null on a single box.
    epoch = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    confirmed_at = DateTimeField(null=True, index=True)
    shipped_at = DateTimeField(null=True)
    delivered_at = DateTimeField(null=True)
    cancelled_at = DateTimeField(null=True)
    returned_at = DateTimeField(null=True)

    class Meta:
        table_name = "orders"  # ORDER is a keyword


class OrderLine(BaseModel):
    order = ForeignKeyField(Order, backref="lines", on_delete="CASCADE")
    product = ForeignKeyField(Product, backref="order_lines", on_delete="RESTRICT")
    qty = IntegerField(constraints=[Check("qty > 0")])
    unit_price_cents = IntegerField()
    line_total_cents = BigIntegerField()  # schema v6


class OrderEvent(BaseModel):
    """The order's timeline: every status change with who and when."""
    order = ForeignKeyField(Order, backref="events", on_delete="CASCADE")
    from_status = CharField(max_length=16, null=True)
    to_status = CharField(max_length=16)
    actor = CharField(max_length=100)
    note = TextField(null=True)
    at = DateTimeField(default=utcnow)


class IdempotencyKey(BaseModel):
    key = CharField(max_length=255, unique=True)
    request_hash = CharField(max_length=64)
    order = ForeignKeyField(Order, on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow, index=True)


PAYMENT_METHODS = ("cash", "card", "other")
PAYMENT_KINDS = ("payment", "refund")


class Payment(BaseModel):
    """Money taken for an order (kind "payment") or given back (kind "refund"); see appliance.payments.

    amount_cents is always above zero; a cash payment keeps what was tendered and the change given.
    A payment made with an Idempotency-Key keeps it (split payments: each part), so a repeated request
    is answered with the payments it made the first time.
    """
    order = ForeignKeyField(Order, backref="payments", on_delete="RESTRICT")
    kind = CharField(max_length=8, default="payment")
    method = CharField(max_length=16)
    amount_cents = IntegerField(constraints=[Check("amount_cents > 0")])
    tendered_cents = IntegerField(null=True)
    change_cents = IntegerField(default=0, constraints=[Check("change_cents >= 0")])
    reason = TextField(null=True)
    idempotency_key = CharField(max_length=255, null=True, index=True)
    request_hash = CharField(max_length=64, null=True)
    actor = CharField(max_length=100)
    at = DateTimeField(default=utcnow, index=True)


class ShiftClose(BaseModel):
    """The till's cash counted at the end of a shift against what the payments say it should hold.

    A shift runs from the previous close (or the first payment) to `closed_at`; expected cash is the
    opening float plus cash taken less cash refunded in it; the difference (counted - expected) is kept.
    """
    opened_at = DateTimeField(null=True)   # the previous close; None: the first shift
    closed_at = DateTimeField(default=utcnow, index=True)
    closed_by = CharField(max_length=100)
    float_cents = IntegerField(default=0)
    cash_cents = IntegerField(default=0)       # cash taken less cash refunded in the shift
    card_cents = IntegerField(default=0)
    other_cents = IntegerField(default=0)
    expected_cash_cents = IntegerField()
    counted_cash_cents = IntegerField()
    difference_cents = IntegerField()
    note = TextField(null=True)


LEDGER_KINDS = ("receive", "reserve", "release", "ship", "return", "adjust", "stocktake")


class StockMovement(BaseModel):
    """Append-only stock ledger: StockLevel always equals the sums of these deltas."""
    product = ForeignKeyField(Product, backref="movements", on_delete="RESTRICT")
    location = ForeignKeyField(Location, backref="movements", on_delete="RESTRICT")
    kind = CharField(max_length=16)
    on_hand_delta = IntegerField(default=0)
    reserved_delta = IntegerField(default=0)
    order_line = ForeignKeyField(OrderLine, backref="movements", null=True, on_delete="RESTRICT")
    reference = CharField(max_length=200, null=True)
    actor = CharField(max_length=100)
    created_at = DateTimeField(default=utcnow, index=True)


class StocktakeSession(BaseModel):
    location = ForeignKeyField(Location, backref="stocktakes", on_delete="RESTRICT")
    status = CharField(max_length=16, default="open")  # open | posted | cancelled
    created_by = CharField(max_length=100)
    created_at = DateTimeField(default=utcnow)
    posted_by = CharField(max_length=100, null=True)
    posted_at = DateTimeField(null=True)
    reason = TextField(null=True)  # why the variances were posted (schema v10)


class StocktakeCount(BaseModel):
    session = ForeignKeyField(StocktakeSession, backref="counts", on_delete="CASCADE")
    product = ForeignKeyField(Product, on_delete="RESTRICT")
    counted = IntegerField(constraints=[Check("counted >= 0")])
    counted_by = CharField(max_length=100)
    counted_at = DateTimeField(default=utcnow)
    expected = IntegerField(null=True)  # on hand when posted, kept so a posted count still shows it (v10)

    class Meta:
        indexes = ((("session", "product"), True),)


class AuditEvent(BaseModel):
    """Hash-chained: hash = sha256(prev_hash + canonical event); see appliance.audit."""
    at = DateTimeField(default=utcnow)
    actor = CharField(max_length=100)
    action = CharField(max_length=64)
    entity = CharField(max_length=32)
    entity_id = CharField(max_length=64, null=True)
    before = TextField(null=True)
    after = TextField(null=True)
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64)


class AuditHead(BaseModel):
    """One row: the chain's last event, locked by every mutation so the chain stays linear."""
    last_id = IntegerField(default=0)
    last_hash = CharField(max_length=64)


class User(BaseModel):
    username = CharField(max_length=64, unique=True)
    password_hash = CharField(max_length=255)
    role = CharField(max_length=16)
    active = BooleanField(default=True)
    failed_logins = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    password_changed_at = DateTimeField(default=utcnow)
    must_change_password = BooleanField(default=False)  # an admin set the password (schema v10)


class ApiToken(BaseModel):
    name = CharField(max_length=64, unique=True)
    # sha256 of the token: tokens are 256-bit random, so a fast hash is enough and keeps
    # per-request checks cheap (argon2 is for low-entropy passwords).
    token_hash = CharField(max_length=64, unique=True)
    prefix = CharField(max_length=12)
    role = CharField(max_length=16)
    created_by = CharField(max_length=100)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    expires_at = DateTimeField(null=True)  # None: until revoked (schema v8)


class SignInThrottle(BaseModel):
    """Failed sign-ins per user name at one address (kind "pair", key "name|address") and per client
    address (kind "address"); rows of kind "user" (before schema v10) are no longer read.

    An attempt is claimed with one conditional UPDATE (appliance.accounts) that counts it and proceeds
    only while `next_allowed_at` has passed; after the free failures each one doubles the wait.
    Times are Unix seconds of the box's clock, so the wait is plain arithmetic on both engines.
    """
    kind = CharField(max_length=8)
    key = CharField(max_length=255)
    failures = IntegerField(default=0)
    wait_seconds = IntegerField(default=0)
    next_allowed_at = DoubleField(default=0)
    last_at = DoubleField(default=0)

    class Meta:
        indexes = ((("kind", "key"), True),)


class WebSession(BaseModel):
    """A web sign-in, looked up on every page: signing out deletes it, so a replayed cookie is dead."""
    token_hash = CharField(max_length=64, unique=True)  # sha256 of the id the session cookie carries
    user = ForeignKeyField(User, backref="web_sessions", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow, index=True)


class KeyValue(BaseModel):
    """Small box-wide facts: schema version, scheduler heartbeat, etc."""
    key = CharField(max_length=64, primary_key=True)
    value = TextField()
    updated_at = DateTimeField(default=utcnow)

    @classmethod
    def put(cls, key: str, value: str) -> None:
        """Sets a value, creating or replacing it (INSERT … ON CONFLICT: REPLACE is SQLite only)."""
        (cls.insert(key=key, value=value, updated_at=utcnow())
         .on_conflict(conflict_target=[cls.key], preserve=[cls.value, cls.updated_at]).execute())


class OperationRun(BaseModel):
    """One run of a registered operation (appliance/operations.py): who, what, when, how it ended."""
    operation = CharField(max_length=64, index=True)    # dotted name: backup.run, monitors.ack, ...
    actor = CharField(max_length=100)                   # user name, `cli:<unix user>`, `scheduler`
    actor_role = CharField(max_length=16)
    source = CharField(max_length=16)                   # cli | web | schedule | runbook
    params_json = TextField(default="{}")               # secrets masked
    started_at = DateTimeField(default=utcnow, index=True)   # queued runs: when they were asked for
    finished_at = DateTimeField(null=True)
    duration_seconds = FloatField(null=True)
    outcome = CharField(max_length=16, default="running", index=True)
    summary = TextField(null=True)                      # one line from the result, or the error
    bytes = BigIntegerField(default=0)                  # data moved (backups); 0 when it does not apply
    pid = IntegerField(null=True)                       # the process running it, to tell a killed run
    pid_started = FloatField(null=True)                 # that process's start time (pids are reused)


CORE_MODELS = [
    KeyValue, Location, Product, StockLevel, Customer, Order, OrderLine, OrderEvent, IdempotencyKey,
    StockMovement, StocktakeSession, StocktakeCount, AuditEvent, AuditHead, User, ApiToken, OperationRun,
    SignInThrottle, WebSession, Payment, ShiftClose,
]

ROLES = ("staff", "manager", "admin")
