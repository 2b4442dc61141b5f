"""Purchasing for managers, receiving for staff: suppliers, replenishment suggestions, purchase orders.

A manager turns the suggestions into draft purchase orders (one per supplier), edits them, and sends
each one: e-mailed to the supplier as a PDF (monitors.notify.send_mail, the box's SMTP settings), or
marked as sent when it went another way (the PDF is downloadable to print). Staff receive what
arrives against the order, in part or in full; receiving goes through appliance.inventory.receive
like the stock page's form, so the ledger cannot tell them apart. Every rule (states, quantities,
the audit trail) is in appliance.purchasing and appliance.suppliers; this module only reads forms.
"""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from fpdf import FPDF

from appliance import purchasing, replenishment, suppliers
from appliance.db import write_transaction
from appliance.errors import AppError
from appliance.models import Location, utcnow
from monitors import notify
from web.exports import FORMATS, Column, download

from . import settings, when
from .forms import FORM, FormError, field_errors, whole_number
from .payment_forms import money_cents, money_text
from .receipts import shop_header
from .security import can, requires

blueprint = Blueprint("purchasing", __name__)

PO_SMTP_TIMEOUT_SECONDS = 20  # a manager waits on the page while it goes out
LIST_COLUMNS = [Column("number", "Number"), Column("supplier", "Supplier"), Column("status", "Status"),
                Column("created_at", "Created"), Column("sent_at", "Sent"), Column("received_at", "Received"),
                Column("total_cents", "Total", "money")]
LINE_COLUMNS = [Column("sku", "SKU"), Column("name", "Product"), Column("qty_ordered", "Ordered", "int"),
                Column("qty_received", "Received", "int"), Column("unit_cost_cents", "Unit cost", "money"),
                Column("line_total_cents", "Line total", "money")]


# -- purchase orders --------------------------------------------------------------------------

@blueprint.get("/purchasing")
@requires("staff")
def purchasing_page():
    status = request.args.get("status") or None
    fmt = request.args.get("format")
    if fmt in FORMATS and can("manager"):  # with the orders' totals at cost
        return download([{"number": po.number, "supplier": po.supplier.name, "status": po.status,
                          "created_at": when(po.created_at), "sent_at": when(po.sent_at), "received_at": when(po.received_at),
                          "total_cents": purchasing.total_cents(purchasing.lines_of(po))}
                         for po in purchasing.recent(status, limit=100_000)], LIST_COLUMNS, fmt, "purchase-orders")
    return render_template("purchasing/list.html", orders=purchasing.recent(status), status=status,
                           statuses=purchasing.STATUSES, velocity_days=settings().replenishment.velocity_days,
                           suggestions=replenishment.suggestions(settings()) if can("manager") else None)


@blueprint.post("/purchasing/from-suggestions")
@requires("manager")
def create_from_suggestions():
    with write_transaction():  # the suggestions and the orders made from them, under one write lock
        made = purchasing.create_from_suggestions(replenishment.suggestions(settings(), utcnow()), g.user.username)
    if not made:
        flash("No suggestion has a supplier: add the products to a supplier's range first.", "warning")
        return redirect(url_for(".purchasing_page"))
    flash(f"Created {len(made)} draft purchase order(s): {', '.join(po.number for po in made)}.", "success")
    return redirect(url_for(".purchase_order_page", po_id=made[0].id) if len(made) == 1 else url_for(".purchasing_page"))


@blueprint.get("/purchasing/<int:po_id>")
@requires("staff")
def purchase_order_page(po_id: int):
    fmt = request.args.get("format")
    if fmt in FORMATS and can("manager"):  # the lines' costs are for managers
        po = purchasing.purchase_order(po_id)
        return download([{"sku": line.product.sku, "name": line.product.name, "qty_ordered": line.qty_ordered,
                          "qty_received": line.qty_received, "unit_cost_cents": line.unit_cost_cents,
                          "line_total_cents": line.qty_ordered * line.unit_cost_cents} for line in purchasing.lines_of(po)],
                        LINE_COLUMNS, fmt, po.number)
    return _render_order(po_id)


def _render_order(po_id: int, form=None, errors=None, status: int = 200):
    po = purchasing.purchase_order(po_id)
    lines = purchasing.lines_of(po)
    locations = list(Location.select().where(Location.active).order_by(Location.pick_order, Location.code))
    return render_template("purchasing/detail.html", po=po, lines=lines, total=purchasing.total_cents(lines),
                           locations=locations, form=form or {}, errors=errors or {}), status


@blueprint.post("/purchasing/<int:po_id>")
@requires("manager")
def edit_purchase_order(po_id: int):
    form = request.form
    try:
        quantities = {int(name[4:]): whole_number(name, low=0) for name in form if name.startswith("qty_") and name[4:].isdigit()}
        add_sku = (form.get("add_sku") or "").strip()
        add = (add_sku, whole_number("add_qty", low=1)) if add_sku else None
        purchasing.update_lines(po_id, quantities, g.user.username, add=add, note=form.get("note"))
    except FormError as e:
        return _render_order(po_id, form, {e.field: e.message, FORM: "Check the highlighted field."}, 422)
    except AppError as e:
        return _render_order(po_id, form, field_errors(e, {"sku": "add_sku"}), e.status)
    flash("Saved the purchase order.", "success")
    return redirect(url_for(".purchase_order_page", po_id=po_id))


@blueprint.get("/purchasing/<int:po_id>/pdf")
@requires("manager")
def purchase_order_pdf(po_id: int):
    po = purchasing.purchase_order(po_id)
    return Response(render_pdf(po), content_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{po.number}.pdf"'})


@blueprint.post("/purchasing/<int:po_id>/send")
@requires("manager")
def send_purchase_order(po_id: int):
    """E-mails the PDF to the supplier; the order is "sent" only once the SMTP server took it."""
    po = purchasing.purchase_order(po_id)
    config = settings()
    problem = None
    if po.status != "draft":
        problem = f"Purchase order {po.number} is {po.status.replace('_', ' ')} already."
    elif not po.supplier.email:
        problem = f"{po.supplier.name} has no e-mail address: add one, or download the PDF and mark the order as sent."
    elif not config.monitors.smtp.host:
        problem = ("E-mail is not set up on this box (monitors.smtp.host in appliance.toml): download the PDF and "
                   "mark the order as sent.")
    else:
        try:
            notify.send_mail(purchase_order_message(po, config), config, timeout_seconds=PO_SMTP_TIMEOUT_SECONDS)
        except notify.DeliveryError as e:
            problem = f"The purchase order could not be e-mailed: {e}."
    if problem:
        return _render_order(po_id, errors={FORM: problem}, status=409 if po.status != "draft" else 422)
    purchasing.mark_sent(po_id, g.user.username, utcnow(), sent_to=po.supplier.email)
    flash(f"E-mailed {po.number} to {po.supplier.email}.", "success")
    return redirect(url_for(".purchase_order_page", po_id=po_id))


@blueprint.post("/purchasing/<int:po_id>/mark-sent")
@requires("manager")
def mark_sent(po_id: int):
    return _act(po_id, lambda: purchasing.mark_sent(po_id, g.user.username, utcnow()), "Marked as sent.")


@blueprint.post("/purchasing/<int:po_id>/cancel")
@requires("manager")
def cancel(po_id: int):
    return _act(po_id, lambda: purchasing.cancel(po_id, g.user.username, utcnow()), "Cancelled the purchase order.")


@blueprint.post("/purchasing/<int:po_id>/receive")
@requires("staff")
def receive(po_id: int):
    form = request.form
    try:
        quantities = {int(name[8:]): whole_number(name, low=0, required=False) or 0
                      for name in form if name.startswith("receive_") and name[8:].isdigit()}
        purchasing.receive(po_id, quantities, g.user.username, utcnow(), form.get("location") or None)
    except FormError as e:
        return _render_order(po_id, form, {e.field: e.message, FORM: "Check the highlighted field."}, 422)
    except AppError as e:
        return _render_order(po_id, form, field_errors(e), e.status)
    flash(f"Received {sum(quantities.values())} unit(s).", "success")
    return redirect(url_for(".purchase_order_page", po_id=po_id))


def _act(po_id: int, action, done: str):
    try:
        action()
    except AppError as e:
        return _render_order(po_id, errors=field_errors(e), status=e.status)
    flash(done, "success")
    return redirect(url_for(".purchase_order_page", po_id=po_id))


def purchase_order_message(po, config) -> EmailMessage:
    shop = shop_header(config)
    message = EmailMessage()
    message["Subject"] = f"Purchase order {po.number} · {shop['name']}"
    message["From"] = config.monitors.smtp.from_address
    message["To"] = po.supplier.email
    message["Message-ID"] = make_msgid(domain="store-appliance")
    lines = purchasing.lines_of(po)
    message.set_content(render_template("purchasing/email.txt", po=po, lines=lines, shop=shop,
                                        total=purchasing.total_cents(lines)))
    message.add_attachment(render_pdf(po), maintype="application", subtype="pdf", filename=f"{po.number}.pdf")
    return message


def _latin1(text: str) -> str:
    # The PDF's built-in fonts cover Latin-1 only; anything else prints as "?" rather than failing.
    return str(text).encode("latin-1", "replace").decode("latin-1")


def render_pdf(po) -> bytes:
    """The purchase order as an A4 PDF: the shop, the supplier, the lines with their costs and the total."""
    shop, lines = shop_header(settings()), purchasing.lines_of(po)
    pdf = FPDF(format="A4")
    pdf.set_title(f"Purchase order {po.number}")
    pdf.set_creator("Store Appliance")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(f"Purchase order {po.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for text in [shop["name"], *shop["address_lines"], *([f"Tax number: {shop['tax_number']}"] if shop["tax_number"] else []),
                 "", f"To: {po.supplier.name}" + (f" <{po.supplier.email}>" if po.supplier.email else ""),
                 f"Date: {when(po.sent_at or po.created_at)}"]:
        pdf.cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    with pdf.table(col_widths=(30, 80, 20, 30, 30), text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT")) as table:
        table.row(["SKU", "Product", "Qty", "Unit cost", "Line total"])
        for line in lines:
            table.row([_latin1(line.product.sku), _latin1(line.product.name), str(line.qty_ordered),
                       money_text(line.unit_cost_cents), money_text(line.qty_ordered * line.unit_cost_cents)])
        table.row(["", "Total", "", "", money_text(purchasing.total_cents(lines))])
    if po.note:
        pdf.ln(4)
        pdf.multi_cell(0, 5, _latin1(po.note))
    return bytes(pdf.output())


# -- suppliers --------------------------------------------------------------------------------

@blueprint.get("/suppliers")
@requires("manager")
def supplier_list():
    return _render_suppliers()


def _render_suppliers(form=None, errors=None, status: int = 200):
    rows = list(suppliers.Supplier.select().order_by(suppliers.Supplier.name))
    return render_template("purchasing/suppliers.html", suppliers=rows, form=form or {"lead_time_days": "7"},
                           errors=errors or {}), status


def _supplier_form() -> dict:
    return {"name": request.form.get("name", ""), "email": request.form.get("email", ""),
            "lead_time_days": whole_number("lead_time_days", low=0, high=suppliers.MAX_LEAD_TIME_DAYS),
            "active": request.form.get("active", "1") == "1"}


@blueprint.post("/suppliers")
@requires("manager")
def create_supplier():
    try:
        made = suppliers.create_supplier(_supplier_form(), g.user.username)
    except FormError as e:
        return _render_suppliers(request.form, {e.field: e.message}, 422)
    except AppError as e:
        return _render_suppliers(request.form, field_errors(e), e.status)
    flash(f"Added {made.name}; now add the products it supplies.", "success")
    return redirect(url_for(".supplier_page", supplier_id=made.id))


@blueprint.get("/suppliers/<int:supplier_id>")
@requires("manager")
def supplier_page(supplier_id: int):
    return _render_supplier(supplier_id)


def _render_supplier(supplier_id: int, form=None, errors=None, product_form=None, product_errors=None, status: int = 200):
    supplier = suppliers.supplier_by_id(supplier_id)
    shown = form or {"name": supplier.name, "email": supplier.email or "", "lead_time_days": supplier.lead_time_days,
                     "active": "1" if supplier.active else "0"}
    return render_template("purchasing/supplier.html", supplier=supplier, range=suppliers.range_of(supplier),
                           form=shown, errors=errors or {}, product_form=product_form or {"pack_qty": "1"},
                           product_errors=product_errors or {}), status


@blueprint.post("/suppliers/<int:supplier_id>")
@requires("manager")
def update_supplier(supplier_id: int):
    try:
        suppliers.update_supplier(supplier_id, _supplier_form(), g.user.username)
    except FormError as e:
        return _render_supplier(supplier_id, request.form, {e.field: e.message}, status=422)
    except AppError as e:
        return _render_supplier(supplier_id, request.form, field_errors(e), status=e.status)
    flash("Saved the supplier.", "success")
    return redirect(url_for(".supplier_page", supplier_id=supplier_id))


@blueprint.post("/suppliers/<int:supplier_id>/products")
@requires("manager")
def set_supplier_product(supplier_id: int):
    form = request.form
    try:
        cost = money_cents(form.get("cost", ""))
        if cost is None:
            raise FormError("cost", "Enter an amount, e.g. 12.50.")
        suppliers.set_product(supplier_id, (form.get("sku") or "").strip(), cost,
                              whole_number("pack_qty", low=1), g.user.username)
    except FormError as e:
        return _render_supplier(supplier_id, product_form=form, product_errors={e.field: e.message}, status=422)
    except AppError as e:
        return _render_supplier(supplier_id, product_form=form, product_errors=field_errors(e), status=e.status)
    flash(f"{form.get('sku')} is in the supplier's range.", "success")
    return redirect(url_for(".supplier_page", supplier_id=supplier_id))


@blueprint.post("/suppliers/<int:supplier_id>/products/<sku>/remove")
@requires("manager")
def remove_supplier_product(supplier_id: int, sku: str):
    try:
        suppliers.remove_product(supplier_id, sku, g.user.username)
    except AppError as e:
        return _render_supplier(supplier_id, product_errors=field_errors(e), status=e.status)
    flash(f"Removed {sku} from the supplier's range.", "success")
    return redirect(url_for(".supplier_page", supplier_id=supplier_id))
