"""The till's shift close (/shift-close): the takings since the last close, the cash the drawer should
hold against the cash counted, and the difference recorded (appliance.payments.close_shift, the same
as POST /api/v1/shifts/close). Managers also see the recent closes."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from appliance import payments
from appliance.errors import AppError
from appliance.models import utcnow

from .forms import FORM, field_errors
from .payment_forms import money_cents
from .security import can, requires

blueprint = Blueprint("shifts", __name__)

MAX_NOTE = 2000


@blueprint.get("/shift-close")
@requires("staff")
def shift_close_page():
    return _page({}, {})


def _page(form, errors, status: int = 200):
    opened_at, takings = payments.running_shift(utcnow())
    last = payments.shift_closes(1)
    recent = payments.shift_closes(20) if can("manager") else []
    return render_template("shift_close.html", opened_at=opened_at, takings=takings, form=form, errors=errors,
                           last=last[0] if last else None, recent=recent), status


@blueprint.post("/shift-close")
@requires("staff")
def close_shift():
    form = request.form
    errors: dict[str, str] = {}
    amounts = {}
    for name, label, required in (("counted_cash", "the cash counted in the drawer", True),
                                  ("float", "the float the drawer started with", False)):
        raw = (form.get(name) or "").strip()
        if not raw and not required:
            amounts[name] = 0
            continue
        cents = money_cents(raw)
        if cents is None:
            errors[name] = f"Enter {label} as an amount like 150.00."
        else:
            amounts[name] = cents
    note = (form.get("note") or "").strip()[:MAX_NOTE] or None
    if errors:
        return _page(form, {FORM: "The shift close is not right yet: see the marked fields.", **errors}, status=422)
    try:
        closed = payments.close_shift(amounts["counted_cash"], g.user.username, float_cents=amounts["float"], note=note)
    except AppError as e:
        return _page(form, field_errors(e, {"counted_cash_cents": "counted_cash", "float_cents": "float"}), status=e.status)
    difference = closed["difference_cents"]
    flash("Shift closed: the drawer " + ("matches the payments." if difference == 0 else
          f"is {abs(difference) / 100:.2f} {'over' if difference > 0 else 'short'}."),
          "success" if difference == 0 else "warning")
    return redirect(url_for(".shift_close_page"))
