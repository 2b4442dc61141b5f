"""Requests gunicorn refuses before the app sees them (an over-long URL: 414, a header too large:
431) are answered in the one JSON error shape, not gunicorn's HTML page. A real `appliance serve`."""
import http.client
import json

import pytest

from tests.durability.served import ServedAppliance


def raw_get(port: int, path: str, headers: dict | None = None) -> tuple[int, str, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.slow
def test_an_over_long_url_and_an_over_large_header_are_json_errors(tmp_path):
    served = ServedAppliance(tmp_path / "home").init().start(workers=1)
    try:
        status, content_type, body = raw_get(served.port, "/api/v1/products?q=" + "x" * 10_000)
        assert (status, content_type) == (414, "application/json")
        assert set(body) == {"error", "details"} and body["error"].endswith(".")
        status, content_type, body = raw_get(served.port, "/api/v1/products", {"X-Big": "y" * 10_000})
        assert (status, content_type) == (431, "application/json")
        assert set(body) == {"error", "details"} and body["error"].endswith(".")
    finally:
        served.stop()
