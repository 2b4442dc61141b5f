"""Receipts: a printable page per order (80 mm thermal roll by default, A4 with `?format=a4`) and the
same receipt e-mailed to the customer over the box's SMTP settings, through the monitors' outbox
(monitors.notify.queue_mail): the till never waits on the SMTP server.

The shop's name, address and tax number come from `[shop]` in appliance.toml."""
from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from flask import Blueprint, flash, redirect, render_template, request, url_for

from appliance import orders
from appliance.config import Settings
from appliance.db import write_transaction
from monitors import notify

from . import settings
from .security import requires

blueprint = Blueprint("receipts", __name__)

FORMATS = ("80mm", "a4")
@dataclass(frozen=True)
class Outcome:
    address: str | None = None  # the customer's e-mail address, when one is known
    queued_for: str | None = None  # set when the receipt is in the outbox (sent within seconds, retried)
    problem: str | None = None  # one sentence, when it did not
    off: bool = False           # no SMTP server is set on this box


def shop_header(config: Settings) -> dict:
    """The shop as every receipt heads it (the till's offline receipt too)."""
    shop = config.shop
    return {"name": shop.name or "Store", "address_lines": [
        line.strip() for line in shop.address.replace("\\n", "\n").splitlines() if line.strip()],
        "tax_number": shop.tax_number}


def receipt_data(number: str, config: Settings) -> dict:
    """What a receipt shows: the shop from config, the order with its lines, payments and refunds."""
    order = orders.order_dict(orders.get_order(number), config, with_events=True)
    paid_at = next((p["at"] for p in reversed(order["payments"]) if p["kind"] == "payment"), None)
    return {"order": order, "shop": shop_header(config), "at": paid_at or order["created_at"],
        "payments": [p for p in order["payments"] if p["kind"] == "payment"],
        "refunds": [p for p in order["payments"] if p["kind"] == "refund"]}


@blueprint.get("/orders/<number>/receipt")
@requires("staff")
def receipt(number: str):
    paper = request.args.get("format", "80mm")
    if paper not in FORMATS:
        paper = "80mm"
    return render_template("receipts/receipt.html", paper=paper, **receipt_data(number, settings()))


@blueprint.post("/orders/<number>/receipt/email")
@requires("staff")
def email(number: str):
    outcome = email_receipt(number, settings())
    if outcome.queued_for:
        flash(f"Receipt on its way to {outcome.queued_for}.", "success")
    elif outcome.off:
        flash("E-mail is not set up on this box (monitors.smtp.host in appliance.toml); print the receipt instead.",
              "warning")
    else:
        flash(f"The receipt could not be e-mailed: {outcome.problem}", "warning")
    return redirect(url_for("orders.order_detail", number=number))


def email_receipt(number: str, config: Settings) -> Outcome:
    """E-mails the receipt to the order's customer; says why not when it cannot."""
    data = receipt_data(number, config)
    customer = data["order"]["customer"] or {}
    address = (customer.get("email") or "").strip() or None
    if address is None:
        return Outcome(problem="the customer has no e-mail address.")
    if not config.monitors.smtp.host:
        return Outcome(address=address, problem="no SMTP server is set on this box.", off=True)
    message = EmailMessage()
    message["Subject"] = f"Receipt {number} · {data['shop']['name']}"
    message["From"] = config.monitors.smtp.from_address
    message["To"] = address
    message["Message-ID"] = make_msgid(domain="store-appliance")
    message.set_content(render_template("receipts/receipt.txt", **data))
    message.add_alternative(render_template("receipts/receipt.html", paper="a4", email=True, **data), subtype="html")
    # Through the monitors' outbox: its job sends it within seconds and retries a failure, so a slow or
    # failing SMTP server never holds the till (the sale is done whatever happens to the e-mail).
    with write_transaction():
        notify.queue_mail(message, check=f"receipt:{number}", kind="receipt")
    return Outcome(address=address, queued_for=address)
