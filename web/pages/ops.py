"""The IT page (/ops): one panel per concern, from the core's registry (appliance/panels.py).

Each package registers its own panel when imported, and the composition root decides which are
imported (cli/wiring.py `register_panels`): readiness (core), health checks (monitors/panel.py),
backups (backup/panel.py), runbooks (runbooks/panel.py). This page only draws `panels.rendered(settings)` and answers the health
panel's forms (acknowledge, silence, maintenance) by running the monitors' operations, after the
checks only a form needs (which field is wrong, a start on the shop's clock and not in the past).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from appliance import operations, panels
from appliance.errors import Invalid
from appliance.models import utcnow
from monitors.operations import LONGEST_MINUTES

from . import from_shop_clock, settings, when
from .forms import FORM, FormError, whole_number
from .security import requires

blueprint = Blueprint("ops", __name__)

PAST_START_GRACE = timedelta(minutes=5)


def _enabled_check(name: str | None, *, allow_all: bool = False) -> str:
    from monitors.checks import enabled_checks
    name = (name or "").strip()
    if allow_all and name == "*":
        return name
    if name not in {check.name for check, _ in enabled_checks(settings())}:
        raise FormError("check", "Choose a check this box runs.")
    return name


def _refused(error: FormError, form_id: str, status: int = 422):
    """The page again, with the error next to its field and what was typed kept."""
    errors = {error.field: error.message, FORM: error.message, "_form_id": form_id}
    return ops_page_response(form=request.form, errors=errors, status=status)


def _run(name: str, params: dict[str, Any]) -> Any:
    """Runs one of the monitors' operations as the signed-in user: role-checked and in the ledger."""
    return operations.execute(settings(), name, params, actor=operations.Actor(g.user.username, g.user.role),
                              source="web", show_progress=False)


def _form_error(refused: Invalid, fields: dict[str, str] | None = None) -> FormError:
    """An operation's refusal shown like the page's own: next to the field its parameter fills."""
    param = next((d["param"] for d in refused.details if isinstance(d, dict) and d.get("param")), FORM)
    return FormError((fields or {}).get(param, param), refused.message)


@blueprint.post("/ops/health/acknowledge")
@requires("admin")
def acknowledge_check():
    from monitors.engine import PROBLEM_STATES
    from monitors.models import CheckState
    try:
        check = _enabled_check(request.form.get("check"))
    except FormError as e:
        return _refused(e, "ack")
    note = (request.form.get("note") or "").strip()[:500]
    row = CheckState.get_or_none(CheckState.check == check)
    if row is None or row.state not in PROBLEM_STATES:
        return _refused(FormError("check", f"{check} is {row.state if row else 'not run yet'}: "
                                           "there is no problem to acknowledge."), "ack", status=409)
    try:
        ack = _run("monitors.ack", {"check": check, "note": note})
    except Invalid as refused:
        return _refused(_form_error(refused), "ack")
    flash(f"{check} ({ack.state}) acknowledged: reminders stop until its state changes.", "success")
    return redirect(url_for(".ops_page"))


@blueprint.post("/ops/health/silence")
@requires("admin")
def silence_check():
    try:
        check = _enabled_check(request.form.get("check"), allow_all=True)
        minutes = whole_number("minutes", low=1, high=LONGEST_MINUTES)
        reason = (request.form.get("reason") or "").strip()[:500]
        silence = _run("monitors.silence", {"check": check, "minutes": minutes, "reason": reason})
    except FormError as e:
        return _refused(e, "silence")
    except Invalid as refused:
        return _refused(_form_error(refused), "silence")
    what = "every check" if check == "*" else check
    flash(f"Notifications for {what} are held back until {when(silence.ends_at)}; states are still recorded.",
          "success")
    return redirect(url_for(".ops_page"))


@blueprint.post("/ops/health/maintenance")
@requires("admin")
def plan_maintenance():
    try:
        starts = _start_time(request.form.get("start"), utcnow())
        minutes = whole_number("minutes", low=1, high=LONGEST_MINUTES)
        checks = _enabled_check(request.form.get("checks") or "*", allow_all=True)
        reason = (request.form.get("reason") or "").strip()[:500]
        if not reason:
            raise FormError("reason", "Say what the work is: the uptime report shows it.")
        window = _run("monitors.maintenance", {"start": starts.isoformat(), "minutes": minutes,
                                               "checks": checks, "reason": reason})
    except FormError as e:
        if e.field == "check":  # this form's field is named "checks"
            e = FormError("checks", e.message)
        return _refused(e, "maintenance")
    except Invalid as refused:
        return _refused(_form_error(refused, {"check": "checks"}), "maintenance")
    flash(f"Maintenance #{window.id} planned {when(window.starts_at)}–{when(window.ends_at)[-5:]} "
          f"({'all checks' if checks == '*' else checks}): no notifications, and uptime counts it as planned.",
          "success")
    return redirect(url_for(".ops_page"))


def _start_time(raw: str | None, now: datetime) -> datetime:
    """Empty means now. A start in the past would relabel downtime that already happened as planned."""
    raw = (raw or "").strip()
    if not raw:
        return now
    try:
        start = from_shop_clock(datetime.fromisoformat(raw)).replace(second=0, microsecond=0)
    except ValueError:
        raise FormError("start", f"Enter a date and time like 2026-03-01 22:00 ({settings().shop.timezone}).") from None
    if start < now - PAST_START_GRACE:
        raise FormError("start", "A maintenance window cannot start in the past: "
                                 "that would turn recorded downtime into planned time.")
    return start


def ops_page_response(form=None, errors=None, status: int = 200):
    return render_template("ops.html", panels=panels.rendered(settings()), form=form or {}, errors=errors or {}), status


@blueprint.get("/ops")
@requires("admin")
def ops_page():
    return ops_page_response()
