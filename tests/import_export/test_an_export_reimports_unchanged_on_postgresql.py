"""The round trip on PostgreSQL, where explicit order ids must also move the id sequence on, or the
next order the box creates would collide with an imported one."""
from __future__ import annotations

import pytest

from appliance import import_export
from appliance.inventory import create_location

from .shop import ACTOR, assert_consistent, business_data, fresh_box, order, stock_a_shop

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(postgres_server) -> str:
    return postgres_server.create_database()


def test_an_export_imported_into_a_fresh_postgresql_box_gives_the_same_data(settings, db, tmp_path, postgres_server):
    stock_a_shop(settings)
    before = business_data()
    exported = {kind: import_export.export(kind, "xlsx") for kind in ("products", "stock", "orders")}

    with fresh_box(tmp_path, settings, postgres_server.create_database()) as fresh:
        create_location("back", "Back room", 20, ACTOR)
        for kind, data in exported.items():
            assert import_export.apply(kind, data, f"{kind}.xlsx", actor=ACTOR, settings=fresh).ok
        assert business_data() == before
        new_number = order(fresh, [("MUG", 1)])
        assert new_number not in {o["number"] for o in before["orders"]}
        assert_consistent()
