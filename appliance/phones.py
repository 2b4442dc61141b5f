"""Customers' phone numbers in one international form, E.164 ("+4915112345001"), read with the shop's
country ([shop] country) as the region of a number typed without a country code (phonenumbers, the
Python port of Google's libphonenumber). A number that cannot be read as a possible number (too short,
or no country code and no shop country) is kept as its digits and a leading plus and shown as "not in
international form" until someone corrects it.

Apart from appliance.customers (which re-exports these) so that the schema migration can use them
without importing the audit trail, which imports the schema.
"""
from __future__ import annotations

import json
import logging

import phonenumbers

from .models import Customer, KeyValue

log = logging.getLogger(__name__)
NOT_READ_KEY = "customers.phones_not_read"  # the numbers schema v10 could not rewrite (JSON list)


def international_phone(value: str | None, region: str = "") -> str | None:
    """The number in E.164, or None when it cannot be read as a possible number (with `region`, the
    shop's country, for a number typed without a country code)."""
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(value: str | None, region: str = "") -> str | None:
    """E.164 when the number can be read; else digits and a leading plus only (see the module's note)."""
    if not value:
        return None
    return international_phone(value, region) or "".join(ch for ch in value if ch.isdigit() or ch == "+") or None


def is_international(phone: str | None) -> bool:
    return bool(phone) and phone.startswith("+") and international_phone(phone) == phone


def normalise_stored_phones(region: str) -> list[dict]:
    """Rewrites every stored phone number not yet in E.164 that can be read (schema v10). The ones that
    cannot be read are left as they were, logged, and listed under NOT_READ_KEY for the customers
    page (`numbers_not_read`); returns them."""
    left = []
    for customer_id, phone in list(Customer.select(Customer.id, Customer.phone)
                                   .where(Customer.phone.is_null(False)).tuples()):
        if is_international(phone):
            continue
        e164 = international_phone(phone, region)
        if e164:
            Customer.update(phone=e164).where(Customer.id == customer_id).execute()
        else:
            left.append({"customer": customer_id, "phone": phone})
    KeyValue.put(NOT_READ_KEY, json.dumps(left))
    if left:
        log.warning("%d customer phone number(s) could not be read as international numbers and were left as "
                    "they were: %s", len(left), ", ".join(f"#{r['customer']} {r['phone']}" for r in left))
    return left


def numbers_not_read() -> list[Customer]:
    """The customers whose number the migration could not rewrite and nobody has corrected since."""
    row = KeyValue.get_or_none(KeyValue.key == NOT_READ_KEY)
    ids = [r["customer"] for r in json.loads(row.value)] if row else []
    if not ids:
        return []
    return [c for c in Customer.select().where(Customer.id.in_(ids)).order_by(Customer.name)
            if c.phone and not is_international(c.phone)]
