"""Every API error, whatever caused it, is {"error": "<one sentence>", "details": [...]}."""
from .conftest import order_body


def test_every_error_status_has_the_same_shape(api, shop, settings):
    number = api.post("staff", "/orders", json=order_body(("TEA", 1))).get_json()["number"]
    api.post("staff", f"/orders/{number}/cancel", json={})
    responses = {
        400: api.post("staff", "/orders", data="{", content_type="application/json"),
        401: api.get(None, "/orders"),
        403: api.post("staff", "/products", json={}),
        404: api.get("staff", "/products/NOPE"),
        405: api.request("DELETE", "staff", "/orders"),
        409: api.post("staff", f"/orders/{number}/ship", json={}),
        413: api.post("staff", "/orders", json=order_body(("TEA", 1), note="x" * (settings.server.max_request_bytes + 1))),
        422: api.post("staff", "/orders", json={"lines": []}),
    }
    for status, response in responses.items():
        assert response.status_code == status
        body = response.get_json()
        assert set(body) == {"error", "details"}, status
        assert isinstance(body["error"], str) and body["error"].endswith((".", ")")), body
        assert isinstance(body["details"], list)


def test_an_unknown_api_path_is_a_json_404(api, db):
    response = api.get("staff", "/nothing/here")
    assert response.status_code == 404
    assert response.get_json()["error"]
