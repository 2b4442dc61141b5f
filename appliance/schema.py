"""Schema versions. Each package (core, backup, monitors, runbooks) owns its tables and passes them in.

Migrations are an ordered list of (version, function); `migrate` applies the ones not yet applied,
each in its own transaction, and records the version in KeyValue("schema_version").
"""
from __future__ import annotations

from typing import Callable, Iterable

from peewee import BooleanField, DateTimeField, FloatField, IntegerField, TextField
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_columns

from .db import database, is_postgres
from .models import CORE_MODELS, AuditHead, KeyValue, Location, OperationRun, Payment, ShiftClose, SignInThrottle, WebSession

GENESIS_HASH = "0" * 64
SCHEMA_KEY = "schema_version"


def _v1_core_tables() -> None:
    database.create_tables(CORE_MODELS, safe=True)
    if not AuditHead.select().exists():
        AuditHead.create(id=1, last_id=0, last_hash=GENESIS_HASH)
    if not Location.select().exists():
        # The shop floor exists from the start: receiving without a location puts stock there.
        Location.create(code="floor", name="Shop floor", pick_order=10)


def _v2_product_usual_qty() -> None:
    # Tables made by v1 in this release already have the column (create_tables uses the models).
    if "usual_qty" not in {c.name for c in database.get_columns("product")}:
        migrator = SchemaMigrator.from_database(database.obj)
        migrate_columns(migrator.add_column("product", "usual_qty", FloatField(null=True)))


def _v3_operation_runs() -> None:
    database.create_tables([OperationRun], safe=True)


def _v4_sign_in_throttles_and_web_sessions() -> None:
    database.create_tables([SignInThrottle, WebSession], safe=True)


def _v5_payments() -> None:
    database.create_tables([Payment, ShiftClose], safe=True)


def _v6_money_sums_in_64_bits() -> None:
    """An order's total and a line's total reach 10^13 cents (appliance.limits): BIGINT on PostgreSQL
    (SQLite's INTEGER is 64-bit already)."""
    if is_postgres():
        database.execute_sql("ALTER TABLE orders ALTER COLUMN total_cents TYPE BIGINT")
        database.execute_sql("ALTER TABLE order_line ALTER COLUMN line_total_cents TYPE BIGINT")


def _v7_idempotency_keys_per_client() -> None:
    """Idempotency-Keys are per client (appliance.orders.client_scoped_key): a key stored before is
    rewritten with the client that used it (its order's creator, its payment's actor), so a retry
    across the upgrade still finds its first answer."""
    from .idempotency import client_scoped_key
    from .models import IdempotencyKey, Order
    rows = (IdempotencyKey.select(IdempotencyKey.id, IdempotencyKey.key, Order.created_by)
            .join(Order, on=(IdempotencyKey.order == Order.id)).tuples())
    for row_id, key, client in list(rows):
        if not key.startswith("web:"):
            IdempotencyKey.update(key=client_scoped_key(client, key)).where(IdempotencyKey.id == row_id).execute()
    for payment_id, key, client in list(Payment.select(Payment.id, Payment.idempotency_key, Payment.actor)
                                        .where(Payment.idempotency_key.is_null(False)).tuples()):
        if not key.startswith("web:"):
            Payment.update(idempotency_key=client_scoped_key(client, key)).where(Payment.id == payment_id).execute()


def _v8_api_token_expiry() -> None:
    # Tables made by v1 in this release already have the column (create_tables uses the models).
    if "expires_at" not in {c.name for c in database.get_columns("api_token")}:
        migrator = SchemaMigrator.from_database(database.obj)
        migrate_columns(migrator.add_column("api_token", "expires_at", DateTimeField(null=True)))


def _v9_order_epochs() -> None:
    """Each order records the pair's epoch its box held when it took it (failover)."""
    if "epoch" not in {c.name for c in database.get_columns("orders")}:
        migrator = SchemaMigrator.from_database(database.obj)
        migrate_columns(migrator.add_column("orders", "epoch", IntegerField(null=True)))


def _v10_back_office(shop_country: str = "") -> None:
    """A posted stocktake keeps each line's expected quantity and its reason; an admin's password reset
    makes its user choose a new one; customers' phone numbers become E.164, read with the shop's country
    as the default region (those that cannot be read stay as they were: logged and listed on the customers page)."""
    from .phones import normalise_stored_phones
    columns = {table: {c.name for c in database.get_columns(table)} for table in ("stocktake_count", "stocktake_session", "user")}
    migrator = SchemaMigrator.from_database(database.obj)
    wanted = [("stocktake_count", "expected", IntegerField(null=True)),
              ("stocktake_session", "reason", TextField(null=True)),
              ("user", "must_change_password", BooleanField(default=False))]
    steps = [migrator.add_column(table, name, field) for table, name, field in wanted if name not in columns[table]]
    if steps:
        migrate_columns(*steps)
    normalise_stored_phones(shop_country)


def _v11_suppliers_and_purchase_orders() -> None:
    from .purchasing_tables import MODELS as purchasing_models
    database.create_tables(purchasing_models, safe=True)



def _v13_counter_favourites() -> None:
    from .counter_tables import MODELS as counter_models
    database.create_tables(counter_models, safe=True)


# Steps that read the shop's country ([shop] country): migrate() hands it to them.
_STEPS_TAKING_THE_SHOPS_COUNTRY = {_v10_back_office}

MIGRATIONS: list[tuple[int, Callable[..., None]]] = [
    (1, _v1_core_tables),
    (2, _v2_product_usual_qty),
    (3, _v3_operation_runs),
    (4, _v4_sign_in_throttles_and_web_sessions),
    (5, _v5_payments),
    (6, _v6_money_sums_in_64_bits),
    (7, _v7_idempotency_keys_per_client),
    (8, _v8_api_token_expiry),
    (9, _v9_order_epochs),
    (10, _v10_back_office),
    (11, _v11_suppliers_and_purchase_orders),
    (13, _v13_counter_favourites),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version() -> int:
    if not KeyValue.table_exists():
        return 0
    row = KeyValue.get_or_none(KeyValue.key == SCHEMA_KEY)
    return int(row.value) if row else 0


def migrate(extra_models: Iterable = (), extra_steps: Iterable[Callable[[], None]] = (), *,
            shop_country: str = "") -> int:
    """Brings the schema up to date; `extra_models` are other packages' tables (created if missing),
    `extra_steps` their own data migrations (each idempotent, run in its own transaction);
    `shop_country` is [shop] country, the default region of the phone numbers v10 rewrites."""
    version = current_version()
    for target, step in MIGRATIONS:
        if target <= version:
            continue
        with database.atomic():
            step(shop_country) if step in _STEPS_TAKING_THE_SHOPS_COUNTRY else step()
            KeyValue.put(SCHEMA_KEY, str(target))
        version = target
    extra = list(extra_models)
    if extra:
        database.create_tables(extra, safe=True)
    for step in extra_steps:
        with database.atomic():
            step()
    return version
