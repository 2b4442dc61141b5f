"""Customers and their purchase history."""
from __future__ import annotations

from flask import current_app, jsonify, request

from appliance import customers, orders

from . import actor, int_arg, integer_query, path_id, route
from .schemas import CustomerIn, CustomerPatch


@route("GET", "/customers", role="staff", summary="Search customers by name, phone (typed in any form) or e-mail.",
       query={"q": ("part of name, phone or e-mail", {"type": "string"}),
              "limit": integer_query("at most this many", 1, 100)}, answer="CustomerList")
def search_customers():
    found = customers.search(request.args.get("q", ""), limit=int_arg("limit", 20, 1, 100), region=_country())
    return jsonify({"customers": [customers.customer_dict(c) for c in found]})


@route("POST", "/customers", role="staff", summary="Create a customer.", body=CustomerIn, responses={201: "created"}, answer="Customer")
def create_customer(body: CustomerIn):
    customer = customers.create_customer(body.model_dump(exclude_none=True), actor(), _country())
    return jsonify(customers.customer_dict(customer)), 201


@route("GET", "/customers/{customer_id}", role="staff", summary="A customer with their purchase history.", answer="CustomerWithOrders")
def get_customer(customer_id: str):
    customer = customers.get_customer(_id(customer_id))
    history = customers.purchase_history(customer)
    settings = current_app.config["SETTINGS"]
    lines = orders.lines_of([o.id for o in history])
    return jsonify(customers.customer_dict(customer) | {
        "orders": [orders.order_dict(o, settings, lines=lines.get(o.id, [])) for o in history]})


@route("PATCH", "/customers/{customer_id}", role="staff", summary="Change a customer's contact data.", body=CustomerPatch, answer="Customer")
def patch_customer(customer_id: str, body: CustomerPatch):
    customer = customers.update_customer(_id(customer_id), body.model_dump(exclude_unset=True), actor(), _country())
    return jsonify(customers.customer_dict(customer))


def _country() -> str:
    return current_app.config["SETTINGS"].shop.country  # the region of numbers typed without a country code


def _id(raw: str) -> int:
    return path_id(raw, "customer")
