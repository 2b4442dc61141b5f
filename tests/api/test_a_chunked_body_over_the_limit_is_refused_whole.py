"""A body sent with Transfer-Encoding: chunked (no Content-Length) is read whole or refused with 413
in the one error shape, never cut at the limit and accepted: here a valid order padded with spaces
past the limit, which a truncated read would have accepted as an order. Against a live server on
127.0.0.1 (werkzeug's, threaded); test_requests_gunicorn_refuses_get_the_json_error_shape.py does
it under gunicorn."""
import http.client
import json
import threading

import pytest
from werkzeug.serving import make_server

from appliance.models import Order

ORDER = json.dumps({"channel": "store", "lines": [{"sku": "TEA", "qty": 1}]}).encode()


def chunks(body: bytes, size: int = 8192):
    for start in range(0, len(body), size):
        yield body[start:start + size]


def post_chunked(port: int, token: str, body: bytes) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/api/v1/orders", body=chunks(body), encode_chunked=True,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                              "Transfer-Encoding": "chunked"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def port(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=5)


def test_a_chunked_body_over_the_limit_is_a_413_and_no_order(api, shop, settings, port):
    limit = settings.server.max_request_bytes
    status, body = post_chunked(port, api.tokens["staff"], ORDER + b" " * limit)
    assert status == 413, body
    assert set(body) == {"error", "details"} and str(limit) in body["error"]
    assert Order.select().count() == 0


def test_a_chunked_body_within_the_limit_is_read_whole(api, shop, settings, port):
    limit = settings.server.max_request_bytes
    status, body = post_chunked(port, api.tokens["staff"], ORDER + b" " * (limit - len(ORDER)))
    assert status == 201, body
    assert Order.select().count() == 1
