"""Pins the number of SQL statements of the hot path: a 3-line order with an Idempotency-Key."""
from playhouse.test_utils import count_queries

from appliance.db import is_postgres

from .conftest import order_body

# token lookup, idempotency lookup, products, stock levels, order insert + number, one insert
# for the lines, 3 conditional stock updates, one ledger insert, timeline event, idempotency
# insert, audit head + event + head update; PostgreSQL: + the write lock taken at BEGIN
EXPECTED_SQLITE = 16


def test_a_three_line_order_takes_a_fixed_number_of_queries(api, shop):
    api.get("staff", "/stock/TEA")  # token last_used touched once, outside the measured request
    with count_queries() as counter:
        response = api.post("staff", "/orders", json=order_body(("TEA", 1), ("MUG", 1), ("HONEY", 1)),
                            headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 201
    assert counter.count == EXPECTED_SQLITE + (1 if is_postgres() else 0)
