"""An unexpected error is a plain 500 page: no traceback, no exception text, nothing saved."""
from __future__ import annotations

from .web_helpers import sign_in


def test_a_crash_shows_a_plain_500_page(app, users):
    def explode():
        raise RuntimeError("secret detail: password=hunter2")
    app.add_url_rule("/explode", "explode", explode)
    client = sign_in(app.test_client(), users["staff"])
    response = client.get("/explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Something went wrong" in body and "nothing was saved" in body
    for leak in ("Traceback", "RuntimeError", "hunter2", "secret detail", 'File "'):
        assert leak not in body


def test_unknown_pages_are_a_404_page_and_the_api_keeps_its_json(staff):
    page = staff.get("/no/such/page")
    assert page.status_code == 404 and "Page not found" in page.get_data(as_text=True)
    api = staff.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.is_json
