"""Customers with contact data; their purchase history is their orders.

Phone numbers are stored in one international form, E.164, by the rules of appliance.phones, so
"0151 1234 5001" (with [shop] country DE), "+49 151 12345001" and "0049 15112345001" are one number.
"""
from __future__ import annotations

import unicodedata

from peewee import fn

from . import audit
from .db import write_transaction
from .errors import Invalid, NotFound
from .limits import MAX_ID
from .models import Customer, Order
from .phones import international_phone, normalize_phone
from .phones import is_international as is_international, numbers_not_read as numbers_not_read  # for the pages

FIELDS = ("name", "phone", "email", "address")


def customer_summary(customer: Customer) -> dict:
    return {"id": customer.id, "name": customer.name, "phone": customer.phone, "email": customer.email}


def customer_dict(customer: Customer) -> dict:
    return customer_summary(customer) | {"address": customer.address,
                                         "created_at": customer.created_at.isoformat(timespec="seconds") + "Z"}


def get_customer(customer_id: int) -> Customer:
    # An id beyond 64 bits cannot be in the table (and cannot be sent to SQLite): not found.
    customer = Customer.get_or_none(Customer.id == customer_id) if 0 < customer_id <= MAX_ID else None
    if customer is None:
        raise NotFound(f"No customer {customer_id}.", [{"customer": customer_id}])
    return customer


def _clean(data: dict, region: str = "") -> dict:
    cleaned = {k: (str(data[k]).strip() or None) if data.get(k) is not None else None for k in FIELDS if k in data}
    if "phone" in cleaned:
        cleaned["phone"] = normalize_phone(cleaned["phone"], region)
    if cleaned.get("email") and "@" not in cleaned["email"]:
        raise Invalid("The e-mail address is not valid.", [{"field": "customer.email", "message": "not an e-mail address"}])
    return cleaned


def create_customer(data: dict, actor: str, region: str = "") -> Customer:
    """`region`: the shop's country ([shop] country), for phone numbers typed without a country code."""
    cleaned = _clean(data, region)
    if not cleaned.get("name"):
        raise Invalid("A customer needs a name.", [{"field": "customer.name", "message": "required"}])
    with write_transaction():
        customer = Customer.create(**cleaned)
        audit.record(actor, "customer.create", "customer", customer.id, after=cleaned)
    return customer


def update_customer(customer_id: int, data: dict, actor: str, region: str = "") -> Customer:
    cleaned = _clean(data, region)
    with write_transaction():
        customer = get_customer(customer_id)
        before = customer_dict(customer)
        for field, value in cleaned.items():
            setattr(customer, field, value)
        if not customer.name:
            raise Invalid("A customer needs a name.", [{"field": "name", "message": "required"}])
        customer.save()
        audit.record(actor, "customer.update", "customer", customer.id, before=before, after=cleaned)
    return customer


def resolve(ref: int | dict, actor: str, region: str = "") -> Customer:
    """An order's customer: an id, or contact data matched by `matching`, else created. The one rule
    for every order: from the API, the counter page and import files."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return get_customer(ref)
    if isinstance(ref, dict):
        if "id" in ref and ref["id"] is not None:
            return get_customer(int(ref["id"]))
        cleaned = _clean(ref, region)
        return matching(cleaned) or create_customer(cleaned, actor, region)
    raise Invalid("customer must be an id or an object with name, phone, email.",
                  [{"field": "customer", "message": "wrong type"}])


def matching(contact: dict) -> Customer | None:
    """The customer with this phone, else with this e-mail; with neither given, the one with exactly
    this name and no phone or e-mail either (the name is all that tells such customers apart)."""
    for field in ("phone", "email"):
        if contact.get(field):
            found = Customer.get_or_none(getattr(Customer, field) == contact[field])
            if found is not None:
                return found
    if contact.get("phone") or contact.get("email") or not contact.get("name"):
        return None
    return Customer.get_or_none((Customer.name == contact["name"]) & Customer.phone.is_null()
                                & Customer.email.is_null())


def search(term: str, limit: int | None = 20, region: str = "") -> list[Customer]:
    """By part of the name or e-mail, or by a phone number however it is typed: read as a number (with
    the shop's country), it finds the one stored in E.164; its digits without a leading trunk or
    international prefix ("0151…", "0049…") find a stored number containing them. `limit` None: every match."""
    term = (term or "").strip()
    query = Customer.select().order_by(Customer.name).limit(limit)
    if term:
        digits = "".join(ch for ch in term if ch.isdigit()).lstrip("0")
        condition = Customer.name.contains(term) | Customer.email.contains(term)
        if digits:
            condition = condition | Customer.phone.contains(digits)
        e164 = international_phone(term, region)
        if e164:
            condition = condition | (Customer.phone == e164)
        query = query.where(condition)
    return list(query)


def name_key(name: str | None) -> str:
    """A name as a duplicate check compares it: case, accents, punctuation, spacing and word order
    ignored ("Ada Lovelace", "lovelace, ada", "Adá  Lovelace" are one key)."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", name or "") if not unicodedata.combining(ch))
    words = "".join(ch if ch.isalnum() else " " for ch in plain.casefold()).split()
    return " ".join(sorted(words))


def likely_duplicates(customer: Customer) -> list[dict]:
    """Other customers that are likely the same person: the same phone number (stored in one form),
    the same e-mail address (case ignored), or the same name by `name_key`. Each with what matched."""
    found: dict[int, dict] = {}

    def add(rows, why):
        for other in rows:
            if other.id != customer.id:
                found.setdefault(other.id, {"id": other.id, "name": other.name, "phone": other.phone,
                                            "email": other.email, "reasons": []})["reasons"].append(why)

    if customer.phone:
        add(Customer.select().where(Customer.phone == customer.phone), "same phone")
    if customer.email:
        add(Customer.select().where(fn.LOWER(Customer.email) == customer.email.lower()), "same e-mail")
    key = name_key(customer.name)
    if key:  # accents and word order cannot be compared in SQL on both engines: names are read (id, name only)
        add((c for c in Customer.select(Customer.id, Customer.name, Customer.phone, Customer.email)
             if name_key(c.name) == key), "same name")
    return sorted(found.values(), key=lambda r: r["id"])


def duplicate_groups(limit: int = 50) -> list[dict]:
    """Groups of customers sharing a phone number or an e-mail address (the list page's warning)."""
    groups = []
    for field, label in ((Customer.phone, "phone"), (fn.LOWER(Customer.email), "e-mail")):
        shared = (Customer.select(field.alias("value")).where(field.is_null(False))
                  .group_by(field).having(fn.COUNT(Customer.id) > 1).limit(limit).tuples())
        for (value,) in shared:
            members = list(Customer.select().where(field == value).order_by(Customer.id))
            groups.append({"field": label, "value": value, "customers": members})
    return groups[:limit]


def purchase_history(customer: Customer, limit: int = 100) -> list[Order]:
    return list(Order.select().where(Order.customer == customer).order_by(Order.id.desc()).limit(limit))
