"""POST /orders/<number>/cancel takes an optional `reason` (documented in the OpenAPI document): it is
kept in the order's timeline and the audit trail, like the web page's."""
import json

from appliance.models import AuditEvent

from .conftest import order_body


def test_a_cancel_through_the_api_may_carry_its_reason(api, shop):
    number = api.post("staff", "/orders", json=order_body(("TEA", 1))).get_json()["number"]
    cancelled = api.post("staff", f"/orders/{number}/cancel", json={"reason": "customer changed their mind"})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["events"][-1]["note"] == "customer changed their mind"
    event = AuditEvent.get(AuditEvent.action == "order.cancel")
    assert json.loads(event.after)["note"] == "customer changed their mind"
    document = api.get("staff", "/openapi.json").get_json()
    assert "reason" in document["components"]["schemas"]["CancelIn"]["properties"]
    too_long = api.post("staff", f"/orders/{number}/cancel", json={"reason": "x" * 1001})
    assert too_long.status_code == 422 and too_long.get_json()["details"][0]["field"] == "reason"
