"""An Idempotency-Key is the client's own (per API token or signed-in user), as payment APIs do:
another client sending the same key gets its own order, never the first client's."""
from appliance import accounts
from appliance.models import IdempotencyKey, KeyValue, Order
from appliance.schema import migrate

from .conftest import order_body


def test_another_tokens_key_makes_its_own_order(api, shop):
    other = accounts.create_token("till-2", "staff", "test")[1]
    headers = {"Idempotency-Key": "shared-0001"}
    first = api.post("staff", "/orders", json=order_body(("TEA", 1)), headers=headers)
    theirs = api.client.post("/api/v1/orders", json=order_body(("TEA", 1)),
                             headers=headers | {"Authorization": f"Bearer {other}"})
    assert first.status_code == theirs.status_code == 201
    assert theirs.get_json()["number"] != first.get_json()["number"]
    assert "Idempotent-Replayed" not in theirs.headers
    again = api.post("staff", "/orders", json=order_body(("TEA", 1)), headers=headers)
    assert again.get_json()["number"] == first.get_json()["number"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Order.select().count() == 2


def test_another_tokens_key_with_another_body_is_no_conflict(api, shop):
    other = accounts.create_token("till-2", "staff", "test")[1]
    headers = {"Idempotency-Key": "shared-0002"}
    api.post("staff", "/orders", json=order_body(("TEA", 1)), headers=headers)
    theirs = api.client.post("/api/v1/orders", json=order_body(("MUG", 1)),
                             headers=headers | {"Authorization": f"Bearer {other}"})
    assert theirs.status_code == 201


def test_a_key_stored_before_the_upgrade_still_replays_for_its_client(api, shop):
    headers = {"Idempotency-Key": "before-upgrade"}
    first = api.post("staff", "/orders", json=order_body(("TEA", 1)), headers=headers)
    IdempotencyKey.update(key="before-upgrade").execute()  # as schema v6 stored it: unscoped
    KeyValue.put("schema_version", "6")
    migrate()
    again = api.post("staff", "/orders", json=order_body(("TEA", 1)), headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["number"] == first.get_json()["number"]
    assert Order.select().count() == 1
