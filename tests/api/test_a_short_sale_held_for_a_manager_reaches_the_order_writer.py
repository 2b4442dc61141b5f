"""A sale the till kept while the box was away crosses the order writer's socket (pickled) with its
`held_if_short` reason, and is written there pending with that reason when its stock is gone, exactly
as when the worker writes it; without the reason, a short order is still refused and nothing is written."""
import pytest

from appliance import orders
from appliance.errors import InsufficientStock
from appliance.models import Order


def test_a_short_sale_held_for_a_manager_is_written_pending_by_the_writer(settings, shop, pickled_writer):
    sent = pickled_writer
    with pytest.raises(InsufficientStock):
        orders.place_order(settings, channel="store", lines=[orders.LineRequest("HONEY", 3)], actor="till")
    placed = orders.place_order(settings, channel="store", lines=[orders.LineRequest("HONEY", 3)], actor="till",
                                held_if_short="sold at the till while the box was away")
    assert sent[1]["held_if_short"] == "sold at the till while the box was away"
    assert placed.data["status"] == "pending"
    assert placed.data["pending_reasons"] == [
        "sold at the till while the box was away: not enough stock (3 × HONEY with 2 available)"]
    assert Order.select().count() == 1
