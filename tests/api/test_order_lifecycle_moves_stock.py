"""confirmed → shipped → delivered, cancel and return, each moving stock through the ledger."""
from appliance import audit, inventory

from .conftest import order_body, stock


def _order(api, *lines):
    response = api.post("staff", "/orders", json=order_body(*lines))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["number"]


def test_shipping_consumes_the_reserved_stock_and_records_the_carrier(api, shop):
    number = _order(api, ("MUG", 4))
    response = api.post("staff", f"/orders/{number}/ship", json={"carrier": "DHL", "tracking_number": "JD0001"})
    assert response.status_code == 200
    order = response.get_json()
    assert (order["status"], order["carrier"], order["tracking_number"]) == ("shipped", "DHL", "JD0001")
    assert stock(api, "MUG")["on_hand"] == 4 and stock(api, "MUG")["reserved"] == 0


def test_cancelling_a_confirmed_order_releases_its_stock(api, shop):
    number = _order(api, ("TEA", 3))
    assert api.post("staff", f"/orders/{number}/cancel", json={"note": "customer changed mind"}).status_code == 200
    assert stock(api, "TEA") ["reserved"] == 0
    assert stock(api, "TEA")["on_hand"] == 10


def test_a_return_restocks_the_location_it_shipped_from(api, shop):
    number = _order(api, ("MUG", 5))
    api.post("staff", f"/orders/{number}/ship", json={})
    api.post("staff", f"/orders/{number}/deliver", json={})
    response = api.post("manager", f"/orders/{number}/return", json={"note": "broken"})
    assert response.get_json()["status"] == "returned"
    by_location = {loc["location"]: loc["on_hand"] for loc in stock(api, "MUG")["locations"]}
    assert by_location == {"floor": 3, "warehouse": 5}


def test_an_illegal_transition_is_a_409_with_the_current_state(api, shop):
    number = _order(api, ("TEA", 1))
    api.post("staff", f"/orders/{number}/cancel", json={})
    response = api.post("staff", f"/orders/{number}/ship", json={})
    assert response.status_code == 409
    assert response.get_json()["details"] == [{"number": number, "status": "cancelled", "action": "ship"}]
    assert api.post("staff", f"/orders/{number}/deliver", json={}).status_code == 409
    assert api.post("manager", f"/orders/{number}/return", json={}).status_code == 409


def test_the_timeline_shows_every_change_with_who(api, shop):
    number = _order(api, ("TEA", 1))
    api.post("staff", f"/orders/{number}/ship", json={})
    events = api.get("staff", f"/orders/{number}").get_json()["events"]
    assert [(e["from"], e["to"], e["actor"]) for e in events] == [
        (None, "confirmed", "token:test-staff"), ("confirmed", "shipped", "token:test-staff")]


def test_after_a_whole_lifecycle_the_ledger_equals_the_levels_and_the_audit_chain_holds(api, shop):
    for lines in ((("TEA", 2),), (("MUG", 6), ("HONEY", 1)), (("TEA", 1),)):
        number = _order(api, *lines)
        api.post("staff", f"/orders/{number}/ship", json={})
    api.post("manager", f"/orders/{number}/return", json={})
    api.post("manager", "/stock/adjust", json={"sku": "HONEY", "qty": -1, "reason": "broken jar"})
    assert inventory.ledger_mismatches() == []
    assert audit.verify().ok


def test_an_unknown_order_is_a_404(api, shop):
    assert api.get("staff", "/orders/SO-999999").status_code == 404
    assert api.post("staff", "/orders/SO-999999/ship", json={}).status_code == 404
