"""Stocktake: open a count for a location, scan and count, see variances, post (manager)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from appliance import stocktake
from appliance.errors import AppError
from appliance.inventory import product_by_code
from appliance.models import Location, StocktakeSession

from .forms import FORM, FormError, field_errors, whole_number
from .security import requires

blueprint = Blueprint("stocktake", __name__)


@blueprint.get("/stocktake")
@requires("staff")
def stocktake_list():
    return _list_page({}, {})


def _list_page(form, errors, status: int = 200):
    sessions = list(StocktakeSession.select(StocktakeSession, Location).join(Location)
                    .order_by((StocktakeSession.status == "open").desc(), StocktakeSession.id.desc()).limit(30))
    locations = list(Location.select().where(Location.active).order_by(Location.pick_order, Location.code))
    return render_template("stocktake/list.html", sessions=sessions, locations=locations,
                           form=form, errors=errors), status


@blueprint.post("/stocktake")
@requires("staff")
def open_stocktake():
    try:
        session = stocktake.open_session(request.form.get("location", ""), g.user.username)
    except AppError as e:
        return _list_page(request.form, field_errors(e, {"location": "location"}), status=e.status)
    return redirect(url_for(".stocktake_detail", session_id=session.id))


@blueprint.get("/stocktake/<int:session_id>")
@requires("staff")
def stocktake_detail(session_id: int):
    return _detail_page(session_id, {}, {})


def _detail_page(session_id: int, form, errors, status: int = 200):
    data = stocktake.session_dict(stocktake.get_session(session_id))
    return render_template("stocktake/detail.html", st=data, form=form, errors=errors), status


def product_sku(code: str) -> str | None:
    product = product_by_code(code)
    return product.sku if product else None


@blueprint.post("/stocktake/<int:session_id>/count")
@requires("staff")
def record_count(session_id: int):
    code = (request.form.get("code") or "").strip()
    try:
        if not code:
            raise FormError("code", "Scan or type a SKU or barcode.")
        counted = whole_number("counted", low=0, high=10_000_000)
        stocktake.record_count(session_id, code, counted, g.user.username)
    except FormError as e:
        return _detail_page(session_id, request.form, {e.field: e.message}, status=422)
    except AppError as e:
        errors = field_errors(e)
        if e.status == 404:
            errors["code"] = e.message
        return _detail_page(session_id, request.form, errors, status=e.status)
    flash(f"Counted {code}: {counted}.", "success")
    # Warned at entry, not first when posting: the shortfall section links the orders holding the stock.
    for short in stocktake.shortfalls(session_id):
        if short["sku"] == product_sku(code):
            flash(f"{short['sku']}: counted {short['counted']}, but {short['reserved']} are reserved for "
                  f"orders {', '.join(short['orders'])}; posting needs those orders dealt with first.", "warning")
    return redirect(url_for(".stocktake_detail", session_id=session_id))


@blueprint.post("/stocktake/<int:session_id>/post")
@requires("manager")
def post_stocktake(session_id: int):
    try:
        # The form always sends a reason (empty if left blank): the domain refuses a blank one.
        rows = stocktake.post(session_id, g.user.username, reason=request.form.get("reason", ""))
    except AppError as e:
        errors = field_errors(e)
        for d in e.details:
            if isinstance(d, dict) and "sku" in d:
                errors[f"sku:{d['sku']}"] = f"{d.get('reserved')} reserved for orders"
        return _detail_page(session_id, request.form, errors, status=e.status)
    changed = sum(1 for r in rows if r["variance"])
    flash(f"Stocktake {session_id} posted: {changed} product(s) corrected.", "success")
    return redirect(url_for(".stocktake_detail", session_id=session_id))


@blueprint.post("/stocktake/<int:session_id>/cancel")
@requires("manager")
def cancel_stocktake(session_id: int):
    try:
        stocktake.cancel(session_id, g.user.username)
    except AppError as e:
        return _detail_page(session_id, {}, {FORM: e.message}, status=e.status)
    flash(f"Stocktake {session_id} cancelled; stock is unchanged.", "info")
    return redirect(url_for(".stocktake_list"))
