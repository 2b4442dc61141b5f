"""Customers with contact data; their purchase history is their orders."""
from __future__ import annotations

from . import audit
from .db import write_transaction
from .errors import Invalid, NotFound
from .limits import MAX_ID
from .models import Customer, Order

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


def normalize_phone(value: str | None) -> str | None:
    """Digits and a leading-plus only, so "+49 151 1" and "+491511" find the same customer."""
    if not value:
        return None
    return "".join(ch for ch in value if ch.isdigit() or ch == "+") or None


def _clean(data: dict) -> dict:
    cleaned = {k: (str(data[k]).strip() or None) if data.get(k) is not None else None for k in FIELDS if k in data}
    if "phone" in cleaned:
        cleaned["phone"] = normalize_phone(cleaned["phone"])
    if cleaned.get("email") and "@" not in cleaned["email"]:
        raise Invalid("The e-mail address is not valid.", [{"field": "customer.email", "message": "not an e-mail address"}])
    return cleaned


def create_customer(data: dict, actor: str) -> Customer:
    cleaned = _clean(data)
    if not cleaned.get("name"):
        raise Invalid("A customer needs a name.", [{"field": "customer.name", "message": "required"}])
    with write_transaction():
        customer = Customer.create(**cleaned)
        audit.record(actor, "customer.create", "customer", customer.id, after=cleaned)
    return customer


def update_customer(customer_id: int, data: dict, actor: str) -> Customer:
    cleaned = _clean(data)
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


def resolve(ref: int | dict, actor: str) -> Customer:
    """An order's customer: an id, or contact data matched by `matching`, else created. The one rule
    for every order: from the API, the counter page and import files."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        return get_customer(ref)
    if isinstance(ref, dict):
        if "id" in ref and ref["id"] is not None:
            return get_customer(int(ref["id"]))
        cleaned = _clean(ref)
        return matching(cleaned) or create_customer(cleaned, actor)
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


def search(term: str, limit: int = 20) -> list[Customer]:
    term = (term or "").strip()
    query = Customer.select().order_by(Customer.name).limit(limit)
    if term:
        digits = "".join(ch for ch in term if ch.isdigit())
        condition = Customer.name.contains(term) | Customer.email.contains(term)
        if digits:
            condition = condition | Customer.phone.contains(digits)
        query = query.where(condition)
    return list(query)


def purchase_history(customer: Customer, limit: int = 100) -> list[Order]:
    return list(Order.select().where(Order.customer == customer).order_by(Order.id.desc()).limit(limit))
