"""Customers: phone numbers are stored in E.164 (the shop's country read into numbers typed without a
country code), so any way of typing a number finds the customer; the edit page changes contact data;
likely duplicates (same phone, same e-mail, same name whatever its case, accents or word order) are
flagged; the v10 migration rewrites the numbers it can read and lists the rest."""
from __future__ import annotations

import re

from appliance import customers
from appliance.models import Customer, KeyValue
from appliance.schema import SCHEMA_VERSION, migrate

from tests.conftest import on_both_engines

from .web_helpers import post_form

database_url = on_both_engines()  # the duplicate queries (LOWER, GROUP BY ... HAVING) on both engines


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split()).replace(" ,", ",")


def test_numbers_are_stored_in_one_form_found_however_typed_edited_and_duplicates_flagged(staff, settings):
    settings.shop.country = "DE"
    created = post_form(staff, "/customers", {"name": "Ada Lovelace", "phone": "0151 1234 5001", "email": "Ada@Example.org"})
    ada = Customer.get(Customer.name == "Ada Lovelace")
    assert created.status_code == 302 and ada.phone == "+4915112345001"
    for typed in ("+49 151 12345001", "0049 (151) 1234-5001", "015112345001", "151/12345001"):
        assert "Ada Lovelace" in _text(staff.get("/customers", query_string={"q": typed})), typed
    assert "Ada Lovelace" not in _text(staff.get("/customers", query_string={"q": "0151 9999 0000"}))

    post_form(staff, "/customers", {"name": "Lovelace, Adá", "phone": "+44 20 7946 0000"})
    post_form(staff, "/customers", {"name": "A. Byron", "email": "ada@example.org"})
    post_form(staff, "/customers", {"name": "Bo Berg", "phone": "+49 151 12345001"})
    post_form(staff, "/customers", {"name": "Cy Dahl"})
    detail = _text(staff.get(f"/customers/{ada.id}"))
    flagged = detail[detail.index("Likely the same person"):detail.index("Phone")]
    assert "Lovelace, Adá" in flagged and "same name" in flagged
    assert "A. Byron" in flagged and "same e-mail" in flagged
    assert "Bo Berg" in flagged and "same phone" in flagged
    assert "Cy Dahl" not in flagged
    listed = _text(staff.get("/customers"))
    assert "Same phone +4915112345001: Ada Lovelace, Bo Berg" in listed
    assert "Same e-mail ada@example.org: Ada Lovelace, A. Byron" in listed

    form = _text(staff.get(f"/customers/{ada.id}/edit"))
    assert "read as a DE number" in form
    refused = post_form(staff, f"/customers/{ada.id}/edit", {"name": " ", "phone": "", "email": "", "address": ""})
    assert refused.status_code == 422 and Customer.get_by_id(ada.id).name == "Ada Lovelace"
    saved = post_form(staff, f"/customers/{ada.id}/edit",
                      {"name": "Ada King", "phone": "030 901820", "email": "ada@example.org", "address": "London"})
    assert saved.status_code == 302
    ada = Customer.get_by_id(ada.id)
    assert (ada.name, ada.phone, ada.address) == ("Ada King", "+4930901820", "London")


def test_the_migration_rewrites_the_numbers_it_can_read_and_lists_the_others(staff, db):
    readable = Customer.create(name="Ana", phone="0151 1234 5002")
    written = Customer.create(name="Bo", phone="+4915112345003")
    unreadable = Customer.create(name="Cy", phone="7")
    KeyValue.put("schema_version", "9")

    assert migrate(shop_country="DE") == SCHEMA_VERSION
    assert Customer.get_by_id(readable.id).phone == "+4915112345002"
    assert Customer.get_by_id(written.id).phone == "+4915112345003"
    assert Customer.get_by_id(unreadable.id).phone == "7"
    assert [c.id for c in customers.numbers_not_read()] == [unreadable.id]
    listed = _text(staff.get("/customers"))
    assert "Phone numbers not in international form (1)" in listed and "Cy : 7" in listed
    customers.update_customer(unreadable.id, {"phone": "+49 30 901820"}, "test")
    assert customers.numbers_not_read() == []  # corrected: no longer listed
