"""The counter's touch grid: products a manager pinned, then the counter's best sellers of the last 30
days; and "often bought with" the lines on screen, only once a product on screen was sold on 10 orders
and a suggestion shared 3 of them. Each answer takes a fixed number of statements."""
from __future__ import annotations

from datetime import timedelta

from playhouse.test_utils import count_queries

from appliance import counter_picks, orders
from appliance.models import AuditEvent, Order

from .web_helpers import csrf_of


def sell(settings, *lines, channel="store", days_ago=0, now=None):
    """A counter sale (or of another channel), optionally moved `days_ago` before `now`."""
    order, _ = orders.create_order(settings, channel=channel, actor="test",
                                   lines=[orders.LineRequest(sku, qty) for sku, qty in lines])
    if days_ago:
        moved = now.replace(tzinfo=None) - timedelta(days=days_ago)
        Order.update(created_at=moved).where(Order.id == order.id).execute()
    return order


def pin(client, sku, pinned=True):
    return client.post("/orders/new/favourites/pin", json={"sku": sku, "pinned": pinned},
                       headers={"X-CSRF-Token": csrf_of(client)})


def test_the_grid_shows_pinned_products_then_the_counters_best_sellers(settings, staff, manager, make_product,
                                                                        calendar_now):
    for sku in ("TEA", "MILK", "SUGAR", "SAFE"):
        make_product(sku, 200, stock=500)
    sell(settings, ("MILK", 5))
    sell(settings, ("TEA", 2))
    sell(settings, ("SUGAR", 100), days_ago=31, now=calendar_now)     # too long ago
    sell(settings, ("SUGAR", 50), channel="phone")                     # not sold at the counter
    assert [p["sku"] for p in staff.get("/orders/new/favourites").json["favourites"]] == ["MILK", "TEA"]

    assert pin(staff, "SAFE").status_code == 403                       # pinning is a manager's
    assert pin(manager, "SAFE").json["favourites"][0] == {
        "sku": "SAFE", "name": "Product SAFE", "price_cents": 200, "available": 500, "pinned": True}
    assert AuditEvent.get(AuditEvent.action == "counter.pin").actor == "maria"
    grid = staff.get("/orders/new/favourites").json
    assert [p["sku"] for p in grid["favourites"]] == ["SAFE", "MILK", "TEA"] and grid["can_pin"] is False
    with count_queries() as counter:
        counter_picks.favourites(calendar_now.replace(tzinfo=None))
    assert counter.count == 4                                          # pinned, best sellers, products, stock
    assert [p["sku"] for p in pin(manager, "SAFE", False).json["favourites"]] == ["MILK", "TEA"]
    refused = manager.post("/orders/new/favourites/pin", json={"sku": "SAFE"},
                           headers={"X-CSRF-Token": csrf_of(manager)})
    assert refused.status_code == 422 and {d["field"] for d in refused.json["details"]} == {"sku", "pinned"}
    assert pin(manager, "NOPE").status_code == 404


def test_often_bought_with_waits_for_enough_history(settings, staff, make_product, calendar_now):
    for sku in ("TEA", "MILK", "SUGAR", "CAKE"):
        make_product(sku, 200, stock=500)
    for _ in range(counter_picks.MIN_ORDERS_OF_A_LINE - 5):
        sell(settings, ("TEA", 1))
    for _ in range(counter_picks.MIN_ORDERS_TOGETHER):
        sell(settings, ("TEA", 1), ("MILK", 1))
    sell(settings, ("TEA", 1), ("SUGAR", 1))
    assert staff.get("/orders/new/often-bought-with?sku=TEA").json["products"] == []   # 9 orders of TEA: too few

    sell(settings, ("TEA", 1), ("SUGAR", 1), ("CAKE", 1))
    with count_queries() as counter:
        found = counter_picks.often_bought_with(["TEA", "CAKE"], calendar_now.replace(tzinfo=None))
    assert [p["sku"] for p in found] == ["MILK"]          # SUGAR shared only 2 of TEA's orders; CAKE is on screen
    assert counter.count == 3                              # the pairs, products, stock
    answer = staff.get("/orders/new/often-bought-with?sku=TEA&sku=CAKE").json
    assert [p["sku"] for p in answer["products"]] == ["MILK"] and answer["min_orders_together"] == 3
