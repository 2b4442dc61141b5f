"""Under gunicorn (a real `appliance serve`), what it refuses before the app sees it (an over-long
URL: 414, a header too large: 431) is answered in the one JSON error shape, not gunicorn's HTML page;
and a chunked body over the limit is a 413 in that shape too, never cut and accepted."""
import http.client
import json

import pytest

from tests.durability.served import Client, ServedAppliance

from .test_a_chunked_body_over_the_limit_is_refused_whole import ORDER, post_chunked

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    box = ServedAppliance(tmp_path_factory.mktemp("gunicorn") / "home").init()
    box.manager_token = box.token("manager")
    box.start(workers=1)
    yield box
    box.stop()


def raw_get(port: int, path: str, headers: dict | None = None) -> tuple[int, str, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())
    finally:
        conn.close()


def test_an_over_long_url_and_an_over_large_header_are_json_errors(served):
    status, content_type, body = raw_get(served.port, "/api/v1/products?q=" + "x" * 10_000)
    assert (status, content_type) == (414, "application/json")
    assert set(body) == {"error", "details"} and body["error"].endswith(".")
    status, content_type, body = raw_get(served.port, "/api/v1/products", {"X-Big": "y" * 10_000})
    assert (status, content_type) == (431, "application/json")
    assert set(body) == {"error", "details"} and body["error"].endswith(".")


def test_a_chunked_body_over_the_limit_is_a_413_and_one_within_it_an_order(served):
    token = served.manager_token
    client = Client(served.port, token=token)
    assert client.request("POST", "/api/v1/products", {"sku": "TEA", "name": "Tea", "price_cents": 1})[0] == 201
    assert client.request("POST", "/api/v1/stock/receive", {"sku": "TEA", "qty": 5})[0] == 200
    status, body = post_chunked(served.port, token, ORDER + b" " * 1_048_576)
    assert status == 413, body
    assert set(body) == {"error", "details"}
    status, body = post_chunked(served.port, token, ORDER)
    assert status == 201, body
