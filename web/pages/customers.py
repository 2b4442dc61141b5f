"""Customers: search, create, and one customer's purchase history."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from appliance import customers, orders
from appliance.errors import AppError

from web.exports import FORMATS, Column, download

from .forms import field_errors
from .security import requires


def _country() -> str:
    return current_app.config["SETTINGS"].shop.country

blueprint = Blueprint("customers", __name__)

CUSTOMER_FIELDS = ("name", "phone", "email", "address")


CUSTOMER_COLUMNS = [Column("id", "Id", "int"), Column("name", "Name"), Column("phone", "Phone"),
                    Column("email", "E-mail"), Column("address", "Address"), Column("created_at", "Customer since")]


@blueprint.get("/customers")
@requires("staff")
def customer_list():
    fmt = request.args.get("format")
    if fmt in FORMATS:  # every customer the search finds, not only the page's 50
        found = customers.search(request.args.get("q", ""), limit=None, region=_country())
        return download([customers.customer_dict(c) for c in found], CUSTOMER_COLUMNS, fmt, "customers")
    return _list_page({}, {})


def _list_page(form, errors, status: int = 200):
    term = (request.args.get("q") or "").strip()
    found = customers.search(term, limit=50, region=_country())
    return render_template("customers/list.html", customers=found, term=term, form=form, errors=errors,
                           duplicates=customers.duplicate_groups(), is_international=customers.is_international,
                           not_read=customers.numbers_not_read()), status


@blueprint.post("/customers")
@requires("staff")
def create_customer():
    data = {k: request.form.get(k, "") for k in CUSTOMER_FIELDS}
    try:
        customer = customers.create_customer(data, g.user.username, _country())
    except AppError as e:
        errors = field_errors(e, {f"customer.{k}": k for k in CUSTOMER_FIELDS})
        return _list_page(request.form, errors, status=e.status)
    return redirect(url_for(".customer_detail", customer_id=customer.id))


@blueprint.get("/customers/<int:customer_id>")
@requires("staff")
def customer_detail(customer_id: int):
    customer = customers.get_customer(customer_id)
    history = customers.purchase_history(customer)
    lines = orders.lines_of([o.id for o in history])
    settings = current_app.config["SETTINGS"]
    rows = [orders.order_dict(o, settings, lines=lines.get(o.id, [])) for o in history]
    spent = sum(r["total_cents"] for r in rows if r["status"] in ("confirmed", "shipped", "delivered"))
    return render_template("customers/detail.html", customer=customers.customer_dict(customer), orders=rows,
                           spent_cents=spent, duplicates=customers.likely_duplicates(customer),
                           international=customers.is_international(customer.phone))


@blueprint.get("/customers/<int:customer_id>/edit")
@requires("staff")
def edit_customer(customer_id: int):
    customer = customers.customer_dict(customers.get_customer(customer_id))
    return _edit_page(customer, {k: customer[k] or "" for k in CUSTOMER_FIELDS}, {})


def _edit_page(customer: dict, form, errors, status: int = 200):
    return render_template("customers/edit.html", customer=customer, form=form, errors=errors,
                           country=_country()), status


@blueprint.post("/customers/<int:customer_id>/edit")
@requires("staff")
def update_customer(customer_id: int):
    existing = customers.customer_dict(customers.get_customer(customer_id))
    data = {k: request.form.get(k, "") for k in CUSTOMER_FIELDS}
    try:
        customers.update_customer(customer_id, data, g.user.username, _country())
    except AppError as e:
        errors = field_errors(e, {f"customer.{k}": k for k in CUSTOMER_FIELDS})
        return _edit_page(existing, request.form, errors, status=e.status)
    flash("Customer saved.", "success")
    return redirect(url_for(".customer_detail", customer_id=customer_id))
