"""The web import page runs the same bounded reading: a spreadsheet that would have filled the
worker's memory is refused on the page with its one-sentence reason, and nothing can be confirmed."""
from __future__ import annotations

import html
import io

import pytest

from appliance import accounts
from appliance.models import Product
from web import create_app

from ..web.web_helpers import PASSWORD, csrf_of, sign_in
from .hostile_files import HEADER, declared_huge_xlsx, row, shared_strings_part, sheet_part, xlsx_package


@pytest.fixture
def manager(settings, db):
    app = create_app(settings, connect=False)
    user = accounts.create_user("maria", "", "manager", "test", password_hash=accounts.hash_password(PASSWORD))
    return sign_in(app.test_client(), user)


def upload(client, filename: str, data: bytes):
    return client.post("/import", data={"csrf_token": csrf_of(client), "kind": "products",
                                        "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def test_a_zip_bomb_is_refused_on_the_page_with_its_reason(manager):
    bomb = shared_strings_part(b"A" * (1024 * 1024) for _ in range(300))

    page = upload(manager, "supplier.xlsx", xlsx_package(sheet_part([row(1, *HEADER)]), bomb))

    body = html.unescape(page.get_data(as_text=True))
    assert "The XLSX file unpacks to more than 100 MB; split it into smaller files." in body
    assert 'action="/import/confirm"' not in body
    assert Product.select().count() == 0


def test_a_sheet_declaring_a_million_rows_is_checked_by_its_real_rows(manager):
    page = upload(manager, "supplier.xlsx", declared_huge_xlsx())

    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "2 created" in body and 'action="/import/confirm"' in body
