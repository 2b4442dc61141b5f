"""Static URLs carry a hash of their file: the till keeps its page and assets in the browser's cache
for a shift, so after an upgrade a changed script must come under a new URL, not from yesterday's
cache entry; an unchanged one keeps its URL (and its cache entry)."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import url_for

from web import create_app

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


def test_a_static_url_names_the_hash_of_its_file_and_serves_it(app, staff):
    with app.test_request_context():
        url = url_for("static", filename="order-entry.js")
    expected = hashlib.sha256((STATIC / "order-entry.js").read_bytes()).hexdigest()[:12]
    assert url == f"/static/order-entry.js?v={expected}"

    answer = staff.get(url)
    assert answer.status_code == 200 and answer.data == (STATIC / "order-entry.js").read_bytes()
    assert "max-age=" in answer.headers["Cache-Control"]  # a till asset, kept for a shift


def test_the_pages_link_their_assets_by_versioned_urls(staff):
    page = staff.get("/orders/new").get_data(as_text=True)
    linked = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert linked and all(re.search(r"\?v=[0-9a-f]{12}$", url) for url in linked), linked


def test_a_changed_file_gets_a_new_url_after_the_upgrade_restarts_the_workers(settings, db, tmp_path):
    def url_from_a_new_worker() -> str:
        app = create_app(settings, connect=False)
        app.static_folder = str(tmp_path)
        with app.test_request_context():
            return url_for("static", filename="till.js")

    (tmp_path / "till.js").write_text("console.log('monday')")
    monday = url_from_a_new_worker()
    assert url_from_a_new_worker() == monday  # unchanged: the browser's cached copy still serves
    (tmp_path / "till.js").write_text("console.log('tuesday')")
    tuesday = url_from_a_new_worker()
    assert tuesday != monday and tuesday.split("?")[0] == monday.split("?")[0]
